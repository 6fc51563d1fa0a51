"""LR-ASPP-style decoder for mobile people segmentation at any input size.

MobileNetV3's segmentation head (Howard et al., ICCV 2019) gates a 1x1 branch of the deepest
features with a squeeze-excitation from a large average pool. mmseg's ``LRASPPHead`` fixes that pool
at 49x49, which fails below ~392 px; this head pools globally (adaptive), so it runs at 256 px and at
any aspect ratio, and exports with dynamic resolution. Shallower features are fused on the way up.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from steadyseg.registry import MODELS


@MODELS.register_module()
class MobileLRASPPHead(BaseDecodeHead):
    """``in_channels``/``in_index`` list features from shallow to deep; ``channels`` is the fused width.

    ``skip_channels`` gives the width each shallower feature is projected to before it is concatenated
    with the upsampled deeper path (one entry per shallower input).
    """

    def __init__(self, skip_channels: tuple[int, ...] = (16,), **kwargs):
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(**kwargs)
        if len(skip_channels) != len(self.in_channels) - 1:
            raise ValueError(
                f"skip_channels has {len(skip_channels)} entries; expected {len(self.in_channels) - 1}, one per "
                f"input except the deepest (in_channels={self.in_channels})"
            )
        deepest = self.in_channels[-1]
        self.branch = ConvModule(deepest, self.channels, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(deepest, self.channels, 1), nn.Sigmoid())
        self.skips = nn.ModuleList(
            ConvModule(c, s, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c, s in zip(self.in_channels[:-1], skip_channels)
        )
        self.fuses = nn.ModuleList(
            ConvModule(
                self.channels + s, self.channels, 3, padding=1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg
            )
            for s in skip_channels
        )

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        features = self._transform_inputs(inputs)
        x = self.branch(features[-1]) * self.gate(features[-1])
        for feature, skip, fuse in zip(features[-2::-1], self.skips[::-1], self.fuses[::-1]):
            x = F.interpolate(x, size=feature.shape[-2:], mode="bilinear", align_corners=self.align_corners)
            x = fuse(torch.cat([x, skip(feature)], dim=1))
        return self.cls_seg(x)
