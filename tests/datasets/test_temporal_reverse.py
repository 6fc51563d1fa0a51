import numpy as np
import pytest

from steadyseg.datasets import TemporalReverse


def clip():
    return dict(
        imgs=[np.full((2, 2, 3), t, np.uint8) for t in range(3)],
        gt_seg_maps=[np.full((2, 2), t, np.uint8) for t in range(3)],
        gt_alpha=[np.full((2, 2), 10 * t, np.uint8) for t in range(3)],
        gt_instance_masks=[np.full((2, 2, 1), t == 0) for t in range(3)],
        frame_indices=[4, 5, 6],
    )


def test_reverses_frames_annotations_and_indices():
    results = TemporalReverse(prob=1.0)(clip())
    assert results["reversed"]
    assert results["frame_indices"] == [6, 5, 4]
    assert [int(img[0, 0, 0]) for img in results["imgs"]] == [2, 1, 0]
    assert [int(m[0, 0]) for m in results["gt_seg_maps"]] == [2, 1, 0]
    assert [int(a[0, 0]) for a in results["gt_alpha"]] == [20, 10, 0]
    assert [bool(m[0, 0, 0]) for m in results["gt_instance_masks"]] == [False, False, True]


def test_probability_zero_keeps_order():
    results = TemporalReverse(prob=0.0)(clip())
    assert not results["reversed"] and results["frame_indices"] == [4, 5, 6]


def test_draws_from_numpy_rng():
    np.random.seed(0)
    draws = [TemporalReverse(prob=0.5)(clip())["reversed"] for _ in range(200)]
    assert 60 < sum(draws) < 140


def test_refuses_flow_whatever_the_draw():
    with pytest.raises(ValueError, match="TemporalReverse: cannot reverse a clip with 'gt_flow'"):
        TemporalReverse(prob=0.0)(dict(clip(), gt_flow=[np.zeros((2, 2, 2), np.float32)] * 2))
