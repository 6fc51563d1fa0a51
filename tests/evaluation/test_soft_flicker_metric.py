import math
import random

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.evaluation import SoftFlickerMetric
from steadyseg.registry import METRICS, MODELS
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import run, textured_video, uniform_flow
from tests.models.tiny_components import BACKBONE, HEAD

LOGIT_QUARTER = math.log(0.25 / 0.75)  # sigmoid gives 1/4; -LOGIT_QUARTER gives 3/4


def soft_clip(video_id, frame_indices, alpha=None, logits=None, flow=None):
    """A clip result with ``pred_alpha [T, 1, H, W]`` (given ``[T, H, W]``) and/or ``seg_logits``."""
    result = dict(video_id=video_id, frame_indices=list(frame_indices))
    if alpha is not None:
        result["pred_alpha"] = torch.as_tensor(np.asarray(alpha), dtype=torch.float32)[:, None]
    if logits is not None:
        result["seg_logits"] = torch.as_tensor(np.asarray(logits), dtype=torch.float32)
    if flow is not None:
        result["gt_flow"] = torch.as_tensor(np.asarray(flow), dtype=torch.float32)
    return result


def still(num_frames, shape):
    return uniform_flow(num_frames, shape, 0.0)


def alternating(num_frames=5, shape=(4, 4), values=(0.5, 0.7)):
    """A uniform map switching between two values 0.2 apart at every frame."""
    return np.stack([np.full(shape, values[t % 2]) for t in range(num_frames)])


def test_constant_map_does_not_flicker():
    alpha = np.full((3, 4, 4), 0.6)
    metrics = run(SoftFlickerMetric(), [soft_clip("v", range(3), alpha, flow=still(3, (4, 4)))])
    assert metrics == {"soft_flicker": 0.0, "soft_flicker_flow": 0.0}


def test_alternating_map_flickers_by_its_step():
    metrics = run(SoftFlickerMetric(), [soft_clip("v", range(5), alternating(), flow=still(5, (4, 4)))])
    assert metrics == pytest.approx({"soft_flicker": 0.2, "soft_flicker_flow": 0.2}, abs=1e-6)


def test_motion_explained_by_flow_is_not_flicker():
    # A soft bump [1/4, 3/4, 3/4, 1/4] moving right 2 px per frame on 2x8 frames; backward flow (-2, 0).
    bump = [0.25, 0.75, 0.75, 0.25]
    alpha = np.zeros((3, 2, 8))
    for t in range(3):
        alpha[t, :, 2 * t : 2 * t + 4] = bump
    metric = SoftFlickerMetric(flow_source="data")
    metrics = run(metric, [soft_clip("v", range(3), alpha, flow=uniform_flow(3, (2, 8), -2.0))])
    # Each pair, per row: |diff| = [1/4, 3/4, 1/2, 1/2, 3/4, 1/4, 0, 0] shifted by 2t, summing to 3 over 8.
    # With flow, columns 0-1 sample outside the frame; the other 12 pixels match the warped bump exactly.
    assert metrics == {"soft_flicker": 0.375, "soft_flicker_flow": 0.0}
    assert metric.results[0]["stats"].tolist() == [[6.0, 16.0, 0.0, 12.0]] * 2


def test_previous_map_is_warped_bilinearly():
    # Flow (+0.5, 0) on 1x3 frames: cur(x) is compared with prev(x + 0.5) = [0.5, 0.75] for x = 0, 1; x = 2
    # samples outside. Nearest neighbour (half to even) would read prev(0), prev(2) = [0, 0.5] instead.
    prev, cur = [0.0, 1.0, 0.5], [0.5, 0.5, 0.5]
    clip = soft_clip("v", [0, 1], [[prev], [cur]], flow=uniform_flow(2, (1, 3), 0.5))
    metrics = run(SoftFlickerMetric(), [clip])
    assert metrics["soft_flicker"] == pytest.approx(1 / 3)
    assert metrics["soft_flicker_flow"] == 0.125


def test_one_channel_logits_are_read_through_the_sigmoid():
    logits = alternating(values=(LOGIT_QUARTER, -LOGIT_QUARTER))[:, None]  # p = 1/4, 3/4, 1/4, ...
    metrics = run(SoftFlickerMetric(), [soft_clip("v", range(5), logits=logits, flow=still(5, (4, 4)))])
    assert metrics == pytest.approx({"soft_flicker": 0.5, "soft_flicker_flow": 0.5}, abs=1e-6)


