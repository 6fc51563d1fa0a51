import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from steadyseg.evaluation import ForegroundAreaMetric, undefined_reason
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import pred_clip, run


def frames_with(*counts, shape=(2, 4)):
    """Label maps ``[T, 2, 4]`` whose frame t has ``counts[t]`` person (1) pixels, the rest background."""
    pred = np.zeros((len(counts), shape[0] * shape[1]), dtype=np.int64)
    for t, count in enumerate(counts):
        pred[t, :count] = 1
    return pred.reshape(len(counts), *shape)


def test_mean_area_per_video_then_over_videos():
    # Video a: 2 and 4 of 8 pixels, 0.375; video b: 1 of 8, 0.125. Pooling its three frames would give 7/24.
    clips = [pred_clip("a", [0, 1], frames_with(2, 4)), pred_clip("b", [0], frames_with(1))]
    assert run(ForegroundAreaMetric(), clips) == {"foreground_area": 0.25}


def test_a_video_in_clips_in_any_order_is_scored_as_whole():
    whole = run(ForegroundAreaMetric(), [pred_clip("a", range(3), frames_with(2, 4, 3))])
    pieces = [pred_clip("a", [2], frames_with(3)), pred_clip("a", [0, 1], frames_with(2, 4))]
    assert whole == run(ForegroundAreaMetric(), pieces) == {"foreground_area": 0.375}


def test_only_the_foreground_labels_count():
    pred = np.array([[[0, 1, 2, 2], [3, 0, 0, 0]]])
    assert run(ForegroundAreaMetric(), [pred_clip("a", [0], pred)]) == {"foreground_area": 0.125}
    assert run(ForegroundAreaMetric(foreground_labels=(2, 3)), [pred_clip("a", [0], pred)]) == {
        "foreground_area": 0.375
    }
    with pytest.raises(ValueError, match="foreground_labels is empty"):
        ForegroundAreaMetric(foreground_labels=())


def test_through_the_evaluator_with_a_prefix_and_nothing_scored_is_nan_with_its_reason():
    sample = VideoDataSample(metainfo=dict(video_id="car-shadow", frame_indices=[0, 1]))
    sample.pred_sem_seg = torch.from_numpy(frames_with(1, 3))
    evaluator = Evaluator([ForegroundAreaMetric(prefix="person_free")])
    evaluator.process([sample])
    assert evaluator.evaluate(1) == {"person_free/foreground_area": 0.25}
    assert math.isnan(run(ForegroundAreaMetric(), [])["foreground_area"])
    assert undefined_reason("person_free/foreground_area").startswith("ForegroundAreaMetric: no video")
