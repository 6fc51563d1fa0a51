"""The teacher of BaseVideoSegmentor: frozen, outside the student, built lazily; its logits reach the losses."""

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from steadyseg.config import ConfigError, load_config
from steadyseg.datasets.video_io import read_image_rgb, read_single_channel_png
from steadyseg.models import BaseVideoSegmentor
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample
from tests.models.tiny_components import BACKBONE, HEAD

DISTILL_LOSSES = [dict(type="DistillationLoss", mode="kl"), dict(type="MotionDistillationLoss")]


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def tiny_cfg(**extra):
    return dict(
        type="PerFrameVideoSegmentor",
        data_preprocessor=dict(type="VideoDataPreprocessor"),
        segmentor=dict(type="EncoderDecoder", backbone=BACKBONE, decode_head=HEAD),
        **extra,
    )


def tiny_model(seed, **extra):
    torch.manual_seed(seed)
    return MODELS.build(tiny_cfg(**extra))


def batch(model, frames=3, size=64, labels=None):
    """A preprocessed training batch of two random clips (labels: random, or this value everywhere)."""
    generator = torch.Generator().manual_seed(0)
    clips = [
        torch.randint(0, 256, (frames, 3, size, size), dtype=torch.uint8, generator=generator) for _ in "ab"
    ]
    samples = []
    for _ in clips:
        gt = torch.randint(0, 2, (frames, size, size), generator=generator)
        samples.append(VideoDataSample(gt_sem_seg=gt if labels is None else torch.full_like(gt, labels)))
    return model.data_preprocessor({"inputs": clips, "data_samples": samples}, training=True)


def train_step(model):
    losses = model(**batch(model), mode="loss")
    total = sum(value for key, value in losses.items() if "loss" in key)
    total.backward()
    return losses


class UnitRangeTeacher(BaseVideoSegmentor):
    """Takes RGB in [0, 1] (mean 0, std 255) and answers at half resolution; records what it was given."""

    def __init__(self):
        super().__init__(
            data_preprocessor=dict(type="VideoDataPreprocessor", mean=(0, 0, 0), std=(255, 255, 255))
        )
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.seen = []

    def forward_clip(self, inputs, state):
        self.seen.append(inputs)
        person = F.avg_pool2d(inputs.flatten(0, 1).mean(dim=1, keepdim=True), 2) * self.scale - 5
        logits = torch.cat([torch.zeros_like(person), person], dim=1)
        return {"logits": logits.unflatten(0, inputs.shape[:2])}, state

    def loss(self, inputs, data_samples):
        raise NotImplementedError


def test_teacher_is_frozen_and_outside_the_student():
    teacher = tiny_model(1).train()
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=teacher)
    plain = tiny_model(0, temporal_losses=DISTILL_LOSSES)
    assert student.teacher is teacher and plain.teacher is None
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    assert student.state_dict().keys() == plain.state_dict().keys()
    teacher_ids = {id(p) for p in teacher.parameters()}
    assert not teacher_ids & {id(p) for p in student.parameters()}
    assert not any(module is teacher for module in student.modules())
    student.train()
    assert student.training and not teacher.training


def test_one_training_step_with_a_built_teacher_trains_only_the_student():
    teacher = tiny_model(1)
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=teacher).train()
    teacher_state = {key: value.clone() for key, value in teacher.state_dict().items()}
    student_before = student.segmentor.backbone.layer1.depthwise_conv.conv.weight.clone()
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    losses = train_step(student)
    assert {"decode.loss_ce", "loss_distill", "loss_motion_distill"} <= set(losses)
    assert losses["loss_distill"] > 0 and losses["loss_motion_distill"] > 0
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    optimizer.step()
    assert not torch.equal(student.segmentor.backbone.layer1.depthwise_conv.conv.weight, student_before)
    # Eval mode: not even the BatchNorm running statistics of the teacher move.
    for key, value in teacher.state_dict().items():
        torch.testing.assert_close(value, teacher_state[key], rtol=0, atol=0)


def test_distilled_checkpoint_loads_into_the_config_without_teacher():
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=tiny_model(1))
    plain = MODELS.build(tiny_cfg())
    plain.load_state_dict(student.state_dict(), strict=True)


def test_teacher_from_config_and_checkpoint_is_built_at_the_first_loss(tmp_path):
    reference = tiny_model(1).eval()
    checkpoint = tmp_path / "teacher.pth"
    torch.save({"state_dict": reference.state_dict(), "meta": {}}, checkpoint)
    config = tmp_path / "teacher.py"
    config.write_text(f'default_scope = "steadyseg"\nmodel = {tiny_cfg()!r}\n')
    spec = dict(config=str(config), checkpoint=str(checkpoint))
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=spec).train()
    losses = train_step(student)
    assert losses["loss_distill"] > 0
    teacher = student.teacher
    assert isinstance(teacher, type(reference)) and not teacher.training
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert "teacher" not in " ".join(student.state_dict())
    clip = torch.randn(1, 2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(teacher(clip), reference(clip))


def test_teacher_config_is_not_loaded_for_inference_and_its_errors_name_it(tmp_path):
    missing = tmp_path / "no_such_teacher.py"
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=dict(config=str(missing))).eval()
    clip = torch.randn(1, 2, 3, 64, 64)
    with torch.no_grad():
        assert student(clip)["logits"].shape == (1, 2, 2, 64, 64)
        student(clip, [VideoDataSample(metainfo=dict(is_first_clip=True))], mode="predict")
    with pytest.raises(ConfigError, match=re.escape(f"config file {missing} does not exist")):
        train_step(student.train())
    config = tmp_path / "teacher.py"
    config.write_text(f'default_scope = "steadyseg"\nmodel = {tiny_cfg()!r}\n')
    student = tiny_model(
        0, temporal_losses=DISTILL_LOSSES, teacher=dict(config=str(config), checkpoint="x.pth")
    )
    with pytest.raises(
        FileNotFoundError, match="PerFrameVideoSegmentor: teacher checkpoint x.pth does not exist"
    ):
        train_step(student)


