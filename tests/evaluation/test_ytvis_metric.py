import json
import math
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from PIL import Image

from steadyseg.evaluation import YouTubeVISMetric
from steadyseg.evaluation.vis_functional import (
    SUMMARY_KEYS,
    encode_tube,
    evaluate_ytvis,
    mean_area,
    tube_iou,
)
from steadyseg.registry import METRICS
from steadyseg.rle import decode_rle
from steadyseg.structures import VideoDataSample


def box(shape, rows, cols):
    mask = np.zeros(shape, dtype=bool)
    mask[rows[0] : rows[1], cols[0] : cols[1]] = True
    return mask


def first_pixels(mask, count):
    """``mask`` keeping only its first ``count`` pixels in row-major order."""
    kept = np.zeros_like(mask)
    kept.flat[np.flatnonzero(mask)[:count]] = True
    return kept


def tubes(masks, track_ids, labels=None, scores=None):
    """Tubes as a model or dataset puts them in a data sample: masks ``[N, T, H, W]``."""
    masks = torch.as_tensor(np.asarray(masks, dtype=bool))
    instances = InstanceData(
        masks=masks,
        track_ids=torch.as_tensor(track_ids, dtype=torch.long),
        labels=torch.as_tensor([1] * len(masks) if labels is None else labels, dtype=torch.long),
    )
    if scores is not None:
        instances.scores = torch.as_tensor(scores, dtype=torch.float64)
    return instances


def sample(video_id, frame_indices, gt, pred, **metainfo):
    data_sample = VideoDataSample(
        metainfo=dict(video_id=video_id, frame_indices=list(frame_indices), **metainfo)
    )
    data_sample.gt_instances = gt
    data_sample.pred_instances = pred
    return data_sample


def evaluate(metric, samples):
    metric.process(None, [s.to_dict() for s in samples])
    return metric.compute_metrics(metric.results)


def test_tube_iou_sums_over_frames_and_counts_a_lone_mask_in_the_union():
    shape = (8, 8)
    empty = np.zeros(shape, dtype=bool)
    gt = encode_tube(np.stack([box(shape, (0, 4), (0, 4)), box(shape, (4, 8), (4, 8)), empty]))
    pred = encode_tube(np.stack([box(shape, (0, 4), (1, 5)), empty, box(shape, (0, 2), (0, 4))]))
    assert gt[2] is None and pred[1] is None
    # Frame 0: the 4x4 squares overlap in 12 px, union 20. Frame 1 has only the gt mask: its 16 px join the
    # union. Frame 2 has only the prediction: 8 more. Tube IoU 12 / 44; the mean of per-frame IoUs would
    # be (0.6 + 0 + 0) / 3 and one over frames with both masks 0.6.
    assert tube_iou([pred], [gt])[0, 0] == pytest.approx(12 / 44)
    # Every pair at once: [D, G].
    other = encode_tube(np.stack([empty, box(shape, (4, 8), (4, 6)), empty]))
    np.testing.assert_allclose(
        tube_iou([pred, other, gt], [gt, other]), [[12 / 44, 0], [8 / 32, 1], [1, 8 / 32]]
    )
    assert tube_iou([[None, None, None]], [gt])[0, 0] == 0
    assert tube_iou([], [gt]).shape == (0, 1)


def test_tube_iou_refuses_tracks_of_different_lengths_or_sizes():
    one = encode_tube(np.ones((1, 4, 4), dtype=bool))
    with pytest.raises(ValueError, match=r"different numbers of frames \[1, 2\]"):
        tube_iou([one], [one + one])
    with pytest.raises(ValueError, match=r"frame 0 differ in size"):
        tube_iou([one], [encode_tube(np.ones((1, 4, 5), dtype=bool))])


