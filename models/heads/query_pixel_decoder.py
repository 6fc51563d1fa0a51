"""A light FPN pixel decoder for query-based mask classification (the pixel decoder of Mask2Former's design).

Mask2Former (Cheng et al., CVPR 2022) splits a mask-classification model into a backbone, a pixel decoder and a
transformer decoder: the pixel decoder turns the backbone's features into per-pixel *mask features* at stride 4,
which every query's mask embedding is dotted with, and into multi-scale *memories* (strides 32, 16, 8) that the
transformer decoder's queries attend to, one scale per layer. Its pixel decoder runs deformable attention over the
memories; on a phone-sized budget (and without mmcv's compiled ops) this one is a plain top-down FPN: each feature is
projected to ``channels`` by a 1x1 conv, the coarser level upsampled and added, and a depthwise-separable 3x3 conv
mixes the sum. The transformer decoder's cross-attention over all memory pixels gives the queries their global
context.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule

from steadyseg.registry import MODELS


@MODELS.register_module()
class QueryPixelDecoder(nn.Module):
    """``forward(features) -> (mask_features, memories)``.

    Args:
        in_channels: channels of the backbone's features, finest first (a model fills them in from its backbone).
        strides: their output strides, finest first, each coarser than the last (filled in likewise).
        channels: width of every level, so of the memories.
        mask_channels: width of the mask features (the queries' mask embeddings have this width).
        num_memories: how many of the coarsest levels are the transformer decoder's memories (Mask2Former: 3, at
            strides 32, 16 and 8); the finest level gives the mask features and is never a memory.
        norm_cfg: normalization after each conv.

    ``features``: ``[N, in_channels[i], h_i, w_i]``, finest first. Returns ``mask_features [N, mask_channels, h_0,
    w_0]`` (linear: a 1x1 conv after the last activation, so mask logits may take either sign from any query) and
    ``memories``, ``num_memories`` tensors ``[N, channels, h_i, w_i]``, coarsest first (the order the transformer
    decoder's layers visit them).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        channels: int = 64,
        mask_channels: int = 64,
        num_memories: int = 3,
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        owner = type(self).__name__
        self.in_channels, self.strides = tuple(in_channels), tuple(strides)
        if len(self.in_channels) != len(self.strides):
            raise ValueError(
                f"{owner}: in_channels={self.in_channels} and strides={self.strides} must list the same features"
            )
        if any(finer >= coarser for finer, coarser in zip(self.strides, self.strides[1:])):
            raise ValueError(
                f"{owner}: strides={self.strides} must grow from the finest feature to the coarsest"
            )
        if not 1 <= num_memories <= len(self.strides) - 1:
            raise ValueError(
                f"{owner}: num_memories={num_memories} must be between 1 and {len(self.strides) - 1}: the "
                f"{len(self.strides)} features (strides {self.strides}) give the mask features at the finest and "
                "memories at the coarsest others"
            )
        norm_cfg = norm_cfg or dict(type="BN")
        self.channels, self.mask_channels, self.num_memories = channels, mask_channels, num_memories
        self.memory_strides = tuple(reversed(self.strides[-num_memories:]))
        self.mask_stride = self.strides[0]
        self.laterals = nn.ModuleList(
            ConvModule(width, channels, 1, norm_cfg=norm_cfg, act_cfg=None) for width in self.in_channels
        )
        self.outputs = nn.ModuleList(
            DepthwiseSeparableConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg)
            for _ in self.in_channels
        )
        self.mask_projection = nn.Conv2d(channels, mask_channels, 1)

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if len(features) != len(self.in_channels):
            raise ValueError(
                f"{type(self).__name__}: got {len(features)} features for the {len(self.in_channels)} of "
                f"in_channels={self.in_channels}"
            )
        levels = []
        coarser = None
        for feature, lateral, output in zip(
            reversed(features), reversed(self.laterals), reversed(self.outputs)
        ):
            level = lateral(feature)
            if coarser is not None:
                level = level + F.interpolate(
                    coarser, size=level.shape[-2:], mode="bilinear", align_corners=False
                )
            coarser = output(level)
            levels.append(coarser)
        # levels runs coarsest first: the memories are its head, the finest level its last entry.
        return self.mask_projection(levels[-1]), levels[: self.num_memories]
