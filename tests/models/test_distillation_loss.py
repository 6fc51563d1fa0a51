"""DistillationLoss and MotionDistillationLoss on hand-computed cases."""

import math

import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.models.losses import DistillationLoss, MotionDistillationLoss
from steadyseg.registry import MODELS


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def pixel(*values):
    """A ``[1, 1, C, 1, 1]`` clip of one frame and one pixel with logits ``values``."""
    return torch.tensor(values, dtype=torch.float32).view(1, 1, -1, 1, 1)


def random_clip(channels=2, frames=3, seed=0):
    return torch.randn(2, frames, channels, 5, 7, generator=torch.Generator().manual_seed(seed)) * 3


def logit(p):
    return math.log(p / (1 - p))


@pytest.mark.parametrize("cfg", [dict(mode="kl"), dict(mode="kl", temperature=3.0), dict(mode="bce")])
def test_distillation_is_exactly_zero_when_student_agrees(cfg):
    teacher = random_clip()
    loss = DistillationLoss(**cfg)(logits=teacher.clone().requires_grad_(), teacher_logits=teacher)
    assert loss.item() == 0.0
    assert DistillationLoss(**cfg)(logits=random_clip(seed=1), teacher_logits=teacher) > 0


def test_kl_hand_computed():
    """Student uniform, teacher [1/4, 3/4]: KL = 3/4 ln(3/2) + 1/4 ln(1/2); at T = 2 the softened teacher."""
    student, teacher = pixel(0.0, 0.0), pixel(0.0, math.log(3.0))
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    loss = DistillationLoss(mode="kl", loss_weight=2.0)(logits=student, teacher_logits=teacher)
    assert loss.item() == pytest.approx(2.0 * expected, rel=1e-6)
    # T = 2: softmax([0, ln 3] / 2) = [1, sqrt 3] / (1 + sqrt 3); the student stays uniform; times T^2.
    p = math.sqrt(3.0) / (1 + math.sqrt(3.0))
    softened = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    loss = DistillationLoss(mode="kl", temperature=2.0)(logits=student, teacher_logits=teacher)
    assert loss.item() == pytest.approx(4.0 * softened, rel=1e-6)


def test_bce_hand_computed_and_equal_for_one_and_two_channel_models():
    """p_s = 1/2, p_te = 3/4: BCE - H(p_te) = 3/4 ln(3/2) + 1/4 ln(1/2), whatever form the logits take."""
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    loss = DistillationLoss(mode="bce")
    two_class = loss(logits=pixel(0.3, 0.3), teacher_logits=pixel(0.0, math.log(3.0)))
    one_channel = loss(logits=pixel(0.0), teacher_logits=pixel(math.log(3.0)))
    mixed = loss(logits=pixel(0.0), teacher_logits=pixel(-1.0, math.log(3.0) - 1.0))
    for value in (two_class, one_channel, mixed):
        assert value.item() == pytest.approx(expected, rel=1e-6)
    # Its gradient is BCE's: d/dz_s = p_s - p_te = -1/4 for the one-channel student.
    student = pixel(0.0).requires_grad_()
    loss(logits=student, teacher_logits=pixel(math.log(3.0))).backward()
    assert student.grad.item() == pytest.approx(-0.25, rel=1e-6)


def test_kl_equals_bce_for_binary_models_at_temperature_one():
    student, teacher = random_clip(seed=2), random_clip(seed=3)
    kl = DistillationLoss(mode="kl")(logits=student, teacher_logits=teacher)
    bce = DistillationLoss(mode="bce")(logits=student, teacher_logits=teacher)
    torch.testing.assert_close(kl, bce)


def test_distillation_gradient_reaches_only_the_student():
    student = random_clip(seed=4).requires_grad_()
    teacher = random_clip(seed=5).requires_grad_()
    DistillationLoss()(logits=student, teacher_logits=teacher).backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None


