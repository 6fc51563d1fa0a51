"""``ForegroundCoherenceLoss``: RVM's temporal coherence of the foreground colour where the true alpha is positive."""

from __future__ import annotations

import torch

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm, foreground_mask
from .temporal_coherence_loss import frame_difference_mse


@MODELS.register_module()
class ForegroundCoherenceLoss(MattingLossTerm):
    """``mean(((F_t - F_{t-1}) - (G_t - G_{t-1}))^2)`` over frames ``t >= 1``, channels and the pixels where the
    true alpha is positive in both frames ``t - 1`` and ``t``.

    The foreground temporal coherence term of Robust Video Matting (Lin et al., WACV 2022). The true
    foreground colour is defined only where the true alpha is positive, so a pixel of a frame pair counts when
    it is in the foreground of both frames; the mean runs over those (0 when none). RVM weights it 5: set
    ``loss_weight=5.0`` in the config (the default 1 leaves the weight to the config, as for
    ``TemporalCoherenceLoss``). For matting batches (``batch_kind``: the matting model calls it on those
    only). Computed by :func:`~.temporal_coherence_loss.frame_difference_mse`.

    Args:
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``fgr [B, T, 3, H, W]`` (predicted, in [0, 1]), ``gt_fgr [B, T, 3, H, W]``
    and ``gt_alpha [B, T, 1, H, W]``; others are ignored.
    """

    batch_kind = "matting"

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_fgr_coherence"):
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
        return self.loss_weight * frame_difference_mse(fgr, gt_fgr, valid)
