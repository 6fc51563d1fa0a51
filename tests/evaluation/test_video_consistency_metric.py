import math
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from steadyseg.evaluation import VideoConsistencyMetric
from steadyseg.evaluation.functional import video_consistency
from steadyseg.registry import METRICS
from steadyseg.structures import VideoDataSample
from tests.evaluation.helpers import clip, evaluate


def hand_made_video():
    """10 frames of 2x2 whose two scored 8-frame windows (starts 0 and 1) have accuracies 3/4 and 2/3."""
    gt = np.zeros((10, 2, 2), dtype=np.int64)
    pred = np.zeros((10, 2, 2), dtype=np.int64)
    gt[8:, 0, 0] = 1  # window 1 (frames 1..8): G loses pixel (0,0), |G| = 3
    pred[3, 1, 1] = 1  # both windows: P loses pixel (1,1)
    # Frame 9 is only in window 2 (frames 2..9), which VSPW never scores: if it were, its G = 3 pixels and
    # P also loses (0,1), giving 1/3 and a different mean.
    pred[9, 0, 1] = 2
    return gt, pred


# window 0: G = 4 pixels, G and P = 3 -> 3/4; window 1: G = 3, G and P = {(0,1), (1,0)} -> 2/3.
HAND_MADE_VC8 = (3 / 4 + 2 / 3) / 2


def test_hand_made_windows():
    gt, pred = hand_made_video()
    np.testing.assert_allclose(video_consistency(gt, pred, 8), [3 / 4, 2 / 3])
    metrics = evaluate(VideoConsistencyMetric(clip_nums=(8,)), [clip("v", range(10), gt, pred)])
    assert metrics["VC8"] == pytest.approx(HAND_MADE_VC8)
    assert metrics["mVC"] == metrics["VC8"]


def test_windows_are_pooled_over_videos_not_averaged_per_video():
    gt, pred = hand_made_video()
    constant = np.zeros((9, 2, 2), dtype=np.int64)  # 9 frames: one window, accuracy 1
    metrics = evaluate(
        VideoConsistencyMetric(clip_nums=(8,)),
        [clip("a", range(10), gt, pred), clip("b", range(9), constant, constant)],
    )
    assert metrics["VC8"] == pytest.approx((3 / 4 + 2 / 3 + 1) / 3)


def test_windows_without_stable_ground_truth_are_skipped():
    gt, pred = hand_made_video()
    flicker = np.arange(9 * 4).reshape(9, 2, 2)  # every pixel changes every frame: G is empty
    metrics = evaluate(
        VideoConsistencyMetric(clip_nums=(8,)),
        [clip("a", range(10), gt, pred), clip("b", range(9), flicker, gt[:9])],
    )
    assert metrics["VC8"] == pytest.approx(HAND_MADE_VC8)


def test_videos_not_longer_than_n_give_nan_and_a_warning(logged_warnings):
    gt, pred = hand_made_video()
    metrics = evaluate(VideoConsistencyMetric(clip_nums=(8, 16)), [clip("v", range(10), gt, pred)])
    assert metrics["VC8"] == pytest.approx(HAND_MADE_VC8)
    assert math.isnan(metrics["VC16"])
    assert math.isnan(metrics["mVC"])
    assert any("VC16 is NaN" in record.getMessage() for record in logged_warnings)
    exactly_n = evaluate(VideoConsistencyMetric(clip_nums=(8,)), [clip("v", range(8), gt[:8], pred[:8])])
    assert math.isnan(exactly_n["VC8"])


def random_video(rng, num_frames, shape=(5, 6)):
    """Labels that mostly persist from frame to frame, so windows have stable pixels to score."""
    gt = np.empty((num_frames, *shape), dtype=np.int64)
    gt[0] = rng.integers(0, 3, size=shape)
    for t in range(1, num_frames):
        gt[t] = np.where(rng.random(shape) < 0.03, rng.integers(0, 3, size=shape), gt[t - 1])
    pred = np.where(rng.random(gt.shape) < 0.05, 255, gt)
    return gt, pred


def test_chunked_out_of_order_is_bit_identical_to_one_clip():
    rng = np.random.default_rng(0)
    videos = {"a": random_video(rng, 45), "b": random_video(rng, 20)}
    whole = evaluate(
        VideoConsistencyMetric(clip_nums=(3, 8)),
        [clip(v, range(len(g)), g, p) for v, (g, p) in videos.items()],
    )
    # Chunks shorter than n make windows span three or more clips; chunks longer than 2 * (8 - 1) keep only
    # their edge frames.
    cuts = {"a": [0, 16, 18, 20, 21, 30, 45], "b": [0, 2, 4, 6, 20]}
    chunks = [
        clip(video_id, range(start, end), videos[video_id][0][start:end], videos[video_id][1][start:end])
        for video_id, bounds in cuts.items()
        for start, end in zip(bounds, bounds[1:])
    ]
    random.Random(3).shuffle(chunks)
    assert evaluate(VideoConsistencyMetric(clip_nums=(3, 8)), chunks) == whole
    pooled = np.concatenate([video_consistency(g, p, 8) for g, p in videos.values()])
    assert whole["VC8"] == pytest.approx(np.nanmean(pooled))


