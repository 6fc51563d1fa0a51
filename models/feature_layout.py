"""The channels and strides of a segmentor's features, found by running it once, so configs need not repeat them.

A temporal module needs each backbone feature's channel count and output stride, and a decode head its input
channels: lists that would otherwise be copied by hand from backbone to neck to head and drift apart. The
segmentor measures them on a probe frame at build time; a temporal module config may leave them out (they are
filled in) or state them (they are checked), and a head whose ``in_channels`` disagree is an error naming the keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

# Divisible by every power-of-two stride up to 64, so the strides come out exact.
PROBE_SIZE = 256


@dataclass(frozen=True)
class FeatureLayout:
    channels: tuple[int, ...]
    strides: tuple[int, ...]


def probe_features(extract: nn.Module, extract_feat=None) -> FeatureLayout:
    """Channels and strides of the features ``extract_feat(images)`` (default: ``extract(images)``) returns."""
    was_training = extract.training
    # Eval mode: a probe must not move BatchNorm running statistics.
    extract.eval()
    try:
        with torch.no_grad():
            features = (extract_feat or extract)(torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE))
    finally:
        extract.train(was_training)
    features = [features] if isinstance(features, torch.Tensor) else list(features)
    return FeatureLayout(
        channels=tuple(int(f.shape[1]) for f in features),
        strides=tuple(round(PROBE_SIZE / f.shape[-1]) for f in features),
    )


def complete_temporal_config(cfg: dict, layout: FeatureLayout, owner: str) -> dict:
    """``cfg`` with ``in_channels`` and ``strides`` filled from ``layout``, or checked against it when given."""
    cfg = dict(cfg)
    for key, measured in (("in_channels", layout.channels), ("strides", layout.strides)):
        if key not in cfg:
            cfg[key] = measured
        elif tuple(cfg[key]) != measured:
            raise ValueError(
                f"{owner}: temporal.{key}={tuple(cfg[key])} disagrees with the backbone's features, which have "
                f"{key}={measured}; leave temporal.{key} out to take the backbone's"
            )
    return cfg


def check_head_channels(head: nn.Module, layout: FeatureLayout, key: str, owner: str) -> None:
    """An mmseg decode head's ``in_channels`` must be the channels of the features its ``in_index`` selects."""
    in_channels, in_index = getattr(head, "in_channels", None), getattr(head, "in_index", None)
    if in_channels is None or in_index is None:
        return
    indices = list(in_index) if isinstance(in_index, (list, tuple)) else [in_index]
    expected = list(in_channels) if isinstance(in_channels, (list, tuple)) else [in_channels]
    if any(not -len(layout.channels) <= i < len(layout.channels) for i in indices):
        raise ValueError(
            f"{owner}: {key}.in_index={in_index} selects a feature the backbone does not give "
            f"(it gives {len(layout.channels)}, with channels {layout.channels})"
        )
    measured = [layout.channels[i] for i in indices]
    if measured != expected:
        raise ValueError(
            f"{owner}: {key}.in_channels={in_channels} disagrees with the backbone's features at "
            f"{key}.in_index={in_index}, which have {tuple(measured) if len(measured) > 1 else measured[0]} channels"
        )