def test_motion_distillation_hand_computed():
    """One pixel, two frames: student p 1/2 -> 1/2, teacher 1/4 -> 3/4: (0 - 1/2)^2 for both classes."""
    student = torch.zeros(1, 2, 1, 1, 1)
    teacher = torch.tensor([-math.log(3.0), math.log(3.0)]).view(1, 2, 1, 1, 1)
    loss = MotionDistillationLoss(loss_weight=3.0)(logits=student, teacher_logits=teacher)
    assert loss.item() == pytest.approx(3.0 * 0.25, rel=1e-6)
    two_class = MotionDistillationLoss()(logits=torch.zeros(1, 2, 2, 1, 1), teacher_logits=teacher)
    assert two_class.item() == pytest.approx(0.25, rel=1e-6)


def test_motion_distillation_zero_when_probabilities_change_as_the_teachers():
    """Zero for the teacher itself and for a student whose probabilities are the teacher's minus 0.1 everywhere:
    its probabilities are off, but they change exactly as the teacher's."""
    teacher_p = torch.tensor([0.3, 0.5, 0.8, 0.6]).view(1, 4, 1, 1, 1).expand(2, 4, 1, 3, 3)
    teacher = torch.logit(teacher_p)
    assert MotionDistillationLoss()(logits=teacher, teacher_logits=teacher).item() == 0.0
    shifted = torch.logit(teacher_p - 0.1)
    assert MotionDistillationLoss()(logits=shifted, teacher_logits=teacher).item() == pytest.approx(
        0, abs=1e-12
    )
    assert DistillationLoss()(logits=shifted, teacher_logits=teacher) > 0


def test_motion_distillation_penalizes_a_flickering_student():
    teacher = random_clip(frames=1, seed=6).expand(-1, 4, -1, -1, -1)  # a still teacher
    # The student's person logit jumps up and down by 2 from frame to frame.
    jumps = torch.tensor([0.0, 2.0, -2.0, 2.0]).view(1, 4, 1, 1, 1) * torch.tensor([-1.0, 1.0]).view(
        1, 1, 2, 1, 1
    )
    flicker = (teacher + jumps).requires_grad_()
    loss = MotionDistillationLoss()(logits=flicker, teacher_logits=teacher)
    assert loss > 0.01
    loss.backward()
    assert flicker.grad.abs().sum() > 0


def test_motion_distillation_is_zero_for_one_frame_and_still_backpropagates():
    student = random_clip(frames=1).requires_grad_()
    loss = MotionDistillationLoss()(logits=student, teacher_logits=random_clip(frames=1, seed=1))
    assert loss.item() == 0.0
    loss.backward()
    assert student.grad is not None


@pytest.mark.parametrize("loss_type", ["DistillationLoss", "MotionDistillationLoss"])
def test_without_teacher_logits_the_error_names_the_loss_and_teacher(loss_type):
    loss = MODELS.build(dict(type=loss_type))
    with pytest.raises(ValueError, match=f"{loss_type}: needs the teacher's logits.*set the model's teacher"):
        loss(logits=random_clip(), teacher_logits=None)


def test_loss_names_and_argument_errors():
    assert DistillationLoss().loss_name == "loss_distill"
    assert MotionDistillationLoss().loss_name == "loss_motion_distill"
    assert DistillationLoss(loss_name="loss_kd").loss_name == "loss_kd"
    with pytest.raises(ValueError, match="mode must be 'kl' or 'bce', got 'mse'"):
        DistillationLoss(mode="mse")
    with pytest.raises(ValueError, match="temperature applies to mode='kl' only"):
        DistillationLoss(mode="bce", temperature=2.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DistillationLoss(temperature=0)
    with pytest.raises(ValueError, match="mode='bce' needs person logits with 1 .* logits has 3"):
        DistillationLoss(mode="bce")(logits=random_clip(3), teacher_logits=random_clip())
    with pytest.raises(ValueError, match="same classes in student and teacher, got 3 and 2"):
        DistillationLoss(mode="kl")(logits=random_clip(3), teacher_logits=random_clip())
    with pytest.raises(ValueError, match="must share B, T, H and W"):
        MotionDistillationLoss()(logits=random_clip(), teacher_logits=random_clip(frames=2))
