"""``FeatureConsistencyLoss``: flow-warped temporal consistency of intermediate features."""

from __future__ import annotations

import torch
import torch.nn as nn

from steadyseg.flow import check_flow_source
from steadyseg.registry import MODELS

from .flow_warped_consistency_loss import flow_warped_consistency


@MODELS.register_module()
class FeatureConsistencyLoss(nn.Module):
    """``sum_t mean(M_t * |f_t - W_t(f_{t-1})|)`` on features ``[B, T, C', h, w]`` (short-term only).

    The loss of ``FlowWarpedConsistencyLoss`` applied to the model's ``features``: the flow (at the images'
    resolution) is resampled onto the features' grid at ``feature_stride`` (the model passes it; inferred from the
    sizes otherwise) with its vectors divided by the stride, and the visibility mask is averaged over each cell.
    An error when the model passes no features.

    Args:
        loss_weight: factor applied to the loss.
        alpha: sharpness of the visibility mask (RGB in [0, 1]).
        flow_source: ``'data'``, ``'dis'`` or ``'auto'`` as in ``FlowWarpedConsistencyLoss``.
        loss_name: key of the loss in the model's loss dict.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        alpha: float = 50.0,
        flow_source: str = "auto",
        loss_name: str = "loss_feature_consistency",
    ):
        super().__init__()
        self.loss_weight = loss_weight
        self.alpha = alpha
        self.flow_source = check_flow_source(flow_source, type(self).__name__)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(
        self,
        images: torch.Tensor,
        features: torch.Tensor | None = None,
        flow: torch.Tensor | None = None,
        feature_stride: int | None = None,
        **kwargs,
    ) -> torch.Tensor:
        owner = type(self).__name__
        if features is None:
            raise ValueError(
                f"{owner}: the model passed no features (features=None); this loss needs a model whose "
                f"temporal_loss_terms receives its per-frame features [B, T, C, h, w]"
            )
        loss = flow_warped_consistency(
            features, images, flow, self.alpha, self.flow_source, False, owner, stride=feature_stride
        )
        return self.loss_weight * loss
