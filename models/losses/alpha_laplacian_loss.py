"""``AlphaLaplacianLoss``: RVM's Laplacian-pyramid loss on the alpha matte.

Also holds :func:`laplacian_pyramid`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm

# The 5-tap binomial filter, an approximation of a Gaussian; the 2-D kernel is its outer product (sum 1).
_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def _binomial_kernel(like: torch.Tensor) -> torch.Tensor:
    taps = torch.tensor(_BINOMIAL, dtype=like.dtype, device=like.device) / 16
    return torch.outer(taps, taps).view(1, 1, 5, 5)


def _blur(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``[N, 1, H, W]`` filtered by ``kernel`` with reflected borders (the edge pixel is not repeated)."""
    return F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"), kernel)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The ``levels`` band-pass levels of ``images [N, C, H, W]``, finest first (no low-pass residual).

    Burt and Adelson's construction: each level first drops a trailing odd row and column (so down- and
    upsampling invert each other's size), blurs with the binomial kernel, keeps every other pixel (``down``),
    upsamples ``down`` by zero insertion and the same blur times 4 (keeping the mean: 1 pixel in 4 is nonzero),
    and stores ``current - upsampled``; ``down`` is the next level's input. Level ``k`` has the size of the
    input halved ``k`` times. Needs H and W of at least ``2 ** (levels + 1)``: reflected padding by 2 needs 3
    pixels, 4 after the even crop, on the coarsest level.
    """
    batch, channels = images.shape[:2]
    current = images.reshape(batch * channels, 1, *images.shape[2:])
    kernel = _binomial_kernel(current)
    bands = []
    for _ in range(levels):
        height, width = current.shape[-2] // 2 * 2, current.shape[-1] // 2 * 2
        current = current[..., :height, :width]
        down = _blur(current, kernel)[..., ::2, ::2]
        zero_inserted = down.new_zeros(current.shape)
        zero_inserted[..., ::2, ::2] = down
        bands.append((current - 4 * _blur(zero_inserted, kernel)).view(batch, channels, height, width))
        current = down
    return bands


@MODELS.register_module()
class AlphaLaplacianLoss(MattingLossTerm):
    """``sum_k 2^k * mean(|Lap_k(alpha) - Lap_k(gt_alpha)|) / levels`` over the ``levels`` pyramid levels.

    The alpha Laplacian loss of Robust Video Matting (Lin et al., WACV 2022), weight 1 there: 5 levels of
    :func:`laplacian_pyramid` with the 5x5 binomial kernel ``[1 4 6 4 1]^T [1 4 6 4 1] / 256``, level ``k = 0``
    the finest with weight 1, each level's L1 the mean over its pixels of all frames, the weighted sum divided
    by the number of levels. It weighs the matte's edges and structure at every scale, not its pixels alone.
    For matting batches (``batch_kind``: the matting model calls it on those only).

    Args:
        levels: pyramid levels; frames need H and W of at least ``2 ** (levels + 1)`` (64 for RVM's 5).
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``alpha [B, T, 1, H, W]`` (predicted, in [0, 1]) and ``gt_alpha
    [B, T, 1, H, W]``; others are ignored.
    """

    batch_kind = "matting"

    def __init__(self, levels: int = 5, loss_weight: float = 1.0, loss_name: str = "loss_alpha_laplacian"):
        super().__init__(loss_weight, loss_name)
        if type(levels) is not int or levels < 1:
            raise ValueError(f"{type(self).__name__}: levels must be a positive int, got {levels!r}")
        self.levels = levels

    def forward(
        self, alpha: torch.Tensor | None = None, gt_alpha: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        owner = type(self).__name__
        alpha, gt_alpha = self.clip_pair("alpha", alpha, "gt_alpha", gt_alpha, channels=1)
        smallest = 2 ** (self.levels + 1)
        if min(alpha.shape[-2:]) < smallest:
            raise ValueError(
                f"{owner}: a {self.levels}-level pyramid needs frames of at least {smallest} x {smallest} px, got "
                f"alpha {tuple(alpha.shape)}"
            )
        # The pyramid is linear, so the bands of the difference are the differences of the bands (one pyramid).
        bands = laplacian_pyramid((alpha - gt_alpha).flatten(0, 1), self.levels)
        total = sum(2**level * band.abs().mean() for level, band in enumerate(bands))
        return self.loss_weight * total / self.levels
