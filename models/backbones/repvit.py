"""RepViT (Wang et al., "RepViT: Revisiting Mobile CNN From ViT Perspective", CVPR 2024).

A MobileNetV3-style CNN reorganized like a ViT: each block is a token mixer (depthwise 3x3, optional
squeeze-excitation) followed by a residual channel mixer (1x1 expand x2, GELU, 1x1 project). The
token mixer is trained as RepVGG-style branches::

    y = BN(ConvBN_3x3_dw(x) + Conv_1x1_dw(x) + x)

which :meth:`RepVGGDepthwise.reparameterize` folds into one depthwise 3x3 conv with bias; every other
conv-BN pair folds into a conv with bias. What remains at inference is depthwise/pointwise convs,
GELU, SE and the channel mixer's residual add. Fold this backbone, alone or inside a model, with
:func:`steadyseg.deploy.reparameterize`.

Outputs (``out_indices`` select from these four; input ``H x W``):

=====  ======  ====  ====  ====  ====  ====
index  stride  m0_9  m1_0  m1_1  m1_5  m2_3
=====  ======  ====  ====  ====  ====  ====
0      4       48    56    64    64    80
1      8       96    112   128   128   160
2      16      192   224   256   256   320
3      32      384   448   512   512   640
=====  ======  ====  ====  ====  ====  ====

Stage 0 is a two-conv stride-4 stem plus blocks; each later stage starts with a downsampling layer
(a block at the old width without SE, depthwise 3x3 stride 2, pointwise to the new width, residual
channel mixer). Stage depths (blocks after the downsampling layer) are m0_9 2-2-14-2, m1_0 2-2-14-2,
m1_1 2-2-12-2, m1_5 4-4-24-4, m2_3 6-6-34-2; SE sits on every other block, starting with the first.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from steadyseg.registry import MODELS

from .mobileone import SqueezeExcite, check_out_indices
from .reparam_layers import ConvBN, conv_like, fold_batchnorm, identity_kernel, sum_branches


class RepVGGDepthwise(nn.Module):
    """RepViT's token mixer ``BN(dw3x3-BN(x) + dw1x1(x) + x)``; folds into one depthwise 3x3 conv with bias."""

    def __init__(self, channels: int, inference_mode: bool = False):
        super().__init__()
        self.inference_mode = inference_mode
        if inference_mode:
            self.reparam_conv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        else:
            self.conv = ConvBN(channels, channels, 3, groups=channels)
            self.scale = nn.Conv2d(channels, channels, 1, groups=channels)
            self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inference_mode:
            return self.reparam_conv(x)
        return self.bn(self.conv(x) + self.scale(x) + x)

    @torch.no_grad()
    def reparameterize(self) -> None:
        if self.inference_mode:
            return
        template = self.conv.conv
        branches = [
            self.conv.fused(),
            (self.scale.weight, self.scale.bias),
            (identity_kernel(template), None),
        ]
        weight, bias = sum_branches(branches, template.kernel_size[0])
        self.reparam_conv = conv_like(template, *fold_batchnorm(weight, bias, self.bn))
        del self.conv, self.scale, self.bn
        self.inference_mode = True


class ChannelMixer(nn.Module):
    """Residual ``x + ConvBN(GELU(ConvBN(x)))`` with hidden width ``2 * channels``."""

    def __init__(self, channels: int, inference_mode: bool = False):
        super().__init__()
        self.expand = ConvBN(channels, 2 * channels, 1, inference_mode=inference_mode)
        self.act = nn.GELU()
        self.project = ConvBN(2 * channels, channels, 1, inference_mode=inference_mode)
        if not inference_mode:
            # Each residual branch starts as zero, so a deep stack starts as the identity (as in RepViT).
            nn.init.zeros_(self.project.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.act(self.expand(x)))


