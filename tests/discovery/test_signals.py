"""Ground-truth-free signals: hand-computed values, and flicker equal to FlickerMetric's on the same frames."""

import math

import numpy as np
import pytest

from steadyseg.discovery.signals import (
    MIN_UNION,
    VideoSignals,
    binary_entropy,
    person_probability,
    segment_bounds,
    segment_signals,
)
from steadyseg.evaluation import FlickerMetric
from tests.evaluation.helpers import pred_clip, run, textured_video

SIZE = 32


def two_class_logits(person: np.ndarray, confidence: float = 5.0) -> np.ndarray:
    """``[2, H, W]`` logits whose person probability is ``sigmoid(confidence)`` on ``person`` and
    ``sigmoid(-confidence)`` elsewhere."""
    logits = np.zeros((2, *person.shape), dtype=np.float32)
    logits[1] = np.where(person, confidence, -confidence)
    return logits


def test_person_probability_of_one_and_two_channel_heads():
    assert person_probability(np.zeros((1, 2, 2)))[0, 0] == pytest.approx(0.5)
    two = np.stack([np.zeros((1, 1)), np.full((1, 1), math.log(3.0))])
    assert person_probability(two)[0, 0] == pytest.approx(0.75)
    three = np.log(np.array([1.0, 2.0, 1.0]))[:, None, None]
    assert person_probability(three)[0, 0] == pytest.approx(0.5)


def test_binary_entropy_in_bits():
    np.testing.assert_allclose(
        binary_entropy(np.array([0.0, 0.5, 1.0, 0.25])), [0, 1, 0, 0.8112781], atol=1e-6
    )


def test_hand_computed_signals_of_two_frames_and_a_teacher():
    gray = np.full((SIZE, SIZE, 3), 128, dtype=np.uint8)  # no texture: DIS finds no motion, so flow is zero
    unsure = np.zeros((2, SIZE, SIZE), dtype=np.float32)
    unsure[1] = 1e-6  # p just above 0.5: every pixel person, entropy ~1 bit, margin ~0
    person = np.zeros((SIZE, SIZE), bool)
    person[4:8, 6:10] = True  # 16 pixels
    teacher = np.zeros((SIZE, SIZE), bool)
    teacher[6:10, 8:10] = True  # 8 pixels, 4 of them shared with the person
    signals = VideoSignals()
    frame0 = signals.add(gray, unsure)
    frame1 = signals.add(gray, two_class_logits(person), two_class_logits(teacher))
    assert frame0["flicker"] is None and frame0["flicker_flow"] is None and frame0["disagreement"] is None
    assert frame0["entropy"] == pytest.approx(1.0) and frame0["margin"] == pytest.approx(0.0, abs=1e-6)
    assert frame0["area"] == 1.0
    # p ~ 0.5 inside the all-person mask: half of each pixel is expected to be background.
    assert frame0["uncertainty_iou"] == pytest.approx(0.5, abs=1e-6)
    # Every pixel but the 16 person pixels turns from person to background.
    assert frame1["flicker"] == pytest.approx((SIZE * SIZE - 16) / (SIZE * SIZE))
    assert frame1["flicker_flow"] == pytest.approx(frame1["flicker"])
    # Person masks: all pixels before, 16 now (IoU 16 / 1024).
    assert frame1["flicker_iou"] == pytest.approx(1 - 16 / (SIZE * SIZE))
    p = 1 / (1 + math.exp(-5.0))  # softmax of logits [0, 5] (person) and [0, -5]: p or 1 - p
    assert frame1["entropy"] == pytest.approx(float(binary_entropy(np.array(p))))
    assert frame1["margin"] == pytest.approx(2 * p - 1)
    # Expected mismatch: 1 - p on each of the 16 person pixels and on each of the 1008 others; expected union:
    # the 16 pixels plus 1 - p on the others. A small person is unsure against the whole frame's leftover doubt.
    doubt = 1 - p
    expected = SIZE * SIZE * doubt / (16 + (SIZE * SIZE - 16) * doubt)
    assert frame1["uncertainty_iou"] == pytest.approx(expected)
    assert frame1["uncertainty_iou"] > 0.3 > frame1["entropy"]
    assert frame1["area"] == pytest.approx(16 / (SIZE * SIZE))
    assert frame1["disagreement"] == pytest.approx((16 + 8 - 2 * 4) / (SIZE * SIZE))
    assert frame1["disagreement_iou"] == pytest.approx(1 - 4 / 20)