def test_two_channel_logits_are_read_through_the_softmax():
    # MediaPipe's logits [0, logit(p)] with p = 3/4, then background-heavy ones [log 3 + 2, 2]: p = 1/4.
    first = np.stack([np.zeros((4, 4)), np.full((4, 4), -LOGIT_QUARTER)])
    second = np.stack([np.full((4, 4), math.log(3) + 2), np.full((4, 4), 2.0)])
    clip = soft_clip("v", range(3), logits=np.stack([first, second, first]), flow=still(3, (4, 4)))
    metrics = run(SoftFlickerMetric(), [clip])
    assert metrics == pytest.approx({"soft_flicker": 0.5, "soft_flicker_flow": 0.5}, abs=1e-6)


def test_person_class_picks_the_softmax_channel():
    # Softmax of [0, 0, 0] is 1/3 each; of [log 4, log 2, 0] it is (4, 2, 1) / 7: changes 5/21, 1/21, 4/21.
    logits = np.zeros((2, 3, 2, 2))
    logits[1, 0], logits[1, 1] = math.log(4), math.log(2)
    clip = soft_clip("v", [0, 1], logits=logits, flow=still(2, (2, 2)))
    for person_class, change in enumerate((5 / 21, 1 / 21, 4 / 21)):
        metrics = run(SoftFlickerMetric(person_class=person_class), [clip])
        assert metrics == pytest.approx({"soft_flicker": change, "soft_flicker_flow": change}, abs=1e-6)


def test_alpha_is_scored_before_logits():
    clip = soft_clip(
        "v", range(5), alpha=np.full((5, 4, 4), 0.3), logits=alternating()[:, None], flow=still(5, (4, 4))
    )
    assert run(SoftFlickerMetric(), [clip]) == {"soft_flicker": 0.0, "soft_flicker_flow": 0.0}


def test_mean_over_pairs_then_over_videos():
    alternate = soft_clip("alternate", range(5), alternating(), flow=still(5, (4, 4)))  # 4 pairs at 0.2
    steady = soft_clip("steady", range(3), np.full((3, 4, 4), 0.9), flow=still(3, (4, 4)))  # 2 pairs at 0
    single = soft_clip("single", [0], np.ones((1, 4, 4)), flow=np.zeros((0, 2, 4, 4)))  # no pair: left out
    metrics = run(SoftFlickerMetric(), [alternate, steady, single])
    # Per video 0.2 and 0, so 0.1; pooling the six pairs would give 0.8 / 6.
    assert metrics == pytest.approx({"soft_flicker": 0.1, "soft_flicker_flow": 0.1}, abs=1e-6)


@pytest.mark.parametrize("field", ["pred_alpha", "seg_logits"])
def test_chunked_out_of_order_equals_one_clip_with_dis_flow(field):
    rng = np.random.default_rng(0)
    frames, _ = textured_video(rng, 7)
    # A soft map that mostly follows the moving texture, plus noise that flow cannot explain.
    alpha = np.clip(frames[:, 0].numpy() / 255 + rng.normal(0, 0.05, (7, 32, 40)), 0, 1)
    maps = dict(alpha=alpha) if field == "pred_alpha" else dict(logits=np.log(alpha + 0.01)[:, None] * 3)

    def evaluate(bounds):
        clips = [
            (
                soft_clip("v", range(start, end), **{k: v[start:end] for k, v in maps.items()}),
                frames[start:end],
            )
            for start, end in zip(bounds, bounds[1:])
        ]
        random.Random(len(clips)).shuffle(clips)
        return run(SoftFlickerMetric(flow_source="dis"), [c for c, _ in clips], [f for _, f in clips])

    whole = evaluate([0, 7])
    assert evaluate([0, 3, 7]) == whole
    assert 0 < whole["soft_flicker_flow"] < whole["soft_flicker"]


def test_data_mode_without_frames_scores_the_cross_clip_pair_without_flow_only():
    alpha, flow = alternating(), still(5, (4, 4))
    chunks = [
        soft_clip("v", range(2), alpha[:2], flow=flow[:1]),
        soft_clip("v", range(2, 5), alpha[2:], flow=flow[2:]),
    ]
    metric = SoftFlickerMetric(flow_source="data")
    assert run(metric, chunks) == pytest.approx({"soft_flicker": 0.2, "soft_flicker_flow": 0.2}, abs=1e-6)
    # sum |diff|, pixels, sum |diff| with flow, pixels with flow: the pair (1, 2) has no flow.
    pairs = np.concatenate([metric.results[0]["stats"], metric.results[1]["stats"]])
    assert pairs[:, [1, 3]].tolist() == [[16, 16], [16, 16], [16, 16]]


