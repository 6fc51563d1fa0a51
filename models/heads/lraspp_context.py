"""LR-ASPP context: the deepest feature gated by its own global average (MobileNetV3's segmentation head).

Howard et al. (ICCV 2019) and Robust Video Matting (Lin et al., WACV 2022) put it on the stride-16 feature:
``relu(bn(conv1x1(x))) * sigmoid(conv1x1(mean_hw(x)))``. The pool is global (adaptive), so the module runs at
any input size and exports with free height and width.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from steadyseg.registry import MODELS


@MODELS.register_module()
class LRASPPContext(nn.Module):
    """``[N, in_channels, h, w] -> [N, channels, h, w]``.

    Args:
        in_channels: channels of the feature it reads (a model fills this in from its backbone).
        channels: output width (RVM: 128).
        norm_cfg: normalization of the 1x1 branch.
    """

    def __init__(self, in_channels: int, channels: int = 128, norm_cfg: dict | None = None):
        super().__init__()
        self.in_channels, self.channels = in_channels, channels
        self.branch = ConvModule(
            in_channels, channels, 1, norm_cfg=norm_cfg or dict(type="BN"), act_cfg=dict(type="ReLU")
        )
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, channels, 1, bias=False), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x) * self.gate(x)
