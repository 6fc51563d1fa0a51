"""``ForegroundL1Loss``: RVM's L1 loss on the foreground colour where the true alpha is positive."""

from __future__ import annotations

import torch

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm, foreground_mask
from .temporal_coherence_loss import masked_mean


@MODELS.register_module()
class ForegroundL1Loss(MattingLossTerm):
    """``mean(|fgr - gt_fgr|)`` over the pixels (of all frames, times 3 channels) where ``gt_alpha > 0``.

    The foreground L1 term of Robust Video Matting (Lin et al., WACV 2022), weight 1 there. Where the true alpha
    is 0 the foreground colour is undefined, so those pixels are left out (whatever is predicted there costs
    nothing); the mean runs over the pixels kept, so the term does not shrink with the person's area. 0 when no
    pixel has a positive alpha. For matting batches (``batch_kind``: the matting model calls it on those
    only).

    Args:
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``fgr [B, T, 3, H, W]`` (predicted, in [0, 1]), ``gt_fgr [B, T, 3, H, W]``
    and ``gt_alpha [B, T, 1, H, W]``; others are ignored.
    """

    batch_kind = "matting"

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_fgr_l1"):
        super().__init__(loss_weight, loss_name)

    def forward(
        self,
        fgr: torch.Tensor | None = None,
        gt_fgr: torch.Tensor | None = None,
        gt_alpha: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        owner = type(self).__name__
        fgr, gt_fgr = self.clip_pair("fgr", fgr, "gt_fgr", gt_fgr, channels=3)
        valid = foreground_mask(owner, fgr, gt_alpha)
        return self.loss_weight * masked_mean((fgr - gt_fgr).abs(), valid)
