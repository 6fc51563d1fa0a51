"""``AlphaL1Loss``: RVM's L1 loss on the alpha matte."""

from __future__ import annotations

import torch

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm


@MODELS.register_module()
class AlphaL1Loss(MattingLossTerm):
    """``mean(|alpha - gt_alpha|)`` over batch, all frames of the clips and pixels.

    The alpha L1 term of Robust Video Matting (Lin et al., WACV 2022), weight 1 there. For matting batches
    (``batch_kind``: the matting model calls it on those only).

    Args:
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``alpha [B, T, 1, H, W]`` (predicted, in [0, 1]) and ``gt_alpha
    [B, T, 1, H, W]``; others are ignored.
    """

    batch_kind = "matting"

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_alpha_l1"):
        super().__init__(loss_weight, loss_name)

    def forward(
        self, alpha: torch.Tensor | None = None, gt_alpha: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        alpha, gt_alpha = self.clip_pair("alpha", alpha, "gt_alpha", gt_alpha, channels=1)
        return self.loss_weight * (alpha - gt_alpha).abs().mean()
