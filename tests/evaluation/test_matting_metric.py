import math

import numpy as np
import pytest
import torch

from steadyseg.evaluation import MattingMetric, functional
from steadyseg.registry import METRICS
from tests.evaluation.helpers import run


def matting_clip(video_id, frame_indices, pred_alpha, gt_alpha, pred_fgr=None, gt_fgr=None):
    """A clip result as mmengine's Evaluator hands it to a metric: alpha ``[T, 1, H, W]`` (given as
    ``[T, H, W]``) and, when given, foreground ``[T, 3, H, W]``."""
    sample = dict(
        video_id=video_id,
        frame_indices=list(frame_indices),
        pred_alpha=torch.tensor(np.asarray(pred_alpha), dtype=torch.float32).unsqueeze(1),
        gt_alpha=torch.tensor(np.asarray(gt_alpha), dtype=torch.float32).unsqueeze(1),
    )
    for key, value in (("pred_fgr", pred_fgr), ("gt_fgr", gt_fgr)):
        if value is not None:
            sample[key] = torch.tensor(np.asarray(value), dtype=torch.float32)
    return sample


# Frames of 1 x 2 pixels. Video a: frame 0 exact, frame 1 off by 0.6 at both pixels; video b: one frame off
# by 0.3. MAD per frame: a 0 and 600, b 300; MSE: a 0 and 360, b 90.
GT_A = [[[0.2, 1.0]], [[0.2, 1.0]]]
PRED_A = [[[0.2, 1.0]], [[0.8, 0.4]]]
GT_B = [[[0.0, 0.5]]]
PRED_B = [[[0.3, 0.2]]]


def test_scores_are_averaged_per_frame_index_then_over_indices():
    # Video a arrives cut into two clips, the later one first.
    clips = [
        matting_clip("a", [1], PRED_A[1:], GT_A[1:]),
        matting_clip("b", [0], PRED_B, GT_B),
        matting_clip("a", [0], PRED_A[:1], GT_A[:1]),
    ]
    metrics = run(MattingMetric(), clips)
    assert sorted(metrics) == ["Conn", "Grad", "MAD", "MSE"]
    # MAD: index 0 (0 + 300) / 2 = 150, index 1: 600; (150 + 600) / 2 = 375. A mean per video first would
    # give (300 + 300) / 2 = 300, a mean over all frames 900 / 3 = 300.
    assert metrics["MAD"] == pytest.approx(375.0, rel=1e-6)
    # MSE: index 0 (0 + 90) / 2 = 45, index 1: 360; (45 + 360) / 2 = 202.5.
    assert metrics["MSE"] == pytest.approx(202.5, rel=1e-6)
    # Grad and Conn are averaged the same way over their per-frame values.
    for key, score in (("Grad", functional.grad), ("Conn", functional.conn)):
        per_frame = [
            score(np.float32(pred), np.float32(gt)) for pred, gt in zip(PRED_A + PRED_B, GT_A + GT_B)
        ]
        assert metrics[key] == pytest.approx(((per_frame[0] + per_frame[2]) / 2 + per_frame[1]) / 2, rel=1e-6)


def test_foreground_mse_is_reported_from_the_clips_that_carry_both_foregrounds():
    # Video a (2 frames) has foregrounds: frame 0 has alpha > 0 at both pixels and every channel off by 0.1
    # (MSE 0.01 x 1e3 = 10); frame 1 has alpha > 0 only at the second pixel, where channels are off by 0.2
    # (40; the first pixel's error of 1 does not count). Video b has no foreground fields.
    gt_alpha = [[[0.5, 1.0]], [[0.0, 1.0]]]
    gt_fgr = np.zeros((2, 3, 1, 2))
    pred_fgr = np.stack([np.full((3, 1, 2), 0.1), np.stack([[[1.0, 0.2]]] * 3)])
    clips = [
        matting_clip("a", range(2), gt_alpha, gt_alpha, pred_fgr, gt_fgr),
        matting_clip("b", range(1), PRED_B, GT_B, pred_fgr=pred_fgr[:1]),
    ]
    metrics = run(MattingMetric(), clips)
    # Only video a scores: index 0 -> 10, index 1 -> 40; mean 25.
    assert metrics["fgr_MSE"] == pytest.approx(25.0, rel=1e-5)
    assert "fgr_MSE" not in run(MattingMetric(), clips[1:])


def test_foreground_mse_is_nan_when_no_true_alpha_is_above_zero():
    zeros = [[[0.0, 0.0]]]
    metrics = run(
        MattingMetric(),
        [matting_clip("a", [0], zeros, zeros, np.zeros((1, 3, 1, 2)), np.zeros((1, 3, 1, 2)))],
    )
    assert math.isnan(metrics["fgr_MSE"]) and metrics["MAD"] == 0.0


def test_no_clip_gives_nan():
    metrics = MattingMetric().compute_metrics([])
    assert sorted(metrics) == ["Conn", "Grad", "MAD", "MSE"]
    assert all(math.isnan(value) for value in metrics.values())


def test_registered():
    assert isinstance(METRICS.build(dict(type="MattingMetric", prefix="videomatte")), MattingMetric)


@pytest.mark.parametrize("key", ["pred_alpha", "gt_alpha", "pred_fgr", "gt_fgr"])
def test_values_outside_the_unit_range_name_the_field(key):
    fields = dict(
        pred_alpha=np.zeros((1, 1, 2)),
        gt_alpha=np.zeros((1, 1, 2)),
        pred_fgr=np.zeros((1, 3, 1, 2)),
        gt_fgr=np.zeros((1, 3, 1, 2)),
    )
    fields[key] = fields[key] + 1.25
    with pytest.raises(ValueError, match=rf"MattingMetric: video 'v': {key} must hold values in \[0, 1\]"):
        run(MattingMetric(), [matting_clip("v", [0], **fields)])


def test_mismatched_shapes_name_the_field():
    with pytest.raises(ValueError, match=r"MattingMetric: video 'v': gt_alpha \(1, 1, 1, 3\) and pred_alpha"):
        run(MattingMetric(), [matting_clip("v", [0], np.zeros((1, 1, 2)), np.zeros((1, 1, 3)))])
    with pytest.raises(ValueError, match=r"MattingMetric: video 'v': gt_fgr must be \[T >= 1, 3, H, W\]"):
        run(
            MattingMetric(),
            [matting_clip("v", [0], PRED_B, GT_B, np.zeros((1, 3, 1, 2)), np.zeros((1, 1, 1, 2)))],
        )