def test_teacher_logits_at_another_resolution_are_resized():
    image = np.full((SIZE, SIZE, 3), 100, dtype=np.uint8)
    person = np.zeros((SIZE, SIZE), bool)
    person[:, : SIZE // 2] = True
    teacher = np.zeros((SIZE // 4, SIZE // 4), bool)
    teacher[:, : SIZE // 8] = True
    frame = VideoSignals().add(image, two_class_logits(person), two_class_logits(teacher))
    assert frame["disagreement"] == 0.0 and frame["disagreement_iou"] == 0.0


def test_empty_masks_agree():
    image = np.full((SIZE, SIZE, 3), 100, dtype=np.uint8)
    empty = np.zeros((SIZE, SIZE), bool)
    frame = VideoSignals().add(image, two_class_logits(empty, confidence=30.0), two_class_logits(empty))
    assert frame["disagreement_iou"] == 0.0 and frame["area"] == 0.0
    assert frame["uncertainty_iou"] == pytest.approx(0.0, abs=1e-9)


def test_iou_signals_weigh_stray_pixels_against_an_empty_mask_by_their_size():
    """Below MIN_UNION of the frame, 1 - IoU divides by that floor: 2 stray pixels are not a missed person."""
    image = np.full((SIZE, SIZE, 3), 100, dtype=np.uint8)
    stray = np.zeros((SIZE, SIZE), bool)
    stray[0, :2] = True
    empty = np.zeros((SIZE, SIZE), bool)
    person = np.zeros((SIZE, SIZE), bool)
    person[8:24, 8:24] = True
    signals = VideoSignals()
    signals.add(image, two_class_logits(empty))
    frame = signals.add(image, two_class_logits(stray), two_class_logits(empty))
    floor = MIN_UNION * SIZE * SIZE
    assert frame["disagreement_iou"] == pytest.approx(2 / floor)
    assert frame["flicker_iou"] == pytest.approx(2 / floor)
    missed = VideoSignals().add(image, two_class_logits(empty), two_class_logits(person))
    assert missed["disagreement_iou"] == 1.0


def test_flicker_equals_flicker_metric_on_the_same_frames():
    frames, labels = textured_video(np.random.default_rng(3), 6)
    signals = VideoSignals()
    records = []
    for image, label in zip(frames.permute(0, 2, 3, 1).numpy(), labels):
        logits = np.eye(3, dtype=np.float32)[label].transpose(2, 0, 1)
        records.append(signals.add(image, logits))
    metric = run(FlickerMetric(flow_source="dis"), [pred_clip("v", range(6), labels)], inputs=[frames])
    assert np.mean([r["flicker"] for r in records[1:]]) == pytest.approx(metric["flicker"], abs=1e-12)
    assert np.mean([r["flicker_flow"] for r in records[1:]]) == pytest.approx(
        metric["flicker_flow"], abs=1e-12
    )
    assert 0 < metric["flicker_flow"] < metric["flicker"]


def test_segment_signals_average_the_frames_that_have_each_signal():
    frames = [
        dict(flicker=None, flicker_flow=None, entropy=0.2, margin=0.5, area=0.1, disagreement=None),
        dict(flicker=0.1, flicker_flow=0.05, entropy=0.4, margin=0.7, area=0.3, disagreement=None),
        dict(flicker=0.3, flicker_flow=None, entropy=0.6, margin=0.9, area=0.5, disagreement=None),
    ]
    summary = segment_signals(frames)
    assert summary["flicker"] == pytest.approx(0.2) and summary["flicker_flow"] == pytest.approx(0.05)
    assert summary["entropy"] == pytest.approx(0.4) and summary["area"] == pytest.approx(0.3)
    assert summary["disagreement"] is None and summary["disagreement_iou"] is None


def test_segment_bounds():
    assert segment_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert segment_bounds(3, 16) == [(0, 3)]
    with pytest.raises(ValueError, match="segment length must be >= 1"):
        segment_bounds(3, 0)