def test_ap_of_one_person_behind_a_higher_scored_miss():
    # One gt tube over 2 frames (a 5x10 box in each, 100 px). Prediction "miss" (score 0.9) lies elsewhere
    # (IoU 0); "hit" (score 0.8) keeps 35 of the 50 gt pixels of each frame: IoU 70 / 100 = 0.7, which
    # reaches the thresholds 0.50, 0.55, 0.60, 0.65, 0.70 (COCOeval matches IoU >= t) and none above.
    # At those 5 thresholds the detections in score order are FP, TP: recall [0, 1], precision [0, 1/2],
    # which COCO makes non-increasing from the right: [1/2, 1/2]. Each of the 101 recall points r takes the
    # precision of the first detection with recall >= r: r = 0 the first (1/2), r > 0 the second (1/2);
    # so AP = 1/2 there. At the 5 higher thresholds both are FP: recall stays 0, and r = 0 takes the first
    # detection's precision 0; AP = 0. AP = (5 * 1/2 + 5 * 0) / 10 = 0.25, AP50 = 0.5, AP75 = 0.
    # Recall with up to 100 (or 10) detections per video: 1 at 5 thresholds, 0 at 5: AR100 = AR10 = 0.5.
    # With 1 detection only the miss is kept: AR1 = 0.
    shape = (12, 12)
    gt_mask = box(shape, (0, 5), (0, 10))
    hit = first_pixels(gt_mask, 35)
    miss = box(shape, (8, 12), (0, 12))
    metrics = evaluate(
        YouTubeVISMetric(),
        [
            sample(
                "v",
                [0, 1],
                tubes([[gt_mask, gt_mask]], [1]),
                tubes([[miss, miss], [hit, hit]], [1, 2], scores=[0.9, 0.8]),
            )
        ],
    )
    assert list(metrics) == list(SUMMARY_KEYS)
    assert metrics["AP"] == pytest.approx(0.25)
    assert metrics["AP50"] == pytest.approx(0.5)
    assert metrics["AP75"] == 0
    assert metrics["AR1"] == 0
    assert metrics["AR10"] == metrics["AR100"] == pytest.approx(0.5)
    # 50 px tracks are small; nothing is medium or large, where COCOeval's -1 becomes NaN.
    assert metrics["APs"] == pytest.approx(0.25) and metrics["ARs"] == pytest.approx(0.5)
    assert all(math.isnan(metrics[key]) for key in ("APm", "APl", "ARm", "ARl"))


