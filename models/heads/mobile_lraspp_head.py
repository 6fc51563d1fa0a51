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

    ``linear_output``: the last layer before the classifier (the finest fusion, or the deep branch without
    fusions) ends without its activation, a linear bottleneck as in MobileNetV2 (Sandler et al., CVPR 2018).
    After a ReLU every feature is >= 0, and a two-class head trained from scratch can settle where all of them
    speak for background and a person is the absence of features: the person probability is then capped at the
    softmax of the classifier's biases (0.57 measured, on training data and real video alike), and no gradient
    reaches the dead features that could lift it (docs/benchmarks.md). Features of either sign let the classifier
    say "person" as directly as "background".
    """

    def __init__(
        self,
        skip_channels: tuple[int, ...] = (16,),
        fuse_channels: tuple[int, ...] | None = None,
        fuse_depthwise: bool = False,
        linear_output: bool = False,
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
        branch_act = None if linear_output and not skip_channels else self.act_cfg
        self.branch = ConvModule(deepest, self.channels, 1, norm_cfg=self.norm_cfg, act_cfg=branch_act)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(deepest, self.channels, 1), nn.Sigmoid())
        self.skips = nn.ModuleList(
            ConvModule(c, s, 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c, s in zip(self.in_channels[:-1], skip_channels)
        )
        # Widths of the path arriving at each fusion: the next deeper fusion's output, or the deep branch.
        arriving = (*fuse_channels[1:], self.channels)
        # fuses[0] runs last (at the finest stride): its output goes to the classifier.
        self.fuses = nn.ModuleList(
            self._fuse(a + s, f, fuse_depthwise, linear=linear_output and index == 0)
            for index, (a, s, f) in enumerate(zip(arriving, skip_channels, fuse_channels))
        )
        if fuse_channels and fuse_channels[0] != self.channels:
            self.conv_seg = nn.Conv2d(fuse_channels[0], self.out_channels, kernel_size=1)

    def _fuse(self, in_channels: int, out_channels: int, depthwise: bool, linear: bool) -> nn.Module:
        """A 3x3 fusion; ``linear``: without the activation after its last (pointwise) conv."""
        common = dict(padding=1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        if depthwise:
            pointwise = dict(pw_act_cfg=None) if linear else {}
            return DepthwiseSeparableConvModule(in_channels, out_channels, 3, **common, **pointwise)
        return ConvModule(
            in_channels, out_channels, 3, **{**common, "act_cfg": None if linear else self.act_cfg}
        )

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        features = self._transform_inputs(inputs)
        x = self.branch(features[-1]) * self.gate(features[-1])
        for feature, skip, fuse in zip(features[-2::-1], self.skips[::-1], self.fuses[::-1]):
            x = F.interpolate(x, size=feature.shape[-2:], mode="bilinear", align_corners=self.align_corners)
            x = fuse(torch.cat([x, skip(feature)], dim=1))
        return self.cls_seg(x)
