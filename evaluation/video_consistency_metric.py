"""``VideoConsistencyMetric``: VSPW's video consistency VC_n, exact when videos arrive as chunks."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from steadyseg.registry import METRICS

from .functional import CLIP_FIELDS, compact, group_clips, unpack_clip, video_consistency, window_accuracy


@METRICS.register_module()
class VideoConsistencyMetric(BaseMetric):
    """VC_n for each ``n`` in ``clip_nums`` (keys ``VC<n>``) and their mean ``mVC``.

    For every video and window start ``i`` in ``range(T - n)`` (VSPW's count: the window ending on the last
    frame is not scored): ``G`` = pixels whose ground truth is the same in frames ``i..i+n-1``, ``P`` = the
    same for the prediction, ``acc_i = |G and P| / |G|`` (windows with empty ``G`` are skipped). VC_n is the
    mean of ``acc_i`` over all windows of all videos. A video runs over its frames in ``frame_indices``
    order; one with ``T <= n`` frames has no window, and with no window anywhere VC_n is NaN (logged as a
    warning). ``mVC`` is the plain mean, so it is NaN when any VC_n is.

    Labels are compared as they are, so every label value is its own label, voids included. VSPW's
    reference (``VC_perclip.py``) reads the masks as stored, where 0 ("others") and 255 are two different
    void labels, and a pixel that turns from one to the other is not consistent. Reading VSPW for training
    merges both into the ignore index 255 in ``gt_sem_seg``, so VSPW is scored with
    ``gt_key='gt_sem_seg_raw'``, the labels as stored.

    A video may arrive as several clips in any order. Each clip keeps the accuracies of the windows that lie
    inside it and do not end on its last frame, the accuracy of the window that does (kept apart because it is
    only scored when a later clip follows), and its first and last ``max(clip_nums) - 1`` frames; windows
    that cross clips are scored from those frames in ``compute_metrics``. The result is bit-for-bit the same
    as for the whole video in one clip.

    Args:
        clip_nums: window lengths ``n``.
        gt_key: the ground-truth label field compared: ``'gt_sem_seg'``, or ``'gt_sem_seg_raw'`` where reading
            the labels merged some (VSPW).
        prefix: prefix of the metric keys.
    """

    undefined_when = {
        "VC*": "VC_n has no window to average: every video has at most n frames, or no pixel keeps its "
        "ground-truth label through any n-frame window",
        "mVC": "the mean of the VC_n, undefined when one of them is",
    }

    def __init__(
        self, clip_nums: Sequence[int] = (8, 16), gt_key: str = "gt_sem_seg", prefix: str | None = None
    ) -> None:
        super().__init__(prefix=prefix)
        label_fields = [key for key, spec in CLIP_FIELDS.items() if spec.labels and key.startswith("gt_")]
        if gt_key not in label_fields:
            raise ValueError(f"VideoConsistencyMetric: gt_key must be one of {label_fields}, got {gt_key!r}")
        self.gt_key = gt_key
        self.clip_nums = [int(n) for n in clip_nums]
        if not self.clip_nums or min(self.clip_nums) < 2:
            raise ValueError(
                f"VideoConsistencyMetric: clip_nums must be window lengths >= 2, got {clip_nums}"
            )
        self.edge = max(self.clip_nums) - 1

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            clip = unpack_clip(data_sample, type(self).__name__, (self.gt_key, "pred_sem_seg"))
            gt, pred = clip.arrays[self.gt_key], clip.arrays["pred_sem_seg"]
            num_frames = len(gt)
            kept = sorted(
                set(range(min(self.edge, num_frames)))
                | set(range(max(num_frames - self.edge, 0), num_frames))
            )
            self.results.append(
                dict(
                    video_id=clip.video_id,
                    frame_indices=clip.frame_indices,
                    inner_acc={n: video_consistency(gt, pred, n) for n in self.clip_nums},
                    last_acc={
                        n: window_accuracy(gt[-n:], pred[-n:]) if num_frames >= n else None
                        for n in self.clip_nums
                    },
                    kept_positions=kept,
                    kept_gt=compact(gt[kept]),
                    kept_pred=compact(pred[kept]),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        videos = group_clips(results, type(self).__name__)
        metrics = {}
        for n in self.clip_nums:
            accs = np.concatenate(
                [self._video_accuracies(clips, n) for clips in videos.values()] + [np.empty(0)]
            )
            scored = accs[~np.isnan(accs)]
            if scored.size == 0:
                print_log(
                    f"VideoConsistencyMetric: VC{n} is NaN: none of the {accs.size} {n}-frame windows in "
                    f"{len(videos)} video(s) has a pixel whose ground truth stays the same (a video needs "
                    f"more than {n} frames to have a window)",
                    logger="current",
                    level=logging.WARNING,
                )
            metrics[f"VC{n}"] = float(scored.mean()) if scored.size else math.nan
        metrics["mVC"] = float(np.mean([metrics[f"VC{n}"] for n in self.clip_nums]))
        return metrics

    @staticmethod
    def _video_accuracies(clips: list[dict], n: int) -> np.ndarray:
        """Window accuracies of one video in window order, NaN for windows with an empty ``G``."""
        lengths = [len(clip["frame_indices"]) for clip in clips]
        offsets = np.cumsum([0] + lengths)
        accs = np.full(max(offsets[-1] - n, 0), np.nan)
        scored = np.zeros(len(accs), dtype=bool)
        kept = {}
        for index, (clip, offset) in enumerate(zip(clips, offsets)):
            inner = clip["inner_acc"][n]
            accs[offset : offset + len(inner)] = inner
            scored[offset : offset + len(inner)] = True
            if clip["last_acc"][n] is not None and index < len(clips) - 1:
                accs[offset + lengths[index] - n] = clip["last_acc"][n]
                scored[offset + lengths[index] - n] = True
            for position, gt, pred in zip(clip["kept_positions"], clip["kept_gt"], clip["kept_pred"]):
                kept[offset + position] = (gt, pred)
        for start in np.flatnonzero(~scored):
            # Windows left cross a clip boundary: each of their frames is within n - 1 frames of a clip's
            # first or last frame, where ``process`` kept them.
            window = [kept[position] for position in range(start, start + n)]
            accs[start] = window_accuracy(
                np.stack([gt for gt, _ in window]), np.stack([pred for _, pred in window])
            )
        return accs
