"""``SegmentationBCELoss``: binary cross-entropy of the matting model's segmentation output (RVM)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from steadyseg.registry import MODELS

from .matting_inputs import MattingLossTerm, require
from .temporal_coherence_loss import masked_mean


@MODELS.register_module()
class SegmentationBCELoss(MattingLossTerm):
    """``mean(BCE-with-logits(seg_logits, gt_sem_seg))`` over the pixels of all frames whose label is not
    ``ignore_index``.

    Robust Video Matting (Lin et al., WACV 2022) trains its segmentation output on segmentation batches
    interleaved with the matting batches, with this loss (weight 1). Labels are 0 (background) and 1 (person);
    the mean runs over the labelled pixels, 0 when none is labelled (an unlabelled clip), still with a graph.
    For segmentation batches (``batch_kind``: the matting model calls it on those only).

    mmseg's ``CrossEntropyLoss(use_sigmoid=True)`` computes the same BCE for ``[N, 1, H, W]`` logits but does
    not fit here: it takes positional 4-D inputs, ignores label 255 only when each call passes
    ``ignore_index=255``, and fails on a batch with every pixel ignored (the max of an empty tensor).

    Args:
        ignore_index: label left out.
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``seg_logits [B, T, 1, H, W]`` and ``gt_sem_seg [B, T, H, W]``; others are
    ignored.
    """

    batch_kind = "segmentation"

    def __init__(self, ignore_index: int = 255, loss_weight: float = 1.0, loss_name: str = "loss_seg_bce"):
        super().__init__(loss_weight, loss_name)
        self.ignore_index = ignore_index

    def forward(
        self, seg_logits: torch.Tensor | None = None, gt_sem_seg: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        owner = type(self).__name__
        seg_logits = require(owner, "seg_logits", seg_logits, "[B, T, 1, H, W]", self.batch_kind)
        gt_sem_seg = require(owner, "gt_sem_seg", gt_sem_seg, "[B, T, H, W]", self.batch_kind)
        if seg_logits.ndim != 5 or seg_logits.shape[2] != 1 or gt_sem_seg.shape != seg_logits[:, :, 0].shape:
            raise ValueError(
                f"{owner}: seg_logits must be [B, T, 1, H, W] and gt_sem_seg [B, T, H, W] of the same B, T, H, W; "
                f"got seg_logits {tuple(seg_logits.shape)} and gt_sem_seg {tuple(gt_sem_seg.shape)}"
            )
        valid = gt_sem_seg != self.ignore_index
        labels = torch.where(valid, gt_sem_seg, 0)
        bad = (labels != 0) & (labels != 1)
        if bad.any():
            raise ValueError(
                f"{owner}: gt_sem_seg has label {labels[bad][0].item()}; person labels must be 0 or 1 (or "
                f"ignore_index={self.ignore_index})"
            )
        logits = seg_logits[:, :, 0].float()
        loss = F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")
        return self.loss_weight * masked_mean(loss, valid)