def test_bad_teacher_arguments():
    with pytest.raises(
        ValueError, match=re.escape("teacher must be dict(config=PATH, checkpoint=PATH or None)")
    ):
        tiny_model(0, teacher=dict(checkpoint="teacher.pth"))
    with pytest.raises(ValueError, match=r"got keys \['cfg', 'config'\]"):
        tiny_model(0, teacher=dict(config="a.py", cfg="b.py"))
    with pytest.raises(TypeError, match="or a built BaseVideoSegmentor, got Conv2d"):
        tiny_model(0, teacher=nn.Conv2d(3, 2, 1))


def test_distillation_without_teacher_is_an_error_naming_the_loss():
    student = tiny_model(0, temporal_losses=[dict(type="DistillationLoss")])
    with pytest.raises(
        ValueError, match="DistillationLoss: needs the teacher's logits.*set the model's teacher"
    ):
        train_step(student)


def test_teacher_gets_clips_in_its_own_input_range_and_logits_at_the_students_size():
    teacher = UnitRangeTeacher()
    student = tiny_model(0, temporal_losses=[dict(type="DistillationLoss", mode="bce")], teacher=teacher)
    data = batch(student)
    images = student.images_from_inputs(data["inputs"])
    logits = student.teacher_logits(images, (64, 64))
    torch.testing.assert_close(teacher.seen[-1], images)
    assert logits.shape == (2, 3, 2, 64, 64) and not logits.requires_grad
    expected = F.interpolate(
        teacher.forward_clip(images, ())[0]["logits"].flatten(0, 1),
        size=(64, 64),
        mode="bilinear",
        align_corners=False,
    )
    torch.testing.assert_close(logits, expected.unflatten(0, (2, 3)))
    losses = student(**data, mode="loss")
    losses["loss_distill"].backward()
    assert teacher.scale.grad is None


def test_temporal_segmentor_takes_a_teacher():
    temporal = dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 16), gru_channels=(8, 12, 16)
    )
    student = MODELS.build(
        dict(
            type="TemporalVideoSegmentor",
            segmentor=dict(type="EncoderDecoder", backbone=BACKBONE, decode_head=HEAD),
            temporal=temporal,
            temporal_losses=DISTILL_LOSSES,
            teacher=tiny_model(1),
        )
    )
    losses = train_step(student)
    assert losses["loss_distill"] > 0 and losses["loss_motion_distill"] > 0
    assert all(p.grad is not None for p in student.parameters())


def test_people_model_label_losses_ignore_an_unlabelled_batch(repo_root):
    """All-ignore clips (UnlabelledVideoDataset) add nothing to the CE + Dice label losses: finite, no gradient."""
    cfg = load_config(repo_root / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py")
    model = MODELS.build(cfg.model).train()
    losses = model(**batch(model, frames=2, labels=255), mode="loss")
    total = losses["decode.loss_ce"] + losses["decode.loss_dice"]
    assert torch.isfinite(total) and losses["decode.loss_ce"] == 0
    total.backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.parameters())


def test_mediapipe_teacher_finds_the_person_on_davis_frames(shared_data, repo_root):
    teacher = dict(config=str(repo_root / "configs/baselines/mediapipe_selfie_256.py"), checkpoint=None)
    student = tiny_model(0, temporal_losses=DISTILL_LOSSES, teacher=teacher)
    sequence = "hike"
    frames = [
        read_image_rgb(shared_data / f"davis_people/JPEGImages/480p/{sequence}/{t:05d}.jpg") for t in (0, 40)
    ]
    truth = [
        read_single_channel_png(shared_data / f"davis_people/Annotations/480p/{sequence}/{t:05d}.png") > 0
        for t in (0, 40)
    ]
    clip = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
    inputs = student.data_preprocessor({"inputs": [clip]})["inputs"]
    logits = student.teacher_logits(student.images_from_inputs(inputs), (480, 854))
    assert logits.shape == (1, 2, 2, 480, 854)
    for person, gt in zip(logits[0].argmax(dim=1).numpy().astype(bool), truth):
        iou = (person & gt).sum() / (person | gt).sum()
        assert iou > 0.6
    samples = [VideoDataSample(gt_sem_seg=torch.full((2, 480, 854), 255))]
    losses = student(inputs, samples, mode="loss")
    assert torch.isfinite(losses["loss_distill"]) and losses["loss_distill"] > 0
