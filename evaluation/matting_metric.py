"""``MattingMetric``: Robust Video Matting's per-frame errors of alpha (MAD, MSE, Grad, Conn) and foreground."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from steadyseg.registry import METRICS

from .functional import (
    check_clip_in_unit_interval,
    conn,
    foreground_mse,
    frame_index_mean,
    grad,
    group_clips,
    mad,
    mse,
    unpack_clip,
)

ALPHA_SCORES = {"MAD": mad, "MSE": mse, "Grad": grad, "Conn": conn}
FOREGROUND_KEY = "fgr_MSE"


@METRICS.register_module()
class MattingMetric(BaseMetric):
    """``MAD``, ``MSE``, ``Grad``, ``Conn`` of ``pred_alpha`` against ``gt_alpha``, and ``fgr_MSE`` of
    ``pred_fgr`` against ``gt_fgr``, each frame scored by ``functional.mad``, ``mse``, ``grad``, ``conn`` and
    ``foreground_mse`` (alpha ``[T, 1, H, W]`` and foreground ``[T, 3, H, W]``, values in [0, 1]).

    Averaged as Robust Video Matting's evaluation does: per frame index (position in the video) across the
    videos, then over the indices. A video may arrive as several clips, in any order. ``fgr_MSE`` is reported
    when a clip carries both foreground fields and scores the frames of those clips that have a pixel with
    ``gt_alpha > 0``. With nothing to score a key is NaN. dtSSD, which compares consecutive frames, is
    :class:`DtSSDMetric`.

    Args:
        prefix: prefix of the metric keys.
    """

    undefined_when = {
        **{key: "no frame was scored" for key in ALPHA_SCORES},
        FOREGROUND_KEY: "no frame with pred_fgr and gt_fgr has a pixel with gt_alpha > 0",
    }

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        owner = type(self).__name__
        for data_sample in data_samples:
            clip = unpack_clip(data_sample, owner, ("pred_alpha", "gt_alpha"), ("pred_fgr", "gt_fgr"))
            check_clip_in_unit_interval(clip, owner)
            pred_alpha, gt_alpha = clip.arrays["pred_alpha"][:, 0], clip.arrays["gt_alpha"][:, 0]
            scores = np.full((len(gt_alpha), len(ALPHA_SCORES) + 1), math.nan)
            for frame, (pred, gt) in enumerate(zip(pred_alpha, gt_alpha)):
                scores[frame, :-1] = [score(pred, gt) for score in ALPHA_SCORES.values()]
            with_foreground = "pred_fgr" in clip.arrays and "gt_fgr" in clip.arrays
            if with_foreground:
                scores[:, -1] = [
                    foreground_mse(pred_fgr, gt_fgr, gt)
                    for pred_fgr, gt_fgr, gt in zip(clip.arrays["pred_fgr"], clip.arrays["gt_fgr"], gt_alpha)
                ]
            self.results.append(
                dict(
                    video_id=clip.video_id,
                    frame_indices=clip.frame_indices,
                    scores=scores,
                    with_foreground=with_foreground,
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        videos = list(group_clips(results, type(self).__name__).values())
        per_video = [np.concatenate([clip["scores"] for clip in clips]) for clips in videos]
        keys = list(ALPHA_SCORES)
        if any(clip["with_foreground"] for clips in videos for clip in clips):
            keys.append(FOREGROUND_KEY)
        return {
            key: frame_index_mean([scores[:, column] for scores in per_video])
            for column, key in enumerate(keys)
        }
