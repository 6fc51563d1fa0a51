"""LR-ASPP-style decoder for mobile people segmentation at any input size.

MobileNetV3's segmentation head (Howard et al., ICCV 2019) gates a 1x1 branch of the deepest
features with a squeeze-excitation from a large average pool. mmseg's ``LRASPPHead`` fixes that pool
at 49x49, which fails below ~392 px; this head pools globally (adaptive), so it runs at 256 px and at
any aspect ratio, and exports with dynamic resolution. Shallower features are fused on the way up.

The fusion at stride 4 dominates the cost of a mobile segmenter: a 3x3 conv of 80 to 64 channels on a 64x64 map
is ~190M MACs, more than MobileNetV3-small's whole backbone. ``fuse_channels`` narrows the path as it gets finer
and ``fuse_depthwise`` makes each fusion a depthwise-separable conv (MobileNet-style decoders do both), which
cuts the decoder's MACs several-fold (0.38 to 0.07 GMACs for the whole people model, with a narrower backbone
end; see docs/backbones.md).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from steadyseg.registry import MODELS


@MODELS.register_module()
class MobileLRASPPHead(BaseDecodeHead):
    """``in_channels``/``in_index`` list features from shallow to deep; ``channels`` is the fused width.

    ``skip_channels`` gives the width each shallower feature is projected to before it is concatenated
    with the upsampled deeper path (one entry per shallower input). ``fuse_channels`` (same order) is the width
    of the path after fusing at that input's stride; by default every fusion keeps ``channels``.
    ``fuse_depthwise`` makes the 3x3 fusions depthwise-separable.
    """

    def __init__(
        self,
        skip_channels: tuple[int, ...] = (16,),
        fuse_channels: tuple[int, ...] | None = None,
        fuse_depthwise: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(**kwargs)
        if len(skip_channels) != len(self.in_channels) - 1:
            raise ValueError(
                f"skip_channels has {len(skip_channels)} entries; expected {len(self.in_channels) - 1}, one per "
                f"input except the deepest (in_channels={self.in_channels})"
            )
        fuse_channels = tuple(fuse_channels or (self.channels,) * len(skip_channels))
        if len(fuse_channels) != len(skip_channels):
            raise ValueError(
                f"fuse_channels has {len(fuse_channels)} entries; expected {len(skip_channels)}, one per entry of "
                f"skip_channels"
            )
        deepest = self.in_channels[-1]
        self.branch = ConvModule(deepest, self.channels, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(deepest, self.channels, 1), nn.Sigmoid())
        self.skips = nn.ModuleList(
            ConvModule(c, s, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c, s in zip(self.in_channels[:-1], skip_channels)
        )
        fuse_module = DepthwiseSeparableConvModule if fuse_depthwise else ConvModule
        # Widths of the path arriving at each fusion: the next deeper fusion's output, or the deep branch.
        arriving = (*fuse_channels[1:], self.channels)
        self.fuses = nn.ModuleList(
            fuse_module(a + s, f, 3, padding=1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for a, s, f in zip(arriving, skip_channels, fuse_channels)
        )
        if fuse_channels[0] != self.channels:
            self.conv_seg = nn.Conv2d(fuse_channels[0], self.out_channels, kernel_size=1)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        features = self._transform_inputs(inputs)
        x = self.branch(features[-1]) * self.gate(features[-1])
        for feature, skip, fuse in zip(features[-2::-1], self.skips[::-1], self.fuses[::-1]):
            x = F.interpolate(x, size=feature.shape[-2:], mode="bilinear", align_corners=self.align_corners)
            x = fuse(torch.cat([x, skip(feature)], dim=1))
        return self.cls_seg(x)
