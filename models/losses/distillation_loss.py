"""``DistillationLoss``: pixel-wise distillation of a teacher's soft predictions into the student.

Also holds :func:`two_class_logits` and :func:`check_teacher_logits`, which ``MotionDistillationLoss`` shares.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.registry import MODELS


def check_teacher_logits(logits: torch.Tensor, teacher_logits: torch.Tensor | None, owner: str) -> None:
    """Both must be ``[B, T, C, H, W]`` clips of the same ``B, T, H, W``; None means the model has no teacher."""
    if teacher_logits is None:
        raise ValueError(
            f"{owner}: needs the teacher's logits but the model passed teacher_logits=None: set the model's "
            "teacher (dict(config=PATH, checkpoint=PATH or None) or a built video segmentor)"
        )
    if logits.ndim != 5 or teacher_logits.ndim != 5:
        raise ValueError(
            f"{owner}: logits and teacher_logits must be [B, T, C, H, W], got {tuple(logits.shape)} and "
            f"{tuple(teacher_logits.shape)}"
        )
    if logits.shape[:2] != teacher_logits.shape[:2] or logits.shape[3:] != teacher_logits.shape[3:]:
        raise ValueError(
            f"{owner}: logits {tuple(logits.shape)} and teacher_logits {tuple(teacher_logits.shape)} must share "
            "B, T, H and W"
        )


def two_class_logits(logits: torch.Tensor) -> torch.Tensor:
    """One-channel person logits ``z`` -> ``[0, z]`` along dim 2 (softmax ``[1 - sigmoid(z), sigmoid(z)]``).

    So a sigmoid model and a two-class softmax model (e.g. MediaPipe's, whose logits are ``[0, logit(p)]``)
    compare class by class. Logits with more channels are returned unchanged.
    """
    if logits.shape[2] != 1:
        return logits
    return torch.cat([torch.zeros_like(logits), logits], dim=2)


def _person_logit(logits: torch.Tensor, owner: str, name: str) -> torch.Tensor:
    """``[B, T, H, W]`` logit of the person probability: ``z_1 - z_0`` for two classes (softmax of class 1)."""
    channels = logits.shape[2]
    if channels not in (1, 2):
        raise ValueError(
            f"{owner}: mode='bce' needs person logits with 1 (sigmoid) or 2 (softmax) channels; {name} has "
            f"{channels} (use mode='kl' for more classes)"
        )
    return logits[:, :, 0] if channels == 1 else logits[:, :, 1] - logits[:, :, 0]


@MODELS.register_module()
class DistillationLoss(nn.Module):
    """Pixel-wise distillation of ``teacher_logits`` into the student's ``logits`` (both ``[B, T, C, H, W]``).

    * ``mode='kl'``: ``T^2 * mean_pixels KL(softmax(z_te / T) || softmax(z_s / T))`` over the classes, with the
      temperature ``T`` and the ``T^2`` factor of Hinton et al. ("Distilling the knowledge in a neural network",
      2015), which keeps the gradient's scale independent of ``T``. Student and teacher need the same classes;
      a one-channel (sigmoid) model counts as two classes ``[0, z]``.
    * ``mode='bce'``: ``mean_pixels BCE(p_s, p_te) - H(p_te)`` on the person probability ``p`` (softmax of
      class 1 for two-class logits, the sigmoid for one channel). Subtracting the teacher's entropy ``H``, a
      constant for the student, leaves BCE's gradients and makes the loss zero exactly where the student
      matches (it is the binary KL divergence). For two-class models it equals ``'kl'`` at ``T = 1``; it is
      the form that reads the person probability alone, for person models of either output kind.

    The mean runs over batch, frames and pixels, on labelled and unlabelled clips alike (it needs no ground
    truth). No gradient reaches the teacher's logits.

    Args:
        mode: ``'kl'`` or ``'bce'``.
        temperature: softening temperature ``T`` of ``'kl'`` (``'bce'`` takes the probabilities as they are).
        loss_weight: factor applied to the loss.
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``logits`` and ``teacher_logits`` (an error when None: the model needs a
    ``teacher``); others are ignored.
    """

    def __init__(
        self,
        mode: str = "kl",
        temperature: float = 1.0,
        loss_weight: float = 1.0,
        loss_name: str = "loss_distill",
    ):
        super().__init__()
        owner = type(self).__name__
        if mode not in ("kl", "bce"):
            raise ValueError(f"{owner}: mode must be 'kl' or 'bce', got {mode!r}")
        if temperature <= 0:
            raise ValueError(f"{owner}: temperature must be > 0, got {temperature}")
        if mode == "bce" and temperature != 1.0:
            raise ValueError(f"{owner}: temperature applies to mode='kl' only, got {temperature} with 'bce'")
        self.mode = mode
        self.temperature = temperature
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
        student, teacher = logits.float(), teacher_logits.detach().float()
        if self.mode == "bce":
            return self.loss_weight * _binary_kl(
                _person_logit(teacher, owner, "teacher_logits"), _person_logit(student, owner, "logits")
            )
        student, teacher = two_class_logits(student), two_class_logits(teacher)
        if student.shape[2] != teacher.shape[2]:
            raise ValueError(
                f"{owner}: mode='kl' needs the same classes in student and teacher, got {student.shape[2]} and "
                f"{teacher.shape[2]} channels"
            )
        log_student = F.log_softmax(student / self.temperature, dim=2)
        log_teacher = F.log_softmax(teacher / self.temperature, dim=2)
        divergence = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=2).mean()
        return self.loss_weight * self.temperature**2 * divergence


def _binary_kl(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """Mean of ``KL(Bernoulli(sigmoid(teacher)) || Bernoulli(sigmoid(student)))`` from logits (stable: log-sigmoid)."""
    p = teacher.sigmoid()
    person = p * (F.logsigmoid(teacher) - F.logsigmoid(student))
    background = (1 - p) * (F.logsigmoid(-teacher) - F.logsigmoid(-student))
    return (person + background).mean()