def test_ap_of_two_people_worked_by_hand():
    # One frame of 20x20. gt A and B are 10x10 squares (100 px). p1 (score 0.9) covers 92 px of A (IoU
    # 0.92), p2 (0.8) misses, p3 (0.7) covers 62 px of B (IoU 0.62).
    # t in {0.50, 0.55, 0.60}: TP, FP, TP: recall [1/2, 1/2, 1], precision [1, 1/2, 2/3] -> [1, 2/3, 2/3];
    #   the 51 recall points r <= 0.5 get 1, the 50 above get 2/3: AP_t = (51 + 100/3) / 101 = 253 / 303.
    # t in {0.65, ..., 0.90} (6): TP, FP, FP: recall [1/2, 1/2, 1/2]: 51 points get 1: AP_t = 51 / 101.
    # t = 0.95: nothing matches: 0.
    # AP = (3 * 253/303 + 6 * 51/101) / 10 = 559 / 1010. Recall: 1 at 3 thresholds, 1/2 at 6: AR = 0.6;
    # with 1 detection (p1 only) 1/2 at 9 thresholds: AR1 = 0.45.
    shape = (20, 20)
    gt_a, gt_b = box(shape, (0, 10), (0, 10)), box(shape, (10, 20), (10, 20))
    gt = {"v": [dict(segmentations=encode_tube(m[None]), category_id=1) for m in (gt_a, gt_b)]}
    pred_masks = [first_pixels(gt_a, 92), box(shape, (0, 3), (12, 20)), first_pixels(gt_b, 62)]
    pred = {
        "v": [
            dict(segmentations=encode_tube(m[None]), category_id=1, score=s)
            for m, s in zip(pred_masks, (0.9, 0.8, 0.7))
        ]
    }
    metrics = evaluate_ytvis(gt, pred)
    assert metrics["AP"] == pytest.approx(559 / 1010)
    assert metrics["AP50"] == pytest.approx(253 / 303)
    assert metrics["AP75"] == pytest.approx(51 / 101)
    assert metrics["AR1"] == pytest.approx(0.45)
    assert metrics["AR10"] == metrics["AR100"] == pytest.approx(0.6)
    # A video without people whose false alarm outscores everything: FP first at every threshold.
    # t = 0.50..0.60: FP TP FP TP: recall [0, 1/2, 1/2, 1], precision [0, 1/2, 1/3, 1/2] -> all 1/2: AP_t = 1/2.
    # t = 0.65..0.90: FP TP FP FP: precision 1/2 for the 51 points r <= 0.5: AP_t = 25.5 / 101.
    # AP = (3 * 1/2 + 6 * 25.5/101) / 10 = 304.5 / 1010; recall is unchanged.
    alarm = dict(segmentations=encode_tube(gt_a[None]), category_id=1, score=0.95)
    with_alarm = evaluate_ytvis({**gt, "w": []}, {**pred, "w": [alarm]})
    assert with_alarm["AP"] == pytest.approx(304.5 / 1010)
    assert with_alarm["AR100"] == pytest.approx(0.6)
    # Predictions of a category without ground truth, and categories not asked for, are left out.
    pred["v"].append(dict(segmentations=encode_tube(gt_a[None]), category_id=2, score=1.0))
    assert evaluate_ytvis(gt, pred)["AP"] == pytest.approx(559 / 1010)
    assert math.isnan(evaluate_ytvis(gt, pred, category_ids=[3])["AP"])
    with pytest.raises(ValueError, match="videos without ground truth: \\['w'\\]"):
        evaluate_ytvis(gt, {"w": []})


def test_size_ranges_use_the_mean_area_over_the_frames_a_track_is_annotated_in():
    shape = (136, 136)
    empty = np.zeros(shape, dtype=bool)
    square_128 = box(shape, (0, 128), (0, 128))  # 16384 px = 128^2
    just_under = first_pixels(square_128, 128**2 - 1)
    # Video "small": 16384 and 16383 px, mean 16383.5 < 128^2: small only (the ranges include their ends).
    # Video "medium": 130 x 130 = 16900 px in its only annotated frame: medium, though a mean over both
    # frames (8450) would make it small. Only the small one is predicted.
    small_track, medium_track = (
        np.stack([square_128, just_under]),
        np.stack([box(shape, (0, 130), (0, 130)), empty]),
    )
    assert mean_area(encode_tube(small_track)) == 16383.5
    assert mean_area(encode_tube(medium_track)) == 16900
    metrics = evaluate(
        YouTubeVISMetric(),
        [
            sample("small", [0, 1], tubes([small_track], [1]), tubes([small_track], [1], scores=[0.9])),
            sample(
                "medium", [0, 1], tubes([medium_track], [1]), tubes(np.zeros((0, 2, *shape)), [], scores=[])
            ),
        ],
    )
    # pycocotools divides by tp + fp + eps: a perfect AP is 1 - 2e-16.
    assert metrics["ARs"] == 1 and metrics["APs"] == pytest.approx(1)
    assert metrics["ARm"] == 0 and metrics["APm"] == 0
    assert math.isnan(metrics["ARl"]) and math.isnan(metrics["APl"])
    assert metrics["AR100"] == pytest.approx(0.5)


def test_recall_at_1_10_and_100_detections():
    # 11 people, each found exactly: a video's best-scored detection finds 1 of 11, its best 10 find 10.
    shape = (4, 11)
    people = np.stack([box(shape, (0, 4), (i, i + 1)) for i in range(11)])[:, None]
    metrics = evaluate(
        YouTubeVISMetric(),
        [
            sample(
                "v", [0], tubes(people, range(11)), tubes(people, range(11), scores=np.linspace(0.9, 0.5, 11))
            )
        ],
    )
    assert metrics["AR1"] == pytest.approx(1 / 11)
    assert metrics["AR10"] == pytest.approx(10 / 11)
    assert metrics["AR100"] == 1 and metrics["AP"] == pytest.approx(1)


