"""Deep guided filter: full-resolution alpha and foreground from a low-resolution prediction and the full frame.

A guided filter (He et al., TPAMI 2013) models the output as locally linear in a guide image, ``q = A * I + b``.
Wu et al. ("Fast End-to-End Trainable Guided Filter", CVPR 2018) fit ``A`` and ``b`` at low resolution, box-filter
them, upsample them bilinearly and apply them to the high-resolution guide, so the expensive network never sees the
full frame; their trainable variant predicts ``A`` with small convs from the local covariance and variance instead
of the closed form ``cov / (var + eps)``. Robust Video Matting (Lin et al., WACV 2022) adds the decoder's hidden
features to those convs' input. Here, per pixel of the low-resolution maps::

    guide = [R, G, B, grey]            target = [fgr_R, fgr_G, fgr_B, alpha]
    cov   = box(guide * target) - box(guide) * box(target)      var = box(guide^2) - box(guide)^2
    A     = convs([cov, var, hidden])  b = box(target) - A * box(guide)
    out   = up(box(A)) * guide_full + up(box(b))

each target channel paired with one guide channel (colour with colour, alpha with the grey image).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from steadyseg.registry import MODELS

# Guide and target channels: RGB + grey, and foreground RGB + alpha.
_PAIRS = 4


@MODELS.register_module()
class DeepGuidedFilter(nn.Module):
    """``forward(images, images_low, fgr_low, alpha_low, hidden_low) -> (fgr, alpha)`` at ``images``' size.

    Args:
        hidden_channels: channels of the decoder's hidden features (a model fills this in from its decoder).
        channels: width of the 1x1 convs that predict ``A``.
        radius: of the box filter (a ``2 * radius + 1`` square, averaged over the pixels inside the frame).
        norm_cfg: normalization after the first two 1x1 convs.

    All tensors are frames ``[N, C, h, w]``: ``images [N, 3, H, W]`` the full-resolution frames (RGB in [0, 1]),
    ``images_low [N, 3, h, w]`` the frames the decoder saw, ``fgr_low [N, 3, h, w]`` and ``alpha_low
    [N, 1, h, w]`` its (unclamped) predictions, ``hidden_low [N, hidden_channels, h, w]`` its features. The
    outputs are unclamped; the caller clamps them.
    """

    def __init__(
        self, hidden_channels: int, channels: int = 16, radius: int = 1, norm_cfg: dict | None = None
    ):
        super().__init__()
        if radius < 1:
            raise ValueError(f"DeepGuidedFilter: radius must be >= 1, got {radius}")
        self.hidden_channels, self.radius = hidden_channels, radius
        common = dict(norm_cfg=norm_cfg or dict(type="BN"), act_cfg=dict(type="ReLU"))
        self.coefficients = nn.Sequential(
            ConvModule(2 * _PAIRS + hidden_channels, channels, 1, **common),
            ConvModule(channels, channels, 1, **common),
            nn.Conv2d(channels, _PAIRS, 1),
        )

    def forward(
        self,
        images: torch.Tensor,
        images_low: torch.Tensor,
        fgr_low: torch.Tensor,
        alpha_low: torch.Tensor,
        hidden_low: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        guide, target = _with_grey(images_low), torch.cat([fgr_low, alpha_low], dim=1)
        mean_guide, mean_target = self._box(guide), self._box(target)
        covariance = self._box(guide * target) - mean_guide * mean_target
        variance = self._box(guide * guide) - mean_guide * mean_guide
        slope = self.coefficients(torch.cat([covariance, variance, hidden_low], dim=1))
        offset = mean_target - slope * mean_guide
        size = tuple(images.shape[-2:])
        slope, offset = (
            F.interpolate(self._box(c), size=size, mode="bilinear", align_corners=False)
            for c in (slope, offset)
        )
        refined = slope * _with_grey(images) + offset
        return refined[:, :3], refined[:, 3:]

    def _box(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the ``(2r + 1)^2`` window, of the pixels inside the frame at the borders."""
        size = 2 * self.radius + 1
        return F.avg_pool2d(x, size, stride=1, padding=self.radius, count_include_pad=False)


def _with_grey(images: torch.Tensor) -> torch.Tensor:
    """``[N, 3, h, w]`` RGB -> ``[N, 4, h, w]``: RGB and its channel mean."""
    return torch.cat([images, images.mean(dim=1, keepdim=True)], dim=1)
