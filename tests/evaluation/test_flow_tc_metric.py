import math
import random

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from steadyseg.evaluation import FlickerMetric, FlowTCMetric
from steadyseg.registry import METRICS
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import pred_clip, run, textured_video, translating_square, uniform_flow


def test_flow_compensated_square_is_perfectly_consistent():
    pred, flow = translating_square()
    assert run(FlowTCMetric(num_classes=2), [pred_clip("v", range(6), pred, flow)]) == {"TC": 1.0}
    still = run(FlowTCMetric(num_classes=2), [pred_clip("v", range(6), pred, np.zeros_like(flow))])
    # Without motion compensation, per pair: class 1 I = 8, U = 24; class 0 I = 192 - 24, U = 176 + 8.
    assert still["TC"] == pytest.approx((8 / 24 + 168 / 184) / 2)


def test_hand_computed_tc_with_pixels_leaving_the_frame():
    # Zero flow, prev = [[0, 0], [1, 1]], cur = [[0, 1], [1, 1]]: class 0 I = 1, U = 2; class 1 I = 2, U = 3.
    a = pred_clip("a", [0, 1], [[[0, 0], [1, 1]], [[0, 1], [1, 1]]], uniform_flow(2, (2, 2), 0.0))
    # Flow (+1, 0): cur(x) is compared with prev(x + 1); the last column samples outside and is skipped.
    # prev = [0, 1, 1] -> warped [1, 1, -], cur = [1, 1, 0]: class 1 I = 2, U = 2; class 0 adds nothing.
    b = pred_clip("b", [0, 1], [[[0, 1, 1]], [[1, 1, 0]]], uniform_flow(2, (1, 3), 1.0))
    assert run(FlowTCMetric(num_classes=2), [a])["TC"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # Counts are pooled over all pairs of all videos before the IoU.
    assert run(FlowTCMetric(num_classes=2), [a, b])["TC"] == pytest.approx((1 / 2 + 4 / 5) / 2)
    # A class absent from both maps of every pair is skipped, not counted as 0.
    assert run(FlowTCMetric(num_classes=3), [b])["TC"] == 1.0


def test_data_flow_at_another_resolution_is_resized_with_its_vectors():
    pred, _ = translating_square()
    half = uniform_flow(6, (6, 8), -1.0)  # (-1, 0) at half resolution is (-2, 0) at the prediction's
    assert run(FlowTCMetric(num_classes=2), [pred_clip("v", range(6), pred, half)])["TC"] == 1.0


def test_chunked_out_of_order_equals_one_clip_with_dis_flow():
    rng = np.random.default_rng(0)
    videos = {"a": textured_video(rng, 7), "b": textured_video(rng, 5)}

    def evaluate(cuts):
        clips, inputs = [], []
        for video_id, bounds in cuts.items():
            frames, labels = videos[video_id]
            for start, end in zip(bounds, bounds[1:]):
                clips.append(pred_clip(video_id, range(start, end), labels[start:end]))
                inputs.append(frames[start:end])
        order = list(range(len(clips)))
        random.Random(len(clips)).shuffle(order)
        clips, inputs = [clips[i] for i in order], [inputs[i] for i in order]
        return {
            **run(FlowTCMetric(num_classes=3, flow_source="dis"), clips, inputs),
            **run(FlickerMetric(flow_source="auto"), clips, inputs),
        }

    whole = evaluate({"a": [0, 7], "b": [0, 5]})
    assert evaluate({"a": [0, 1, 2, 5, 7], "b": [0, 3, 4, 5]}) == whole
    assert 0.5 < whole["TC"] < 1
    assert whole["flicker_flow"] < whole["flicker"]


def test_chunks_with_data_flow_and_no_frames_skip_flow_only_across_clips():
    pred, flow = translating_square()
    chunks = [pred_clip("v", range(3, 6), pred[3:], flow[3:]), pred_clip("v", range(3), pred[:3], flow[:2])]
    assert run(FlowTCMetric(num_classes=2), chunks) == {"TC": 1.0}
    whole = run(FlickerMetric(), [pred_clip("v", range(6), pred, flow)])
    chunked = run(FlickerMetric(), chunks)
    assert chunked == whole == {"flicker": 1 / 12, "flicker_flow": 0.0}


def test_dis_flow_on_real_davis_frames(shared_data):
    """'hike' frames 0-5: DIS flow at half resolution (the model's input size), masks at full resolution."""
    root = shared_data / "davis_people"
    frames, masks = [], []
    for index in range(6):
        image = cv2.imread(str(root / f"JPEGImages/480p/hike/{index:05d}.jpg"))
        image = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (427, 240), interpolation=cv2.INTER_AREA)
        frames.append(image.transpose(2, 0, 1))
        masks.append(
            cv2.imread(str(root / f"Annotations/480p/hike/{index:05d}.png"), cv2.IMREAD_GRAYSCALE) > 0
        )
    inputs = [torch.from_numpy(np.stack(frames))]
    clips = [pred_clip("hike", range(6), np.stack(masks))]
    flicker = run(FlickerMetric(flow_source="dis"), clips, inputs)
    assert 0 < flicker["flicker_flow"] < flicker["flicker"]
    assert run(FlowTCMetric(num_classes=2, flow_source="auto"), clips, inputs)["TC"] > 0.9


