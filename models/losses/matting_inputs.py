"""The base and the input checks shared by the matting losses (``AlphaL1Loss`` ... ``SegmentationBCELoss``).

The matting model calls every loss of its config with the keywords ``alpha``, ``fgr``, ``gt_alpha``, ``gt_fgr``,
``seg_logits`` and ``gt_sem_seg``; the model decides which losses apply to which batch kind (matting or
segmentation), so a needed input that is None is a wiring mistake and ends in one error naming the loss.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class MattingLossTerm(nn.Module):
    """A term of the matting model's loss: its weight, the key it is stored under (``loss_name``) and the batches
    it serves (``batch_kind``, set by each subclass)."""

    batch_kind: str

    def __init__(self, loss_weight: float, loss_name: str):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def clip_pair(
        self,
        prediction_name: str,
        prediction: torch.Tensor | None,
        target_name: str,
        target: torch.Tensor | None,
        channels: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A prediction and its ground truth, both given (:func:`require`) and both ``[B, T, channels, H, W]``
        of one shape (:func:`check_clip_pair`), as float32."""
        owner, layout = type(self).__name__, f"[B, T, {channels}, H, W]"
        prediction = require(owner, prediction_name, prediction, layout, self.batch_kind)
        target = require(owner, target_name, target, layout, self.batch_kind)
        return check_clip_pair(owner, prediction_name, prediction, target_name, target, channels)


def require(owner: str, name: str, tensor: torch.Tensor | None, layout: str, batch_kind: str) -> torch.Tensor:
    """``tensor``, or an error naming ``owner`` and the missing input when it is None."""
    if tensor is None:
        raise ValueError(
            f"{owner}: needs {name} {layout} but got None; it is a loss for {batch_kind} batches, so the model "
            f"must not apply it to batches without {name}"
        )
    return tensor


def check_clip_pair(
    owner: str,
    prediction_name: str,
    prediction: torch.Tensor,
    target_name: str,
    target: torch.Tensor,
    channels: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both ``[B, T, channels, H, W]`` of one shape, returned as float32 (losses are computed in full precision
    under AMP too); an error naming ``owner`` and both shapes otherwise."""
    if prediction.ndim != 5 or prediction.shape[2] != channels or prediction.shape != target.shape:
        raise ValueError(
            f"{owner}: {prediction_name} and {target_name} must both be [B, T, {channels}, H, W] of the same "
            f"shape; got {prediction_name} {tuple(prediction.shape)} and {target_name} {tuple(target.shape)}"
        )
    return prediction.float(), target.float()


def foreground_mask(owner: str, fgr: torch.Tensor, gt_alpha: torch.Tensor | None) -> torch.Tensor:
    """``gt_alpha > 0`` as a bool ``[B, T, 1, H, W]`` mask: the pixels whose true foreground colour is defined."""
    gt_alpha = require(owner, "gt_alpha", gt_alpha, "[B, T, 1, H, W]", "matting")
    expected = (*fgr.shape[:2], 1, *fgr.shape[3:])
    if tuple(gt_alpha.shape) != expected:
        raise ValueError(
            f"{owner}: gt_alpha must be [B, T, 1, H, W] = {expected} to match fgr {tuple(fgr.shape)}; got "
            f"{tuple(gt_alpha.shape)}"
        )
    return gt_alpha > 0
