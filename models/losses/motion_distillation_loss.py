"""``MotionDistillationLoss``: the student's change between frames follows the teacher's (ETC)."""

from __future__ import annotations

import torch
import torch.nn as nn

from steadyseg.registry import MODELS

from .distillation_loss import check_teacher_logits, two_class_logits


@MODELS.register_module()
class MotionDistillationLoss(nn.Module):
    """``mean(((P^s_t - P^s_{t-1}) - (P^te_t - P^te_{t-1}))^2)`` over frames ``t = 1 .. T-1``.

    The temporal (motion) distillation of ETC (Liu et al., "Efficient semantic video segmentation with
    per-frame inference", ECCV 2020): a per-frame student learns how the teacher's prediction moves between
    consecutive frames, not only where it is. ``P`` are the class probabilities (softmax; a one-channel
    sigmoid model counts as the two classes ``[1 - p, p]``, so for people the mean over classes is the squared
    difference of the person probability's changes). The mean runs over batch, frame pairs, classes and
    pixels; a one-frame clip gives zero. Needs no ground truth, so unlabelled clips count too.

    Args:
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``logits`` and ``teacher_logits`` (both ``[B, T, C, H, W]``; an error when
    the teacher's are None: the model needs a ``teacher``); others are ignored.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_motion_distill"):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(
        self, logits: torch.Tensor, teacher_logits: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        owner = type(self).__name__
        check_teacher_logits(logits, teacher_logits, owner)
        student = two_class_logits(logits.float()).softmax(dim=2)
        teacher = two_class_logits(teacher_logits.detach().float()).softmax(dim=2)
        if student.shape[2] != teacher.shape[2]:
            raise ValueError(
                f"{owner}: needs the same classes in student and teacher, got {student.shape[2]} and "
                f"{teacher.shape[2]} channels"
            )
        if student.shape[1] < 2:
            # Zero that still depends on the student, so a loss dict of only this term can backpropagate.
            return student.sum() * 0
        difference = (student[:, 1:] - student[:, :-1]) - (teacher[:, 1:] - teacher[:, :-1])
        return self.loss_weight * difference.pow(2).mean()
