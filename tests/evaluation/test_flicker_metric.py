import math

import numpy as np
import pytest

from steadyseg.evaluation import FlickerMetric
from tests.evaluation.helpers import pred_clip, run, translating_square, uniform_flow


def blinking(num_frames=5, shape=(4, 4)):
    """A 2x2 block on in even frames and off in odd ones: every pair flips 4 of 16 pixels."""
    pred = np.zeros((num_frames, *shape), dtype=np.int64)
    pred[::2, :2, :2] = 1
    return pred


def test_motion_explained_by_flow_is_not_flicker():
    pred, flow = translating_square()
    metrics = run(FlickerMetric(), [pred_clip("v", range(6), pred, flow)])
    assert metrics == {"flicker": 16 / 192, "flicker_flow": 0.0}


def test_blinking_block_flickers_on_its_pixel_fraction():
    pred = blinking()
    metrics = run(FlickerMetric(), [pred_clip("v", range(5), pred, uniform_flow(5, (4, 4), 0.0))])
    assert metrics == {"flicker": 0.25, "flicker_flow": 0.25}


def test_flow_compensation_counts_only_pixels_whose_flow_stays_inside():
    # Flow (+1, 0) on 1x4 frames: cur(x) is compared with prev(x + 1) for x = 0..2 only.
    prev, cur = [0, 1, 1, 0], [1, 1, 0, 1]  # warped prev = [1, 1, 0, -]: no change on 3 valid pixels
    metrics = run(FlickerMetric(), [pred_clip("v", [0, 1], [[prev], [cur]], uniform_flow(2, (1, 4), 1.0))])
    assert metrics == {"flicker": 3 / 4, "flicker_flow": 0.0}


def test_mean_over_pairs_then_over_videos():
    blink = pred_clip("blink", range(5), blinking(), uniform_flow(5, (4, 4), 0.0))  # 4 pairs at 0.25
    still = pred_clip("still", range(3), np.zeros((3, 4, 4)), uniform_flow(3, (4, 4), 0.0))  # 2 pairs at 0
    single = pred_clip("single", [0], np.ones((1, 4, 4)), np.zeros((0, 2, 4, 4)))  # no pair: left out
    metrics = run(FlickerMetric(), [blink, still, single])
    # Per video 0.25 and 0, so 0.125; pooling the six pairs would give 1/6.
    assert metrics == {"flicker": 0.125, "flicker_flow": 0.125}


def test_data_mode_without_frames_scores_the_cross_clip_pair_without_flow_only():
    pred = blinking()
    flow = uniform_flow(5, (4, 4), 0.0)
    chunks = [pred_clip("v", range(2), pred[:2], flow[:1]), pred_clip("v", range(2, 5), pred[2:], flow[2:])]
    metrics = run(FlickerMetric(flow_source="data"), chunks)
    assert metrics == {"flicker": 0.25, "flicker_flow": 0.25}
    stats = FlickerMetric(flow_source="data")
    stats.process(None, chunks[:1])
    # changed, all, changed after warping, valid after warping
    assert stats.results[0]["stats"].tolist() == [[4, 16, 4, 16]]


def test_nothing_to_score_gives_nan_and_a_warning(logged_warnings):
    single = pred_clip("v", [0], np.zeros((1, 4, 4)), np.zeros((0, 2, 4, 4)))
    metrics = run(FlickerMetric(), [single])
    assert math.isnan(metrics["flicker"]) and math.isnan(metrics["flicker_flow"])
    messages = [record.getMessage() for record in logged_warnings]
    assert any("flicker_flow is NaN" in message and "with flow" in message for message in messages)


def test_bad_input():
    with pytest.raises(ValueError, match=r"FlickerMetric: video 'v': pred_sem_seg must be integer labels"):
        run(
            FlickerMetric(),
            [dict(video_id="v", frame_indices=[0, 1], pred_sem_seg=np.zeros((2, 4), np.int64))],
        )
    with pytest.raises(ValueError, match=r"FlickerMetric: video 'v': pred_sem_seg must be integer labels"):
        run(FlickerMetric(), [dict(video_id="v", frame_indices=[0, 1], pred_sem_seg=np.zeros((2, 4, 4)))])
    with pytest.raises(
        ValueError, match=r"flow_source='dis' needs DIS flow, but data_batch\['inputs'\] has no frames"
    ):
        run(FlickerMetric(flow_source="dis"), [pred_clip("v", range(2), np.zeros((2, 4, 4)))])
    with pytest.raises(ValueError, match="FlickerMetric: flow_source must be one of"):
        FlickerMetric(flow_source="farneback")
