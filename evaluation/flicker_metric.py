"""``FlickerMetric``: ground-truth-free flicker of predicted labels, with and without flow compensation."""

from __future__ import annotations

import logging
import math

import numpy as np
from mmengine.logging import print_log

from steadyseg.registry import METRICS

from .flow_pair_metric import FlowPairMetric


@METRICS.register_module()
class FlickerMetric(FlowPairMetric):
    """``flicker`` and ``flicker_flow``: how often predicted labels change between consecutive frames.

    For each pair of consecutive frames ``(t-1, t)``: ``flicker`` counts the fraction of all pixels whose
    label differs between ``pred_{t-1}`` and ``pred_t`` (no motion compensation: moving people count too);
    ``flicker_flow`` counts, over the pixels whose flow stays inside the frame, the fraction where ``pred_t``
    differs from ``pred_{t-1}`` warped onto frame t with the backward flow of frame t (nearest neighbour), i.e.
    changes that motion does not explain. Each is averaged over the pairs of a video, then over videos, so
    every video weighs the same whatever its length. Videos with a single frame (and, for ``flicker_flow``,
    pairs without flow or without a valid pixel) are left out; with nothing left a key is NaN (with a
    warning). It needs no ground truth. Flow and chunking as in ``FlowPairMetric``.

    Args:
        flow_source: ``'auto'``, ``'data'`` or ``'dis'`` (see ``FlowPairMetric``).
        prefix: prefix of the metric keys.
    """

    undefined_when = {
        "flicker": "no video has two frames",
        "flicker_flow": "no video has a pair of consecutive frames with flow and a pixel whose flow stays "
        "inside the frame",
    }

    def pair_stats(self, current, previous, warped, valid) -> np.ndarray:
        """``[P, 4]`` pixel counts per pair: changed, all, changed after warping, valid after warping."""
        stats = np.zeros((len(current), 4), dtype=np.int64)
        stats[:, 0] = np.count_nonzero(current != previous, axis=(1, 2))
        stats[:, 1] = current[0].size if len(current) else 0
        if warped is not None:
            stats[:, 2] = np.count_nonzero((current != warped) & valid, axis=(1, 2))
            stats[:, 3] = np.count_nonzero(valid, axis=(1, 2))
        return stats

    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        return mean_pair_ratios(videos, ("flicker", "flicker_flow"), type(self).__name__)


def mean_pair_ratios(videos: list[list[np.ndarray]], keys: tuple[str, str], owner: str) -> dict[str, float]:
    """``keys`` (plain, with flow) from each video's per-pair statistics ``[P, 4]``: an amount over all
    pixels, their number, an amount over the pixels compared through flow, their number.

    Each ratio is averaged over a video's pairs (with flow: the pairs with a pixel compared through flow),
    then over the videos that have such a pair; with none a key is NaN and a warning naming ``owner`` says so.
    """
    plain_key, flow_key = keys
    per_video = {plain_key: [], flow_key: []}
    for pieces in videos:
        amount, total, amount_flow, valid = np.concatenate(pieces).T
        if len(total):
            per_video[plain_key].append(np.mean(amount / total))
        scored = valid > 0
        if scored.any():
            per_video[flow_key].append(np.mean(amount_flow[scored] / valid[scored]))
    metrics = {}
    for key, values in per_video.items():
        if not values:
            print_log(
                f"{owner}: {key} is NaN: none of the {len(videos)} video(s) has a pair of "
                f"consecutive frames{' with flow' if key == flow_key else ''} to score",
                logger="current",
                level=logging.WARNING,
            )
        metrics[key] = float(np.mean(values)) if values else math.nan
    return metrics