class RepViTBlock(nn.Module):
    """Token mixer (reparameterizable depthwise 3x3), optional SE, residual channel mixer."""

    def __init__(self, channels: int, use_se: bool, inference_mode: bool = False):
        super().__init__()
        self.token_mixer = RepVGGDepthwise(channels, inference_mode)
        # timm's SqueezeExcite(rd_ratio=0.25) rounds the reduced width to a multiple of 8.
        reduced = max(8, int(channels / 4 + 4) // 8 * 8)
        self.se = SqueezeExcite(channels, reduced) if use_se else nn.Identity()
        self.channel_mixer = ChannelMixer(channels, inference_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_mixer(self.se(self.token_mixer(x)))


class RepViTDownsample(nn.Module):
    """Block at ``in_channels``, depthwise 3x3 stride 2, pointwise to ``out_channels``, channel mixer."""

    def __init__(self, in_channels: int, out_channels: int, inference_mode: bool = False):
        super().__init__()
        self.pre_block = RepViTBlock(in_channels, use_se=False, inference_mode=inference_mode)
        self.spatial = ConvBN(
            in_channels, in_channels, 3, 2, groups=in_channels, inference_mode=inference_mode
        )
        self.channel = ConvBN(in_channels, out_channels, 1, inference_mode=inference_mode)
        self.channel_mixer = ChannelMixer(out_channels, inference_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_mixer(self.channel(self.spatial(self.pre_block(x))))


@MODELS.register_module()
class RepViT(BaseModule):
    """RepViT backbone returning a tuple of stage features (mmseg convention).

    Args:
        variant: ``"m0_9"``, ``"m1_0"``, ``"m1_1"``, ``"m1_5"`` or ``"m2_3"`` (the paper's M0.9 .. M2.3).
        out_indices: strictly increasing indices of the stages to return (strides 4, 8, 16, 32); stages
            deeper than the last index are not built.
        inference_mode: build the folded form directly (to load a reparameterized checkpoint).
        init_cfg: mmengine init config (e.g. ``dict(type="Pretrained", checkpoint=...)``).
    """

    arch_settings = {
        "m0_9": dict(channels=(48, 96, 192, 384), depths=(2, 2, 14, 2)),
        "m1_0": dict(channels=(56, 112, 224, 448), depths=(2, 2, 14, 2)),
        "m1_1": dict(channels=(64, 128, 256, 512), depths=(2, 2, 12, 2)),
        "m1_5": dict(channels=(64, 128, 256, 512), depths=(4, 4, 24, 4)),
        "m2_3": dict(channels=(80, 160, 320, 640), depths=(6, 6, 34, 2)),
    }
    strides = (4, 8, 16, 32)

    def __init__(
        self,
        variant: str = "m0_9",
        out_indices: tuple[int, ...] = (0, 1, 2, 3),
        inference_mode: bool = False,
        init_cfg: dict | list[dict] | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        if variant not in self.arch_settings:
            raise ValueError(
                f"RepViT: unknown variant {variant!r}; choose one of {sorted(self.arch_settings)}"
            )
        setting = self.arch_settings[variant]
        self.variant = variant
        self.out_indices = check_out_indices("RepViT", out_indices, len(self.strides))
        self.channels = setting["channels"]
        self.out_channels = tuple(self.channels[i] for i in self.out_indices)

        stages = []
        for index in range(self.out_indices[-1] + 1):
            width = self.channels[index]
            if index == 0:
                first = nn.Sequential(
                    ConvBN(3, width // 2, 3, 2, inference_mode=inference_mode),
                    nn.GELU(),
                    ConvBN(width // 2, width, 3, 2, inference_mode=inference_mode),
                )
            else:
                first = RepViTDownsample(self.channels[index - 1], width, inference_mode)
            blocks = [
                RepViTBlock(width, use_se=block % 2 == 0, inference_mode=inference_mode)
                for block in range(setting["depths"][index])
            ]
            stages.append(nn.Sequential(first, *blocks))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
