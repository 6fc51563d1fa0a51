"""``HungarianMaskLoss``: the set-prediction loss of query-based mask classification, per frame.

From Mask2Former (Cheng et al., CVPR 2022) and MaskFormer before it: in each frame the queries' predictions are
matched one to one to the frame's ground-truth instances by the Hungarian algorithm (scipy's
``linear_sum_assignment``) on the cost ``class_weight * (-p(class)) + mask_weight * BCE + dice_weight * dice``; each
query then learns its matched instance's class (or no-object, weighted ``no_object_weight``, when unmatched) by
cross-entropy, and a matched query its instance's mask by binary cross-entropy and dice. Every stage of the decoder
(deep supervision) is matched and supervised on its own, and the terms are summed over the stages. MinVIS (Huang et
al., NeurIPS 2022) trains a video instance model exactly so, each frame on its own.

Mask2Former samples points for the mask terms to save memory at high resolution; at a mobile model's stride-4 masks
(64 x 64 at 256 px) the terms are computed on every pixel, with the ground truth brought to the predictions' size by
area averaging (the fraction of each prediction pixel the instance covers), which keeps thin parts that
nearest-neighbour subsampling would drop.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from steadyseg.registry import MODELS

# Dice's smoothing term: an empty predicted mask against an empty target costs 0, not 0 / 0.
DICE_SMOOTH = 1.0


@MODELS.register_module()
class HungarianMaskLoss(nn.Module):
    """``forward(class_logits, mask_logits, targets) -> {"loss_cls", "loss_mask", "loss_dice"}``.

    Args:
        num_classes: classes ``C`` (a model fills it in); class ``C`` of the predictions is no-object.
        class_weight, mask_weight, dice_weight: weights of the class, mask-BCE and dice terms, in the matching cost
            and in the loss alike (Mask2Former: 2, 5, 5).
        no_object_weight: the cross-entropy weight of the no-object class (Mask2Former: 0.1), so the many
            unmatched queries do not drown the few matched ones.

    ``class_logits``: one ``[F, Q, C + 1]`` tensor per decoder stage; ``mask_logits``: one ``[F, Q, h, w]`` per
    stage; ``targets``: per frame ``(labels, masks)``, ``labels`` int64 ``[M]`` in ``0 .. C - 1`` and ``masks``
    ``[M, H, W]`` (bool or float in [0, 1]), the instances present in that frame (``M`` may be 0). The class loss is
    the weighted mean over every query of every frame; the mask terms are summed over the matched queries and divided
    by the number of ground-truth instances in all frames (at least 1).
    """

    def __init__(
        self,
        num_classes: int,
        class_weight: float = 2.0,
        mask_weight: float = 5.0,
        dice_weight: float = 5.0,
        no_object_weight: float = 0.1,
    ):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be at least 1, got {num_classes}")
        self.num_classes = num_classes
        self.class_weight, self.mask_weight, self.dice_weight = class_weight, mask_weight, dice_weight
        weights = torch.ones(num_classes + 1)
        weights[-1] = no_object_weight
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(
        self,
        class_logits: Sequence[torch.Tensor],
        mask_logits: Sequence[torch.Tensor],
        targets: Sequence[tuple[torch.Tensor, torch.Tensor]],
    ) -> dict[str, torch.Tensor]:
        if len(class_logits) != len(mask_logits) or not class_logits:
            raise ValueError(
                f"{type(self).__name__}: got {len(class_logits)} stages of class_logits and {len(mask_logits)} of "
                "mask_logits; each stage needs both"
            )
        frames, _, height, width = mask_logits[0].shape
        labels, masks = self._checked_targets(targets, frames, (height, width))
        num_masks = max(sum(len(frame_labels) for frame_labels in labels), 1)
        totals = dict(loss_cls=0.0, loss_mask=0.0, loss_dice=0.0)
        for stage_classes, stage_masks in zip(class_logits, mask_logits):
            for name, value in self._stage_terms(
                stage_classes, stage_masks, labels, masks, num_masks
            ).items():
                totals[name] = totals[name] + value
        return dict(
            loss_cls=self.class_weight * totals["loss_cls"],
            loss_mask=self.mask_weight * totals["loss_mask"],
            loss_dice=self.dice_weight * totals["loss_dice"],
        )

    @torch.no_grad()
    def cost_matrix(
        self, class_logits: torch.Tensor, mask_logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor
    ) -> torch.Tensor:
        """The matching cost ``[Q, M]`` of one frame's queries (``class_logits [Q, C + 1]``, ``mask_logits
        [Q, h, w]``) against its instances (``labels [M]``, ``masks [M, h, w]`` in [0, 1] at the predictions'
        size): ``class_weight * -p(label) + mask_weight * mean-pixel BCE + dice_weight * (1 - dice)``."""
        probabilities = class_logits.float().softmax(-1)[:, labels]
        logits, targets = mask_logits.float().flatten(1), masks.float().flatten(1)
        # BCE(x, t) = t * softplus(-x) + (1 - t) * softplus(x), summed over pixels as two matrix products.
        bce = (F.softplus(-logits) @ targets.T + F.softplus(logits) @ (1 - targets).T) / logits.shape[1]
        predicted = logits.sigmoid()
        overlap = predicted @ targets.T
        dice = 1 - (2 * overlap + DICE_SMOOTH) / (
            predicted.sum(1)[:, None] + targets.sum(1)[None] + DICE_SMOOTH
        )
        return self.class_weight * -probabilities + self.mask_weight * bce + self.dice_weight * dice

    def match(
        self, class_logits: torch.Tensor, mask_logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The least-cost one-to-one matching (:meth:`cost_matrix`) as ``(query indices, instance indices)``,
        int64 on the predictions' device, sorted by query."""
        cost = self.cost_matrix(class_logits, mask_logits, labels, masks).cpu()
        queries, instances = linear_sum_assignment(cost.numpy())
        device = class_logits.device
        return torch.as_tensor(queries, device=device), torch.as_tensor(instances, device=device)

    def _stage_terms(
        self,
        class_logits: torch.Tensor,
        mask_logits: torch.Tensor,
        labels: list[torch.Tensor],
        masks: list[torch.Tensor],
        num_masks: int,
    ) -> dict[str, torch.Tensor]:
        target_classes = torch.full(
            class_logits.shape[:2], self.num_classes, dtype=torch.long, device=class_logits.device
        )
        matched_logits, matched_targets = [], []
        for frame, (frame_labels, frame_masks) in enumerate(zip(labels, masks)):
            if not len(frame_labels):
                continue
            queries, instances = self.match(
                class_logits[frame], mask_logits[frame], frame_labels, frame_masks
            )
            target_classes[frame, queries] = frame_labels[instances]
            matched_logits.append(mask_logits[frame, queries])
            matched_targets.append(frame_masks[instances])
        loss_cls = F.cross_entropy(
            class_logits.flatten(0, 1).float(), target_classes.flatten(), weight=self.class_weights
        )
        if not matched_logits:
            # No instance in any frame: nothing to match, but the graph stays whole for every rank's backward.
            zero = mask_logits.sum() * 0
            return dict(loss_cls=loss_cls, loss_mask=zero, loss_dice=zero)
        logits = torch.cat(matched_logits).flatten(1).float()
        targets = torch.cat(matched_targets).flatten(1)
        loss_mask = (
            F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(1).sum() / num_masks
        )
        predicted = logits.sigmoid()
        dice = 1 - (2 * (predicted * targets).sum(1) + DICE_SMOOTH) / (
            predicted.sum(1) + targets.sum(1) + DICE_SMOOTH
        )
        return dict(loss_cls=loss_cls, loss_mask=loss_mask, loss_dice=dice.sum() / num_masks)

    def _checked_targets(
        self, targets: Sequence[tuple[torch.Tensor, torch.Tensor]], frames: int, size: tuple[int, int]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Labels and masks per frame, the masks as float ``[M, h, w]`` at the predictions' size."""
        owner = type(self).__name__
        if len(targets) != frames:
            raise ValueError(f"{owner}: got targets for {len(targets)} frames and predictions for {frames}")
        labels, masks = [], []
        for frame, (frame_labels, frame_masks) in enumerate(targets):
            if frame_masks.ndim != 3 or len(frame_masks) != len(frame_labels):
                raise ValueError(
                    f"{owner}: frame {frame}: masks must be [M, H, W] for its M = {len(frame_labels)} labels, got "
                    f"{tuple(frame_masks.shape)}"
                )
            bad = (frame_labels < 0) | (frame_labels >= self.num_classes)
            if bad.any():
                raise ValueError(
                    f"{owner}: frame {frame}: label {frame_labels[bad][0].item()} is not a class 0 .. "
                    f"{self.num_classes - 1} (num_classes={self.num_classes}; {self.num_classes} is no-object)"
                )
            frame_masks = frame_masks.float()
            if len(frame_masks) and tuple(frame_masks.shape[-2:]) != size:
                frame_masks = F.interpolate(frame_masks[None], size=size, mode="area")[0]
            labels.append(frame_labels.long())
            masks.append(frame_masks.reshape(len(frame_labels), *size))
        return labels, masks
