"""``FlowTCMetric``: flow-based temporal consistency (ETC's TC)."""

from __future__ import annotations

import math

import numpy as np

from steadyseg.registry import METRICS

from .flow_pair_metric import FlowPairMetric
from .functional import Clip, intersect_and_union


@METRICS.register_module()
class FlowTCMetric(FlowPairMetric):
    """Flow-based temporal consistency ``TC`` (Liu et al., "Efficient Semantic Video Segmentation with
    Per-frame Inference", ECCV 2020).

    For every pair of consecutive frames, ``pred_{t-1}`` is warped onto frame t with the backward flow of
    frame t (nearest neighbour) and compared with ``pred_t`` over the pixels whose flow stays inside the frame.
    ETC warps ``pred_{t+1}`` back onto frame t with forward flow; with backward flow this is the same pairing
    seen from the later frame. Intersections and unions per class are summed over all pairs of all videos and
    ``TC`` is their mIoU (mean over classes with a non-empty union; NaN when there is none). It needs no ground
    truth. A pair scored without flow (see ``FlowPairMetric``) adds nothing.

    Args:
        num_classes: number of classes; predicted labels must lie in ``[0, num_classes)``.
        flow_source: ``'auto'``, ``'data'`` or ``'dis'`` (see ``FlowPairMetric``).
        prefix: prefix of the metric key.
    """

    undefined_when = {
        "TC": "no pair of consecutive frames has a pixel compared through flow (every video has one frame, "
        "or no pair has flow)"
    }

    def __init__(self, num_classes: int, flow_source: str = "auto", prefix: str | None = None) -> None:
        super().__init__(flow_source=flow_source, prefix=prefix)
        if num_classes < 1:
            raise ValueError(f"FlowTCMetric: num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes

    def check_clip(self, clip: Clip) -> None:
        pred = clip.arrays["pred_sem_seg"]
        bad = (pred < 0) | (pred >= self.num_classes)
        if bad.any():
            raise ValueError(
                f"FlowTCMetric: video {clip.video_id!r}: pred_sem_seg has label {pred[bad][0]}, outside "
                f"[0, {self.num_classes})"
            )

    def pair_stats(self, current, previous, warped, valid) -> np.ndarray:
        """``[P, 2, num_classes]``: intersection and union per class of each pair."""
        stats = np.zeros((len(current), 2, self.num_classes), dtype=np.int64)
        if warped is None:
            return stats
        for pair, (labels, reference, inside) in enumerate(zip(current, warped, valid)):
            reference = np.where(inside, reference, -1)
            intersection, union, _ = intersect_and_union(labels, reference, self.num_classes, ignore_index=-1)
            stats[pair] = intersection, union
        return stats

    def reduce_clip(self, stats: np.ndarray) -> np.ndarray:
        return stats.sum(axis=0)

    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        total = sum(
            (piece for pieces in videos for piece in pieces), np.zeros((2, self.num_classes), np.int64)
        )
        intersection, union = total
        seen = union > 0
        return {"TC": float((intersection[seen] / union[seen]).mean()) if seen.any() else math.nan}
