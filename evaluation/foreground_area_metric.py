"""``ForegroundAreaMetric``: the fraction of each frame predicted as foreground, a false-positive rate where
nothing is."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from steadyseg.registry import METRICS

from .functional import group_clips, unpack_clip


@METRICS.register_module()
class ForegroundAreaMetric(BaseMetric):
    """``foreground_area``: the fraction of a frame's pixels whose predicted label is in ``foreground_labels``,
    averaged over the frames of a video, then over videos (every video weighs the same whatever its length).

    It reads no ground truth: on a video without any person (DAVIS car-shadow for people segmentation) it is
    the area of false positives. A video may arrive as several clips, in any order. With no video it is NaN.

    Args:
        foreground_labels: the predicted labels that count as foreground.
        prefix: prefix of the metric keys.
    """

    undefined_when = {"foreground_area": "no video was scored"}

    def __init__(self, foreground_labels: Sequence[int] = (1,), prefix: str | None = None) -> None:
        super().__init__(prefix=prefix)
        self.foreground_labels = [int(label) for label in foreground_labels]
        if not self.foreground_labels:
            raise ValueError("ForegroundAreaMetric: foreground_labels is empty")

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            clip = unpack_clip(data_sample, type(self).__name__, ("pred_sem_seg",))
            foreground = np.isin(clip.arrays["pred_sem_seg"], self.foreground_labels)
            self.results.append(
                dict(
                    video_id=clip.video_id,
                    frame_indices=clip.frame_indices,
                    areas=foreground.mean(axis=(1, 2)),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        per_video = [
            np.concatenate([clip["areas"] for clip in clips]).mean()
            for clips in group_clips(results, type(self).__name__).values()
        ]
        return {"foreground_area": float(np.mean(per_video)) if per_video else float("nan")}
