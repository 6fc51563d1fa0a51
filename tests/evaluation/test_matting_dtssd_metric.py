import math

import numpy as np
import pytest
import torch

from steadyseg.evaluation import DtSSDMetric, FramePairMetric
from steadyseg.registry import METRICS
from tests.evaluation.helpers import run


def alpha_clip(video_id, frame_indices, pred, gt):
    """A clip result as mmengine's Evaluator hands it to a metric: alpha ``[T, 1, H, W]`` given as ``[T, H, W]``."""
    return dict(
        video_id=video_id,
        frame_indices=list(frame_indices),
        pred_alpha=torch.tensor(np.asarray(pred), dtype=torch.float32).unsqueeze(1),
        gt_alpha=torch.tensor(np.asarray(gt), dtype=torch.float32).unsqueeze(1),
    )


# Frames of 1 x 2 pixels; the truth stays still. Video a: the prediction rises by 0.5 at both pixels (dtSSD
# sqrt((0.25 + 0.25) / 2) x 1e2 = 50), then by 0.2 at both (20). Video b: it rises by 0.1 at both (10).
GT_A = [[[0.5, 0.5]]] * 3
PRED_A = [[[0.1, 0.2]], [[0.6, 0.7]], [[0.8, 0.9]]]
GT_B = [[[1.0, 0.0]]] * 2
PRED_B = [[[0.5, 0.5]], [[0.6, 0.6]]]


def test_first_frames_count_as_zero_and_indices_are_averaged():
    metrics = run(
        DtSSDMetric(), [alpha_clip("a", range(3), PRED_A, GT_A), alpha_clip("b", range(2), PRED_B, GT_B)]
    )
    # Per frame: a 0, 50, 20; b 0, 10. Index 0: 0; index 1: (50 + 10) / 2 = 30; index 2: 20. (0 + 30 + 20) / 3
    # = 16.667 (a mean per video, (23.333 + 5) / 2 = 14.167, or over all frames, 80 / 5 = 16, would differ).
    assert metrics == {"dtSSD": pytest.approx(50 / 3, rel=1e-6)}


def test_a_prediction_that_changes_as_the_truth_does_scores_zero():
    gt = [[[0.0, 0.2]], [[0.4, 0.2]], [[0.4, 0.9]]]
    pred = np.asarray(gt) + 0.05  # off by 0.05 everywhere, but coherent
    assert run(DtSSDMetric(), [alpha_clip("a", range(3), pred, gt)]) == {
        "dtSSD": pytest.approx(0.0, abs=1e-4)
    }
    assert run(DtSSDMetric(), [alpha_clip("a", [0], pred[:1], gt[:1])]) == {"dtSSD": 0.0}


@pytest.mark.parametrize("cuts", [[(3, 7), (0, 3)], [(4, 7), (0, 3), (3, 4)]])
def test_a_video_cut_into_clips_scores_as_the_whole_video(cuts):
    rng = np.random.default_rng(0)
    pred, gt = rng.random((7, 5, 6)), rng.random((7, 5, 6))
    whole = run(DtSSDMetric(), [alpha_clip("v", range(7), pred, gt)])
    # Clips out of order; each pair that straddles two clips is scored from the frames they kept.
    clips = [alpha_clip("v", range(start, end), pred[start:end], gt[start:end]) for start, end in cuts]
    assert run(DtSSDMetric(), clips) == whole
    assert whole["dtSSD"] > 0


def test_is_a_pair_metric_and_registered():
    assert issubclass(DtSSDMetric, FramePairMetric)
    assert isinstance(METRICS.build(dict(type="DtSSDMetric")), DtSSDMetric)
    assert math.isnan(DtSSDMetric().compute_metrics([])["dtSSD"])


@pytest.mark.parametrize("key", ["pred_alpha", "gt_alpha"])
def test_values_outside_the_unit_range_name_the_field(key):
    fields = dict(pred=np.zeros((2, 1, 2)), gt=np.zeros((2, 1, 2)))
    fields[key.split("_")[0]][1, 0, 1] = math.nan
    with pytest.raises(ValueError, match=rf"DtSSDMetric: video 'v': {key} must hold values in \[0, 1\]"):
        run(DtSSDMetric(), [alpha_clip("v", range(2), **fields)])


def test_mismatched_shapes_name_the_field():
    with pytest.raises(
        ValueError, match=r"DtSSDMetric: video 'v': gt_alpha must be \[T >= 1, 1, H, W\] with T = 2"
    ):
        run(DtSSDMetric(), [alpha_clip("v", range(2), np.zeros((2, 1, 2)), np.zeros((3, 1, 2)))])