def test_nothing_to_score_gives_nan_and_a_warning(logged_warnings):
    single = soft_clip("v", [0], np.zeros((1, 4, 4)), flow=np.zeros((0, 2, 4, 4)))
    metrics = run(SoftFlickerMetric(), [single])
    assert math.isnan(metrics["soft_flicker"]) and math.isnan(metrics["soft_flicker_flow"])
    messages = [record.getMessage() for record in logged_warnings]
    assert any(message.startswith("SoftFlickerMetric: soft_flicker is NaN") for message in messages)
    assert any("soft_flicker_flow is NaN" in message and "with flow" in message for message in messages)


def test_bad_input():
    labels_only = dict(
        video_id="v", frame_indices=[0, 1], pred_sem_seg=torch.zeros(2, 4, 4, dtype=torch.long)
    )
    with pytest.raises(
        ValueError,
        match=r"SoftFlickerMetric: video 'v': the data sample has neither 'pred_alpha' .*nor 'seg_logits'",
    ):
        run(SoftFlickerMetric(), [labels_only])
    with pytest.raises(
        ValueError, match=r"SoftFlickerMetric: video 'v': pred_alpha must hold values in \[0, 1\]"
    ):
        run(SoftFlickerMetric(), [soft_clip("v", [0, 1], np.full((2, 4, 4), 1.5), flow=still(2, (4, 4)))])
    with pytest.raises(
        ValueError, match=r"SoftFlickerMetric: video 'v': seg_logits must be \[T >= 1, C, H, W\]"
    ):
        run(SoftFlickerMetric(), [soft_clip("v", [0, 1], logits=np.zeros((2, 4, 4)))])
    two_channels = soft_clip("v", [0, 1], logits=np.zeros((2, 2, 4, 4)), flow=still(2, (4, 4)))
    with pytest.raises(ValueError, match="person_class=2, but seg_logits has 2 channels"):
        run(SoftFlickerMetric(person_class=2), [two_channels])
    with pytest.raises(ValueError, match="SoftFlickerMetric: person_class must be an int >= 0"):
        SoftFlickerMetric(person_class=-1)
    with pytest.raises(ValueError, match="SoftFlickerMetric: flow_source must be one of"):
        SoftFlickerMetric(flow_source="farneback")


def test_registered_and_reads_a_segmentation_models_predictions():
    assert isinstance(METRICS.build(dict(type="SoftFlickerMetric", person_class=0)), SoftFlickerMetric)
    init_default_scope("steadyseg")
    model = MODELS.build(
        dict(
            type="PerFrameVideoSegmentor",
            data_preprocessor=dict(type="VideoDataPreprocessor"),
            segmentor=dict(type="EncoderDecoder", backbone=dict(BACKBONE), decode_head=dict(HEAD)),
        )
    ).eval()
    meta = dict(img_shape=(64, 80), ori_shape=(48, 60), video_id="v", frame_indices=[0, 1, 2])
    with torch.no_grad():
        (sample,) = model.predict(torch.randn(1, 3, 3, 64, 80), [VideoDataSample(metainfo=meta)])
    assert sample.seg_logits.shape == (3, 2, 48, 60)
    assert torch.equal(sample.pred_sem_seg, sample.seg_logits.argmax(dim=1))
    person = sample.seg_logits.double().softmax(dim=1)[:, 1]
    expected = (person[1:] - person[:-1]).abs().mean(dim=(1, 2)).mean().item()
    record = {**sample.to_dict(), "gt_flow": torch.zeros(2, 2, 48, 60)}
    metrics = run(SoftFlickerMetric(), [record])
    assert metrics == pytest.approx({"soft_flicker": expected, "soft_flicker_flow": expected}, rel=1e-9)


def test_a_many_class_model_keeps_no_logits():
    init_default_scope("steadyseg")
    model = MODELS.build(
        dict(
            type="PerFrameVideoSegmentor",
            data_preprocessor=dict(type="VideoDataPreprocessor"),
            segmentor=dict(
                type="EncoderDecoder", backbone=dict(BACKBONE), decode_head=dict(HEAD, num_classes=3)
            ),
        )
    ).eval()
    meta = dict(img_shape=(64, 80), ori_shape=(48, 60), video_id="v", frame_indices=[0, 1])
    with torch.no_grad():
        (sample,) = model.predict(torch.randn(1, 2, 3, 64, 80), [VideoDataSample(metainfo=meta)])
    assert sample.pred_sem_seg.shape == (2, 48, 60) and "seg_logits" not in sample