def two_people_video(num_frames=6, shape=(10, 12)):
    """gt: person 1 moves right 1 px per frame; person 2 appears from frame 2. Predictions: track 5 follows
    person 1 one row short, track 6 covers person 2 in frames 2..3 only, track 7 is a false alarm in frames
    4..5."""
    gt, pred = np.zeros((2, num_frames, *shape), bool), np.zeros((3, num_frames, *shape), bool)
    for t in range(num_frames):
        gt[0, t] = box(shape, (0, 4), (t, t + 4))
        pred[0, t] = box(shape, (0, 3), (t, t + 4))
        if t >= 2:
            gt[1, t] = box(shape, (6, 10), (0, 3))
        if t in (2, 3):
            pred[1, t] = box(shape, (6, 10), (0, 3))
        if t >= 4:
            pred[2, t] = box(shape, (5, 10), (8, 12))
    return gt, pred


def test_clips_out_of_order_score_as_the_whole_video(tmp_path):
    gt, pred = two_people_video()
    scores = [0.75, 0.5, 0.25]
    other = np.stack([box((10, 12), (0, 5), (0, 5))])[:, None]
    whole = [
        sample("a", range(6), tubes(gt, [1, 2]), tubes(pred, [5, 6, 7], scores=scores)),
        sample("b", [0], tubes(other, [1]), tubes(other, [1], scores=[0.6])),
    ]
    chunks = [
        sample("a", range(a, b), tubes(gt[:, a:b], [1, 2]), tubes(pred[:, a:b], [5, 6, 7], scores=scores))
        for a, b in [(0, 2), (2, 5), (5, 6)]
    ]
    chunks.append(whole[1])
    random.Random(0).shuffle(chunks)
    whole_metric = YouTubeVISMetric(results_json=tmp_path / "whole.json")
    chunked_metric = YouTubeVISMetric(results_json=tmp_path / "chunked.json")
    expected = evaluate(whole_metric, whole)
    assert evaluate(chunked_metric, chunks) == pytest.approx(expected, nan_ok=True)
    assert json.loads((tmp_path / "whole.json").read_text()) == json.loads(
        (tmp_path / "chunked.json").read_text()
    )
    # Video a: track 5 (score 0.75) covers 12 of person 1's 16 px in each frame: IoU 0.75; track 6 (0.5)
    # covers person 2 in 2 of its 4 frames: IoU 24 / 48 = 0.5; track 7 (0.25) is a miss. Video b's
    # prediction (0.6) is exact. In score order, of 3 gt tracks:
    # t = 0.50: TP TP TP FP: AP_t = 1.
    # t = 0.55..0.75 (5): TP TP FP FP: precision 1 up to recall 2/3: the 67 points r <= 0.66 get 1.
    # t = 0.80..0.95 (4): FP TP FP FP: precision [0, 1/2, 1/3, 1/4] -> [1/2, 1/2, 1/3, 1/4]; the 34 points
    #   r <= 1/3 get 1/2: AP_t = 17 / 101.
    # AP = (1 + 5 * 67/101 + 4 * 17/101) / 10 = 504 / 1010; AR = (1 + 5 * 2/3 + 4 * 1/3) / 10 = 17 / 30.
    assert expected["AP"] == pytest.approx(504 / 1010)
    assert expected["AR100"] == pytest.approx(17 / 30)