def test_clip_keeps_only_its_edge_frames_in_a_small_dtype():
    gt, pred = random_video(np.random.default_rng(1), 40)
    metric = VideoConsistencyMetric(clip_nums=(3, 8))
    metric.process(None, [clip("v", range(40), gt, pred)])
    (result,) = metric.results
    assert result["kept_positions"] == [*range(7), *range(33, 40)]
    assert result["kept_gt"].shape == (14, 5, 6)
    assert result["kept_gt"].dtype == np.uint8
    assert len(result["inner_acc"][8]) == 32


def test_bad_input():
    gt, pred = hand_made_video()
    with pytest.raises(ValueError, match="clips of video 'v' overlap: frames 0..4 and 3..9"):
        evaluate(
            VideoConsistencyMetric(),
            [clip("v", range(5), gt[:5], pred[:5]), clip("v", range(3, 10), gt[3:], pred[3:])],
        )
    with pytest.raises(ValueError, match="'v'.*not increasing"):
        evaluate(VideoConsistencyMetric(), [clip("v", [1, 0], gt[:2], pred[:2])])
    with pytest.raises(ValueError, match="clip_nums"):
        VideoConsistencyMetric(clip_nums=(1,))


def test_runs_through_mmengine_evaluator():
    gt, pred = hand_made_video()
    evaluator = Evaluator(METRICS.build(dict(type="VideoConsistencyMetric", clip_nums=(8,))))
    samples = []
    for start, end in [(5, 10), (0, 5)]:
        sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=list(range(start, end))))
        sample.gt_sem_seg = torch.from_numpy(gt[start:end])
        sample.pred_sem_seg = torch.from_numpy(pred[start:end])
        samples.append(sample)
    evaluator.process(data_samples=samples)
    assert evaluator.evaluate(size=2)["VC8"] == pytest.approx(HAND_MADE_VC8)


def vspw_void_video():
    """10 frames of 2x2 VSPW masks as stored (class k as k + 1; 0 and 255 are two void labels) and the
    ``gt_sem_seg`` that reading them for training gives (k + 1 -> k, both voids -> 255)."""
    raw = np.empty((10, 2, 2), dtype=np.int64)
    raw[:] = [[0, 3], [5, 7]]
    raw[5:, 0, 0] = 255  # void "others" (0) turns into void 255 at frame 5
    merged = np.where((raw == 0) | (raw == 255), 255, raw - 1)
    pred = np.empty((10, 2, 2), dtype=np.int64)
    pred[:] = [[9, 2], [4, 6]]
    pred[5:, 0, 0] = 8  # the prediction changes where the ground truth does
    pred[3, 1, 1] = 1  # and flickers at (1, 1)
    return raw, merged, pred


def test_void_labels_0_and_255_are_different_labels():
    raw, merged, pred = vspw_void_video()
    sample = dict(clip("v", range(10), merged, pred), gt_sem_seg_raw=torch.from_numpy(raw))
    # VSPW's reference: (0, 0) changes from 0 to 255, so it is not in G of either window (starts 0 and 1):
    # G = {(0,1), (1,0), (1,1)}, P loses (1,1) and (0,0): acc = 2/3 in both windows.
    raw_vc = evaluate(VideoConsistencyMetric(clip_nums=(8,), gt_key="gt_sem_seg_raw"), [sample])
    assert raw_vc["VC8"] == pytest.approx(2 / 3)
    # The merged labels make (0, 0) look stable: G = 4 pixels, G and P = 2, so 1/2.
    assert evaluate(VideoConsistencyMetric(clip_nums=(8,)), [sample])["VC8"] == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="VideoConsistencyMetric: data sample has no 'gt_sem_seg_raw'"):
        evaluate(VideoConsistencyMetric(gt_key="gt_sem_seg_raw"), [clip("v", range(10), merged, pred)])
    with pytest.raises(ValueError, match=r"gt_key must be one of \['gt_sem_seg', 'gt_sem_seg_raw'\]"):
        VideoConsistencyMetric(gt_key="pred_sem_seg")


def test_raw_labels_reach_the_metric_through_a_data_sample():
    raw, merged, pred = vspw_void_video()
    evaluator = Evaluator(
        METRICS.build(dict(type="VideoConsistencyMetric", clip_nums=(8,), gt_key="gt_sem_seg_raw"))
    )
    for start, end in [(4, 10), (0, 4)]:
        sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=list(range(start, end))))
        sample.gt_sem_seg = torch.from_numpy(merged[start:end])
        sample.gt_sem_seg_raw = torch.from_numpy(raw[start:end])
        sample.pred_sem_seg = torch.from_numpy(pred[start:end])
        evaluator.process(data_samples=[sample])
    assert evaluator.evaluate(size=2)["VC8"] == pytest.approx(2 / 3)
