"""``DtSSDMetric``: Robust Video Matting's temporal coherence of predicted alpha, dtSSD."""

from __future__ import annotations

import numpy as np

from steadyseg.registry import METRICS

from .frame_pair_metric import FramePairMetric
from .functional import Clip, check_clip_in_unit_interval, dtssd, frame_index_mean


@METRICS.register_module()
class DtSSDMetric(FramePairMetric):
    """``dtSSD``: how much more (or less) ``pred_alpha`` changes between consecutive frames than ``gt_alpha``.

    For frame t of a video, ``functional.dtssd``: ``sqrt(sum(((p_t - p_{t-1}) - (g_t - g_{t-1}))^2) / N) x 1e2``
    over the ``N`` pixels of alpha ``[T, 1, H, W]`` (values in [0, 1]); the first frame of a video scores 0.
    Averaged as Robust Video Matting's evaluation does: per frame index (position in the video) across the
    videos, then over the indices, the first frame's 0 included. A video may arrive as several clips, in any
    order: the pair that straddles two clips is scored as in the whole video (see ``FramePairMetric``).
    With no video it is NaN.

    Args:
        prefix: prefix of the metric keys.
    """

    fields = ("pred_alpha", "gt_alpha")
    undefined_when = {"dtSSD": "no video was scored"}

    def check_clip(self, clip: Clip) -> None:
        check_clip_in_unit_interval(clip, type(self).__name__)

    def score_pairs(self, earlier: dict[str, np.ndarray], later: dict[str, np.ndarray], motion) -> np.ndarray:
        """dtSSD ``[P]`` of the later frame of each pair."""
        frames = zip(later["pred_alpha"], earlier["pred_alpha"], later["gt_alpha"], earlier["gt_alpha"])
        return np.array(
            [dtssd(pred[0], pred_prev[0], gt[0], gt_prev[0]) for pred, pred_prev, gt, gt_prev in frames],
            dtype=np.float64,
        )

    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        return {"dtSSD": frame_index_mean([np.concatenate([[0.0], *pieces]) for pieces in videos])}