def test_results_json_round_trips_to_the_predicted_masks(tmp_path):
    gt, pred = two_people_video(num_frames=4)
    path = tmp_path / "out" / "results.json"
    metric = YouTubeVISMetric(results_json=path, category_ids={1: 26})
    clips = [
        sample(
            "a",
            [0, 1],
            tubes(gt[:, :2], [1, 2]),
            tubes(pred[:, :2], [5, 6, 7], scores=[0.5, 0.5, 0.25]),
            ann_video_id=17,
            num_video_frames=7,
        ),
        sample(
            "a",
            [3, 4],
            tubes(gt[:, 2:], [1, 2]),
            tubes(pred[:, 2:], [5, 6, 7], scores=[0.75, 0.5, 0.25]),
            ann_video_id=17,
            num_video_frames=7,
        ),
    ]
    evaluate(metric, clips)
    entries = json.loads(path.read_text())
    assert [(e["video_id"], e["category_id"]) for e in entries] == [(17, 26)] * 3
    # Track 5's score: its clips' scores weighted by their frames, (0.5 * 2 + 0.75 * 2) / 4.
    assert [e["score"] for e in entries] == [0.625, 0.5, 0.25]
    for entry, tube in zip(entries, pred):
        segmentations = entry["segmentations"]
        assert len(segmentations) == 7
        # Frames 2, 5 and 6 are in no clip; frames where a tube is empty are null too.
        for index, frame in zip([0, 1, 3, 4], tube):
            if frame.any():
                assert isinstance(segmentations[index]["counts"], str)
                np.testing.assert_array_equal(decode_rle(segmentations[index]), frame)
            else:
                assert segmentations[index] is None
        assert segmentations[2] is segmentations[5] is segmentations[6] is None
    # Without ann_video_id the sample's video_id is written; without num_video_frames, up to the last frame.
    metric = YouTubeVISMetric(results_json=path)
    evaluate(
        metric,
        [sample("a", [1, 2], tubes(gt[:, :2], [1, 2]), tubes(pred[:, :2], [5, 6, 7], scores=[0.5] * 3))],
    )
    entries = json.loads(path.read_text())
    assert entries[0]["video_id"] == "a" and entries[0]["category_id"] == 1
    assert len(entries[0]["segmentations"]) == 3 and entries[0]["segmentations"][0] is None


def test_classes_select_the_labels_scored():
    shape = (6, 6)
    person, car = box(shape, (0, 3), (0, 3)), box(shape, (3, 6), (3, 6))
    samples = [
        sample(
            "v",
            [0],
            tubes([[person], [car]], [1, 2], labels=[1, 3]),
            tubes([[person]], [1], labels=[1], scores=[0.9]),
        )
    ]
    # People only: the one person is found. Every label: category 3's car is missed, AP (1 + 0) / 2.
    assert evaluate(YouTubeVISMetric(classes=(1,)), samples)["AP"] == pytest.approx(1)
    assert evaluate(YouTubeVISMetric(), samples)["AP"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="classes is empty"):
        YouTubeVISMetric(classes=())


def test_errors_name_the_video_and_the_field():
    masks = np.ones((1, 2, 4, 4), dtype=bool)
    without_pred = VideoDataSample(metainfo=dict(video_id="lonely", frame_indices=[0, 1]))
    without_pred.gt_instances = tubes(masks, [1])
    with pytest.raises(
        ValueError, match="YouTubeVISMetric: video 'lonely': data sample has no 'pred_instances'"
    ):
        YouTubeVISMetric().process(None, [without_pred])
    with pytest.raises(ValueError, match=r"video 'v': gt_instances: track_ids \[3, 3\] repeat"):
        YouTubeVISMetric().process(
            None, [sample("v", [0, 1], tubes(np.ones((2, 2, 4, 4)), [3, 3]), tubes(masks, [1], scores=[1.0]))]
        )
    with pytest.raises(
        ValueError, match=r"video 'v': pred_instances.masks must be \[N, T, H, W\] with T = 3"
    ):
        YouTubeVISMetric().process(
            None, [sample("v", [0, 1, 2], tubes(np.ones((1, 3, 4, 4)), [1]), tubes(masks, [1], scores=[1.0]))]
        )
    with pytest.raises(
        ValueError, match=r"video 'v': gt_instances masks are \(4, 4\) and pred_instances masks \(4, 5\)"
    ):
        YouTubeVISMetric().process(
            None, [sample("v", [0, 1], tubes(masks, [1]), tubes(np.ones((1, 2, 4, 5)), [1], scores=[1.0]))]
        )
    with pytest.raises(ValueError, match=r"video 'v': clips differ in frame size \[\(4, 4\), \(4, 5\)\]"):
        evaluate(
            YouTubeVISMetric(),
            [
                sample("v", [0, 1], tubes(masks, [1]), tubes(masks, [1], scores=[1.0])),
                sample(
                    "v",
                    [2],
                    tubes(np.ones((1, 1, 4, 5)), [1]),
                    tubes(np.ones((1, 1, 4, 5)), [1], scores=[1.0]),
                ),
            ],
        )
    without_scores = sample("v", [0, 1], tubes(masks, [1]), tubes(masks, [1], scores=[1.0])).to_dict()
    del without_scores["pred_instances"]["scores"]
    with pytest.raises(ValueError, match=r"video 'v': pred_instances has no \['scores'\]"):
        YouTubeVISMetric().process(None, [without_scores])