def test_bad_input():
    pred, flow = translating_square()
    with pytest.raises(
        ValueError, match="FlowTCMetric: video 'v': flow_source='data' but the data sample has no 'gt_flow'"
    ):
        run(FlowTCMetric(num_classes=2, flow_source="data"), [pred_clip("v", range(6), pred)])
    with pytest.raises(
        ValueError, match=r"flow_source='auto' needs DIS flow, but data_batch\['inputs'\] has no frames"
    ):
        run(FlowTCMetric(num_classes=2), [pred_clip("v", range(6), pred)])
    with pytest.raises(
        ValueError, match=r"data_batch\['inputs'\]\[0\] must be RGB \[T, 3, h, w\] with T = 6"
    ):
        run(
            FlowTCMetric(num_classes=2, flow_source="dis"),
            [pred_clip("v", range(6), pred)],
            [torch.zeros(5, 3, 8, 8)],
        )
    with pytest.raises(ValueError, match=r"'v': gt_flow must be \[T-1, 2, H, W\] with T = 6"):
        run(FlowTCMetric(num_classes=2), [pred_clip("v", range(6), pred, flow[:3])])
    with pytest.raises(ValueError, match=r"'v': pred_sem_seg has label 1, outside \[0, 1\)"):
        run(FlowTCMetric(num_classes=1), [pred_clip("v", range(6), pred, flow)])
    with pytest.raises(ValueError, match="'v'.*not increasing"):
        run(FlowTCMetric(num_classes=2), [pred_clip("v", [1, 0], pred[:2], flow[:1])])
    with pytest.raises(ValueError, match="data sample has no 'pred_sem_seg'"):
        run(FlowTCMetric(num_classes=2), [dict(video_id="v", frame_indices=[0])])
    with pytest.raises(ValueError, match="clips of video 'v' overlap"):
        run(
            FlowTCMetric(num_classes=2),
            [pred_clip("v", range(4), pred[:4], flow[:3]), pred_clip("v", range(2, 6), pred[2:], flow[2:])],
        )
    with pytest.raises(ValueError, match="flow_source must be one of"):
        FlowTCMetric(num_classes=2, flow_source="raft")
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        FlowTCMetric(num_classes=0)


def test_no_scored_pixel_gives_nan():
    single = pred_clip("v", [0], np.zeros((1, 4, 4)), np.zeros((0, 2, 4, 4)))
    assert math.isnan(run(FlowTCMetric(num_classes=2), [single])["TC"])


def test_runs_through_mmengine_evaluator_with_frames_from_the_data_batch():
    rng = np.random.default_rng(1)
    frames, labels = textured_video(rng, 6)
    evaluator = Evaluator(
        [METRICS.build(dict(type="FlowTCMetric", num_classes=3)), METRICS.build(dict(type="FlickerMetric"))]
    )
    for start, end in [(3, 6), (0, 3)]:
        sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=list(range(start, end))))
        sample.pred_sem_seg = torch.from_numpy(labels[start:end])
        evaluator.process(
            data_samples=[sample], data_batch=dict(inputs=[frames[start:end]], data_samples=[sample])
        )
    metrics = evaluator.evaluate(size=2)
    whole = pred_clip("v", range(6), labels)
    assert metrics["TC"] == run(FlowTCMetric(num_classes=3), [whole], [frames])["TC"]
    assert metrics["flicker_flow"] == run(FlickerMetric(), [whole], [frames])["flicker_flow"]
