"""``TemporalCoherenceLoss``: RVM's temporal coherence (MSE between predicted and true frame differences).

Also holds :func:`frame_difference_mse`, the coherence core that ``AlphaCoherenceLoss`` and
``ForegroundCoherenceLoss`` share, and :func:`masked_mean`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.registry import MODELS


def masked_mean(values: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``values`` over the entries where ``valid`` (broadcast to ``values``) is True; all when None.

    0 when nothing is valid (or ``values`` is empty), still a function of ``values`` so it backpropagates.
    Left-out entries are replaced (``torch.where``), not multiplied by 0, so a non-finite value there cannot
    reach the loss.
    """
    if valid is None:
        return values.sum() / max(values.numel(), 1)
    valid = valid.expand_as(values)
    return torch.where(valid, values, 0.0).sum() / valid.sum().clamp(min=1)


def frame_difference_mse(
    prediction: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """``mean(((P_t - P_{t-1}) - (G_t - G_{t-1}))^2)`` over frames ``t >= 1`` of ``[B, T, C, H, W]`` clips.

    ``valid`` (bool, ``[B, T, 1 or C, H, W]``, or None for all) marks the entries with a ground truth; an entry
    of pair ``(t-1, t)`` counts when it is valid in both frames, and the mean runs over those (0 for a
    one-frame clip or when none count).
    """
    difference = (prediction[:, 1:] - prediction[:, :-1]) - (target[:, 1:] - target[:, :-1])
    pair_valid = None if valid is None else valid[:, 1:] & valid[:, :-1]
    return masked_mean(difference.pow(2), pair_valid)


@MODELS.register_module()
class TemporalCoherenceLoss(nn.Module):
    """``mean((dP_t - dG_t)^2)`` over frames ``t >= 1``, classes and pixels.

    Robust Video Matting (Lin et al., WACV 2022): ``L_tc = ||dP/dt - dG/dt||_2``, implemented there as the
    MSE of consecutive-frame differences. Here ``dP_t = P_t - P_{t-1}`` with ``P`` the softmax probabilities
    (sigmoid for one channel) or the raw logits, and ``dG_t = onehot(G_t) - onehot(G_{t-1})`` (``G`` itself,
    as 0/1, for one channel). A pixel of pair ``(t-1, t)`` is left out when either ground truth is
    ``ignore_index``; the mean runs over the remaining (pair, pixel, class) entries (0 when none remain).

    Args:
        loss_weight: factor applied to the loss (RVM weights its alpha coherence by 5).
        on: ``'probs'`` or ``'logits'``.
        ignore_index: ground-truth label left out.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``logits [B, T, C, H, W]`` and ``gt_sem_seg [B, T, H, W]``; others ignored.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        on: str = "probs",
        ignore_index: int = 255,
        loss_name: str = "loss_temporal_coherence",
    ):
        super().__init__()
        if on not in ("probs", "logits"):
            raise ValueError(f"TemporalCoherenceLoss: on must be 'probs' or 'logits', got {on!r}")
        self.loss_weight = loss_weight
        self.on = on
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, logits: torch.Tensor, gt_sem_seg: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        owner = type(self).__name__
        if gt_sem_seg is None:
            raise ValueError(f"{owner}: needs gt_sem_seg [B, T, H, W] (the batch has none)")
        if logits.ndim != 5 or gt_sem_seg.shape != logits.shape[:2] + logits.shape[3:]:
            raise ValueError(
                f"{owner}: logits must be [B, T, C, H, W] and gt_sem_seg [B, T, H, W] of the same B, T, H, W; "
                f"got {tuple(logits.shape)} and {tuple(gt_sem_seg.shape)}"
            )
        num_classes = logits.shape[2]
        valid = gt_sem_seg != self.ignore_index
        labels = torch.where(valid, gt_sem_seg, torch.zeros_like(gt_sem_seg)).long()
        bad = (labels < 0) | (labels >= max(num_classes, 2))
        if bad.any():
            raise ValueError(
                f"{owner}: gt_sem_seg has label {labels[bad][0].item()}, outside [0, {max(num_classes, 2)}) "
                f"and not ignore_index={self.ignore_index}"
            )
        outputs = logits.float()
        if num_classes == 1:
            target = labels.unsqueeze(2).float()
            if self.on == "probs":
                outputs = outputs.sigmoid()
        else:
            target = F.one_hot(labels, num_classes).permute(0, 1, 4, 2, 3).float()
            if self.on == "probs":
                outputs = outputs.softmax(dim=2)
        return self.loss_weight * frame_difference_mse(outputs, target, valid.unsqueeze(2))