def test_runs_through_mmengine_evaluator():
    masks = np.ones((1, 2, 4, 4), dtype=bool)
    evaluator = Evaluator(METRICS.build(dict(type="YouTubeVISMetric", classes=[1], prefix="ytvis")))
    evaluator.process(data_samples=[sample("v", [0, 1], tubes(masks, [1]), tubes(masks, [4], scores=[0.5]))])
    metrics = evaluator.evaluate(size=1)
    assert metrics["ytvis/AP"] == pytest.approx(1) and metrics["ytvis/AR1"] == 1


def test_real_schoolgirls_ap_follows_from_their_tube_ious(shared_data):
    # The four girls of DAVIS's schoolgirls (ids 1, 3, 5, 7 in all 80 frames), predicted as their masks
    # shifted right by 1 to 4 px, in clips of 20 frames.
    folder = shared_data / "davis_schoolgirls" / "masks"
    ids = np.stack([np.array(Image.open(folder / f"{t:05d}.png")) for t in range(80)])
    gt = np.stack([ids == girl for girl in (1, 3, 5, 7)])
    pred = np.zeros_like(gt)
    for index, shift in enumerate((1, 2, 3, 4)):
        pred[index, :, :, shift:] = gt[index, :, :, :-shift]
    # Tube IoUs straight from the pixels.
    expected_ious = np.array([[(p & g).sum() / (p | g).sum() for g in gt] for p in pred])
    clips = [
        sample(
            "schoolgirls",
            range(a, a + 20),
            tubes(gt[:, a : a + 20], [1, 3, 5, 7]),
            tubes(pred[:, a : a + 20], [1, 3, 5, 7], scores=[0.9, 0.8, 0.7, 0.6]),
        )
        for a in (60, 0, 40, 20)
    ]
    metric = YouTubeVISMetric()
    metrics = evaluate(metric, clips)
    tracks = [encode_tube(tube) for tube in pred], [encode_tube(tube) for tube in gt]
    np.testing.assert_allclose(tube_iou(*tracks), expected_ious)
    own_ious = np.diag(expected_ious)
    assert (np.diff(own_ious) < 0).all(), "the larger shift, the lower the IoU: scores follow IoU"
    assert (expected_ious[~np.eye(4, dtype=bool)] < 0.5).all(), "no girl's prediction matches another girl"
    # Scores follow the IoUs, so at each threshold t the k predictions with IoU >= t come first: precision
    # 1 up to recall k/4, then none: the 25k + 1 recall points <= k/4 get 1 (k = 0: AP_t = 0).
    thresholds = np.linspace(0.5, 0.95, 10)
    matched = np.array([(own_ious >= t).sum() for t in thresholds])
    per_threshold = np.where(matched > 0, (25 * matched + 1) / 101, 0)
    assert metrics["AP"] == pytest.approx(per_threshold.mean())
    assert metrics["AR100"] == pytest.approx((matched / 4).mean())
    assert 0 < metrics["AP"] < 1
