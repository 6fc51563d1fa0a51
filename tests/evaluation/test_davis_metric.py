import random

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from steadyseg.evaluation import DAVISMetric
from steadyseg.evaluation.functional import (
    boundary_f_measure,
    boundary_tolerance,
    mask_boundary,
    region_similarity,
)
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import clip, evaluate


def square(shift=0, size=100):
    """A 40x40 square (rows and columns 20..59) moved ``shift`` px right in a ``size``-square frame."""
    mask = np.zeros((size, size), dtype=np.int64)
    mask[20:60, 20 + shift : 60 + shift] = 1
    return mask


def test_boundary_is_drawn_like_davis_seg2bmap():
    mask = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    # Pixels differing from their right, bottom or bottom-right neighbour: the square's right column and
    # bottom row, plus the background row above and column left of it.
    expected = np.array([[1, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(mask_boundary(mask), expected)
    assert mask_boundary(np.ones((3, 3))).sum() == 0  # image borders are no boundary
    assert mask_boundary(square()).sum() == 160  # 41 + 41 outside + 40 + 40 inside - 2 shared corners


def test_tolerance_radius():
    assert boundary_tolerance((100, 100)) == 2  # ceil(0.008 * 141.4)
    assert boundary_tolerance((480, 854)) == 8  # ceil(0.008 * 979.6)


def test_shift_within_tolerance_gives_perfect_f():
    assert boundary_f_measure(square(1), square()) == 1.0
    assert boundary_f_measure(square(2), square()) == 1.0
    assert region_similarity(square(1), square()) == pytest.approx(1560 / 1640)


def test_shift_beyond_tolerance_gives_hand_computed_f():
    # Shift 3 > radius 2: the vertical edges (3 px apart) never match. Of the 160 predicted boundary pixels,
    # 84 lie within 2 px of the ground truth's: top row 40 of 41 (all but column 62), bottom row 39 of 40,
    # left column 6 of 41 (rows 19-21 and 57-59, near the gt's top and bottom rows), right column 0 of 40,
    # minus pixel (19, 22) counted in both the top row and the left column. The ground-truth side counts the
    # same way to 84 of 160 (top 40, bottom 40, right column 5, left 0, minus (59, 59) counted twice).
    assert boundary_f_measure(square(3), square()) == pytest.approx(84 / 160)
    assert region_similarity(square(3), square()) == pytest.approx(40 * 37 / (2 * 1600 - 40 * 37))


def test_tolerance_disk_reaches_straight_and_diagonal_neighbours_only_within_radius():
    def dot(row, col):
        mask = np.zeros((100, 100), dtype=np.int64)
        mask[row, col] = 1
        return mask

    # A single foreground pixel at (r, c) has the 2x2 boundary block rows r-1..r, cols c-1..c, so two dots
    # offset by (dr, dc) have boundary pixels as close as (dr - 1, dc - 1). Radius 2 reaches offset (0, 2):
    # 2 of 4 pixels match each way; offset (1, 1): 1 of 4; offset (1, 2) (distance sqrt 5 > 2): none.
    assert boundary_f_measure(dot(50, 53), dot(50, 50)) == pytest.approx(0.5)
    assert boundary_f_measure(dot(52, 52), dot(50, 50)) == pytest.approx(0.25)
    assert boundary_f_measure(dot(52, 53), dot(50, 50)) == 0.0


def test_empty_masks():
    empty = np.zeros((4, 4), dtype=np.int64)
    assert region_similarity(empty, empty) == 1.0
    assert boundary_f_measure(empty, empty) == 1.0
    assert region_similarity(empty, square(size=100)[18:22, 18:22]) == 0.0
    assert boundary_f_measure(empty, square(size=100)[18:22, 18:22]) == 0.0


def test_metric_means_per_video_then_over_videos():
    metric = DAVISMetric()
    empty = np.zeros((100, 100), dtype=np.int64)
    metrics = evaluate(
        metric,
        [
            clip("a", [0], [square()], [square()]),
            clip("b", [0, 1, 2], [square(), square(), square()], [square(), square(3), empty]),
        ],
    )
    # Video b: J = (1, 1480/1720, 0), F = (1, 0.525, 0); two of its three frames are above 0.5.
    j_b, f_b = (1 + 1480 / 1720) / 3, (1 + 0.525) / 3
    assert metric.per_video["b"]["J"] == pytest.approx(j_b)
    assert metric.per_video["b"]["F"] == pytest.approx(f_b)
    assert metric.per_video["b"]["J_recall"] == pytest.approx(2 / 3)
    assert metric.per_video["b"]["num_frames"] == 3
    assert metrics["J"] == pytest.approx((1 + j_b) / 2)
    assert metrics["F"] == pytest.approx((1 + f_b) / 2)
    assert metrics["J&F"] == pytest.approx((metrics["J"] + metrics["F"]) / 2)
    assert metrics["J_recall"] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics["F_recall"] == pytest.approx((1 + 2 / 3) / 2)


def test_foreground_labels_and_void():
    gt = np.array([[[0, 1, 2, 255]]])
    # Labels 1 and 2 are both foreground; the prediction's foreground on the void pixel is not counted.
    pred = np.array([[[0, 2, 1, 1]]])
    assert evaluate(DAVISMetric(foreground_labels=(1, 2)), [clip("v", [0], gt, pred)])["J"] == 1.0
    assert evaluate(DAVISMetric(foreground_labels=(1,)), [clip("v", [0], gt, pred)])["J"] == 0.0
    assert evaluate(DAVISMetric(foreground_labels=(1, 2), ignore_index=None), [clip("v", [0], gt, pred)])[
        "J"
    ] == pytest.approx(2 / 3)


def test_chunked_out_of_order_equals_one_clip():
    frames = [square(shift) for shift in (0, 1, 3, 5, 8, 0, 2)]
    gt = np.stack([square()] * len(frames))
    whole_metric = DAVISMetric()
    whole = evaluate(whole_metric, [clip("v", range(7), gt, frames), clip("w", [0], gt[:1], gt[:1])])
    chunks = [clip("v", range(a, b), gt[a:b], frames[a:b]) for a, b in [(0, 3), (3, 4), (4, 7)]]
    chunks.append(clip("w", [0], gt[:1], gt[:1]))
    random.Random(0).shuffle(chunks)
    chunked_metric = DAVISMetric()
    assert evaluate(chunked_metric, chunks) == whole
    assert chunked_metric.per_video == whole_metric.per_video


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="ignore_index=255 is also in foreground_labels"):
        DAVISMetric(foreground_labels=(255,))
    with pytest.raises(ValueError, match="bound_th"):
        DAVISMetric(bound_th=2)


def test_runs_through_mmengine_evaluator():
    evaluator = Evaluator(DAVISMetric())
    sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=[0, 1]))
    sample.gt_sem_seg = torch.from_numpy(np.stack([square(), square()]))
    sample.pred_sem_seg = torch.from_numpy(np.stack([square(), square(3)]))
    evaluator.process(data_samples=[sample])
    metrics = evaluator.evaluate(size=1)
    assert metrics["J"] == pytest.approx((1 + 1480 / 1720) / 2)
    assert metrics["F"] == pytest.approx((1 + 0.525) / 2)


def test_real_davis_annotation(shared_data):
    folder = shared_data / "davis_people" / "Annotations" / "480p" / "hike"
    gt = np.stack([cv2.imread(str(folder / f"{i:05d}.png"), cv2.IMREAD_GRAYSCALE) > 127 for i in (0, 1)])
    gt = gt.astype(np.int64)
    shifted = np.zeros_like(gt)
    shifted[:, :, 20:] = gt[:, :, :-20]
    metrics = evaluate(DAVISMetric(), [clip("hike", [0, 1], gt, gt)])
    assert metrics["J"] == metrics["F"] == 1.0
    metrics = evaluate(DAVISMetric(), [clip("hike", [0, 1], gt, shifted)])
    assert 0 < metrics["J"] < 1
    assert 0 < metrics["F"] < 1
