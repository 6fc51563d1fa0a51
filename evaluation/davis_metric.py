"""``DAVISMetric``: DAVIS region similarity J, boundary F-measure F and J&F for one foreground object."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from steadyseg.registry import METRICS

from .functional import boundary_f_measure, group_clips, region_similarity, unpack_clip


@METRICS.register_module()
class DAVISMetric(BaseMetric):
    """J, F, J&F and their recalls (fraction of frames above 0.5), per video then averaged over videos.

    The foreground of a frame is every pixel whose label is in ``foreground_labels``. Ground-truth pixels
    equal to ``ignore_index`` are void, as in the official DAVIS 2017 evaluation: they count in neither J's
    intersection nor its union, and are cleared from both masks before F draws boundaries (DAVIS masks have
    no void, so there this changes nothing). Pass ``ignore_index=None`` to treat every label as scored.

    Unlike the DAVIS semi-supervised benchmark, which skips the first frame (given as input) and the last,
    every frame is scored: the models here segment people without a first-frame mask.

    Each clip is reduced to per-frame J and F at once; after ``evaluate``, ``self.per_video`` maps each video
    id to its ``J``, ``F``, ``J&F``, ``J_recall``, ``F_recall`` and ``num_frames`` (on the main rank only).
    """

    undefined_when = {key: "no video was scored" for key in ("J", "F", "J&F", "J_recall", "F_recall")}

    def __init__(
        self,
        foreground_labels: Sequence[int] = (1,),
        bound_th: float = 0.008,
        ignore_index: int | None = 255,
        prefix: str | None = None,
    ) -> None:
        super().__init__(prefix=prefix)
        self.foreground_labels = [int(label) for label in foreground_labels]
        if not self.foreground_labels:
            raise ValueError("DAVISMetric: foreground_labels is empty")
        if ignore_index is not None and ignore_index in self.foreground_labels:
            raise ValueError(f"DAVISMetric: ignore_index={ignore_index} is also in foreground_labels")
        if not 0 < bound_th < 1:
            raise ValueError(
                f"DAVISMetric: bound_th is a fraction of the image diagonal in (0, 1), got {bound_th}"
            )
        self.bound_th = bound_th
        self.ignore_index = ignore_index
        self.per_video: dict[str, dict[str, float]] = {}

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            clip = unpack_clip(data_sample, type(self).__name__, ("gt_sem_seg", "pred_sem_seg"))
            video_id, frame_indices = clip.video_id, clip.frame_indices
            gt, pred = clip.arrays["gt_sem_seg"], clip.arrays["pred_sem_seg"]
            pred_fg = np.isin(pred, self.foreground_labels)
            gt_fg = np.isin(gt, self.foreground_labels)
            void = gt == self.ignore_index if self.ignore_index is not None else np.zeros_like(gt_fg)
            self.results.append(
                dict(
                    video_id=video_id,
                    frame_indices=frame_indices,
                    J=np.array([region_similarity(p, g, v) for p, g, v in zip(pred_fg, gt_fg, void)]),
                    F=np.array(
                        [boundary_f_measure(p, g, self.bound_th, v) for p, g, v in zip(pred_fg, gt_fg, void)]
                    ),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        self.per_video = {}
        for video_id, clips in group_clips(results, type(self).__name__).items():
            j = np.concatenate([clip["J"] for clip in clips])
            f = np.concatenate([clip["F"] for clip in clips])
            self.per_video[video_id] = {
                "J": float(j.mean()),
                "F": float(f.mean()),
                "J&F": float((j.mean() + f.mean()) / 2),
                "J_recall": float((j > 0.5).mean()),
                "F_recall": float((f > 0.5).mean()),
                "num_frames": len(j),
            }
        metrics = {}
        for key in ("J", "F", "J_recall", "F_recall"):
            values = [video[key] for video in self.per_video.values()]
            metrics[key] = float(np.mean(values)) if values else float("nan")
        metrics["J&F"] = (metrics["J"] + metrics["F"]) / 2
        return metrics
