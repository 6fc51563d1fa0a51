"""``AlphaCoherenceLoss``: RVM's temporal coherence of the alpha matte."""

from __future__ import annotations

import torch

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm
from .temporal_coherence_loss import frame_difference_mse


@MODELS.register_module()
class AlphaCoherenceLoss(MattingLossTerm):
    """``mean(((a_t - a_{t-1}) - (g_t - g_{t-1}))^2)`` over frames ``t >= 1``, batch and pixels.

    The alpha temporal coherence term of Robust Video Matting (Lin et al., WACV 2022): the predicted alpha must
    change from frame to frame as the true alpha does (a prediction off by a fixed amount at a pixel costs
    nothing here, a flickering one does). RVM weights it 5: set ``loss_weight=5.0`` in the config (the default
    1 leaves the weight to the config, as for ``TemporalCoherenceLoss``). A one-frame clip gives 0. For
    matting batches (``batch_kind``: the matting model calls it on those only). Computed by
    :func:`~.temporal_coherence_loss.frame_difference_mse`.

    Args:
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``alpha [B, T, 1, H, W]`` (predicted, in [0, 1]) and ``gt_alpha
    [B, T, 1, H, W]``; others are ignored.
    """

    batch_kind = "matting"

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_alpha_coherence"):
        super().__init__(loss_weight, loss_name)

    def forward(
        self, alpha: torch.Tensor | None = None, gt_alpha: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        alpha, gt_alpha = self.clip_pair("alpha", alpha, "gt_alpha", gt_alpha, channels=1)
        return self.loss_weight * frame_difference_mse(alpha, gt_alpha)
