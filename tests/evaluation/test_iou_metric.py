import math
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from steadyseg.evaluation import VideoIoUMetric
from steadyseg.evaluation.functional import intersect_and_union
from steadyseg.registry import METRICS
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import clip, evaluate

# Two 2x3 frames; 255 in the ground truth is ignored (the prediction 0 under it is not counted).
GT = [[[0, 0, 1], [1, 2, 255]], [[0, 0, 0], [1, 1, 1]]]
PRED = [[[0, 1, 1], [1, 1, 0]], [[0, 0, 0], [1, 1, 1]]]
# class 0: frame 0 I=1 (pixel (0,0)), U=2 (gt (0,0),(0,1)); frame 1 I=U=3          -> IoU 4/5
# class 1: frame 0 I=2 ((0,2),(1,0)), U=4 (pred adds (0,1),(1,1)); frame 1 I=U=3   -> IoU 5/7
# class 2: frame 0 I=0, U=1 (gt (1,1) predicted as 1); absent in frame 1          -> IoU 0
# class 3: in neither gt nor pred                                                  -> NaN, skipped
# aAcc: 9 correct of 11 non-ignored pixels.
EXPECTED_IOU = [4 / 5, 5 / 7, 0.0]


def test_partial_overlap_matches_hand_computed_values():
    metric = VideoIoUMetric(num_classes=4, class_names=["bg", "person", "bike", "dog"])
    metrics = evaluate(metric, [clip("v", [0, 1], GT, PRED)])
    assert metrics["IoU.bg"] == pytest.approx(EXPECTED_IOU[0])
    assert metrics["IoU.person"] == pytest.approx(EXPECTED_IOU[1])
    assert metrics["IoU.bike"] == 0.0
    assert math.isnan(metrics["IoU.dog"])
    assert metrics["mIoU"] == pytest.approx(sum(EXPECTED_IOU) / 3)
    assert metrics["aAcc"] == pytest.approx(9 / 11)


def test_perfect_prediction_scores_one():
    metrics = evaluate(
        VideoIoUMetric(num_classes=3), [clip("v", [0, 1], GT, np.where(np.equal(GT, 255), 0, GT))]
    )
    assert metrics["mIoU"] == 1.0
    assert metrics["aAcc"] == 1.0
    assert [metrics[f"IoU.{c}"] for c in "012"] == [1.0, 1.0, 1.0]


def test_prediction_under_ignored_pixels_does_not_count():
    changed = np.array(PRED)
    changed[0, 1, 2] = 2
    base = evaluate(VideoIoUMetric(num_classes=3), [clip("v", [0, 1], GT, PRED)])
    assert evaluate(VideoIoUMetric(num_classes=3), [clip("v", [0, 1], GT, changed)]) == base
    everything_ignored = evaluate(
        VideoIoUMetric(num_classes=3), [clip("v", [0], np.full((1, 2, 2), 255), np.zeros((1, 2, 2)))]
    )
    assert all(math.isnan(value) for value in everything_ignored.values())


def test_prediction_outside_the_classes_is_wrong_for_its_ground_truth_class():
    intersection, union, gt_area = intersect_and_union(np.array([[7, 1]]), np.array([[0, 1]]), num_classes=2)
    assert intersection.tolist() == [0, 1]
    assert union.tolist() == [1, 1]
    assert gt_area.tolist() == [1, 1]


def test_class_names_fall_back_to_dataset_meta():
    metric = VideoIoUMetric(num_classes=3)
    metric.dataset_meta = dict(classes=("bg", "person", "bike"))
    assert {"IoU.bg", "IoU.person", "IoU.bike"} <= set(evaluate(metric, [clip("v", [0, 1], GT, PRED)]))


def test_chunked_out_of_order_equals_one_clip():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 3, size=(9, 4, 5))
    gt[rng.random(gt.shape) < 0.1] = 255
    pred = np.where(rng.random(gt.shape) < 0.7, gt % 255, rng.integers(0, 3, size=gt.shape))
    whole = evaluate(VideoIoUMetric(num_classes=3), [clip("v", range(9), gt, pred)])
    chunks = [clip("v", range(a, b), gt[a:b], pred[a:b]) for a, b in [(0, 2), (2, 7), (7, 9)]]
    random.Random(1).shuffle(chunks)
    assert evaluate(VideoIoUMetric(num_classes=3), chunks) == whole


def test_bad_input_names_video_and_key():
    with pytest.raises(ValueError, match="video 'v'.*label 5"):
        evaluate(VideoIoUMetric(num_classes=3), [clip("v", [0], [[[5]]], [[[0]]])])
    with pytest.raises(ValueError, match="'v'.*pred_sem_seg"):
        evaluate(VideoIoUMetric(num_classes=3), [clip("v", [0], [[[0, 0]]], [[[0]]])])
    with pytest.raises(ValueError, match="frame_indices"):
        VideoIoUMetric(num_classes=3).process(None, [{"video_id": "v", "gt_sem_seg": 0, "pred_sem_seg": 0}])
    with pytest.raises(ValueError, match="clips of video 'v' overlap"):
        evaluate(
            VideoIoUMetric(num_classes=3), [clip("v", [0, 1], GT, PRED), clip("v", [1], GT[:1], PRED[:1])]
        )
    with pytest.raises(ValueError, match="class_names"):
        VideoIoUMetric(num_classes=3, class_names=["a"])


def test_runs_through_mmengine_evaluator():
    evaluator = Evaluator(METRICS.build(dict(type="VideoIoUMetric", num_classes=3, prefix="vss")))
    samples = []
    for start in (0, 1):
        sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=[start]))
        sample.gt_sem_seg = torch.tensor(GT[start : start + 1])
        sample.pred_sem_seg = torch.tensor(PRED[start : start + 1])
        samples.append(sample)
    evaluator.process(data_samples=samples)
    metrics = evaluator.evaluate(size=2)
    assert metrics["vss/mIoU"] == pytest.approx(sum(EXPECTED_IOU) / 3)
    assert metrics["vss/aAcc"] == pytest.approx(9 / 11)
