import math
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from PIL import Image

from steadyseg.evaluation import PeopleTrackingMetric
from steadyseg.registry import METRICS
from steadyseg.structures import VideoDataSample

SHAPE = (8, 12)


def box(rows, cols):
    mask = np.zeros(SHAPE, dtype=bool)
    mask[rows[0] : rows[1], cols[0] : cols[1]] = True
    return mask


def tubes(masks, track_ids, labels=None, scores=False):
    masks = torch.as_tensor(np.asarray(masks, dtype=bool))
    instances = InstanceData(
        masks=masks,
        track_ids=torch.as_tensor(list(track_ids), dtype=torch.long),
        labels=torch.as_tensor([1] * len(masks) if labels is None else labels, dtype=torch.long),
    )
    if scores:
        instances.scores = torch.ones(len(masks))
    return instances


def sample(video_id, frame_indices, gt_masks, gt_ids, pred_masks, pred_ids, pred_labels=None):
    data_sample = VideoDataSample(metainfo=dict(video_id=video_id, frame_indices=list(frame_indices)))
    data_sample.gt_instances = tubes(gt_masks, gt_ids)
    data_sample.pred_instances = tubes(pred_masks, pred_ids, pred_labels, scores=True)
    return data_sample


def evaluate(samples, metric=None):
    metric = metric or PeopleTrackingMetric()
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def two_people(num_frames=4):
    """Person 1 (a 4x4 box on the left) and person 2 (on the right), both in every frame: [2, T, H, W]."""
    return np.stack([[box((0, 4), (0, 4))] * num_frames, [box((4, 8), (8, 12))] * num_frames])


def swapped_halfway(people):
    """Predictions that follow each person with its own id for the first half and the other's after."""
    half = people.shape[1] // 2
    return np.concatenate([people[:, :half], people[::-1, half:]], axis=1)


def test_a_perfect_tracker_scores_one_whatever_its_id_values():
    people = two_people()
    metrics = evaluate([sample("v", range(4), people, [1, 2], people, [40, 7])])
    assert metrics == dict(HOTA=1, DetA=1, AssA=1, MOTA=1, IDF1=1, IDSW=0)


def test_ids_swapped_halfway():
    # Frames 0-1: prediction 1 on person 1, prediction 2 on person 2; frames 2-3 the other way round.
    # CLEAR: at frame 2 each person is matched (IoU 1) to the other id than the one it last had: 2 ID
    # switches; TP = 8, FP = FN = 0: MOTA = (8 - 0 - 2) / 8 = 0.75.
    # Identity: each person overlaps each prediction in 2 of its 4 frames; the best one-to-one assignment
    # keeps IDTP = 2 + 2 = 4 of 8 detections, IDFN = IDFP = 4: IDF1 = 2 * 4 / (2 * 4 + 4 + 4) = 0.5.
    # HOTA: every detection matches at every threshold (DetA = 1); each matched pair (person, id) holds 2
    # matches of 4 + 4 detections: its association IoU 2 / (4 + 4 - 2) = 1/3, so AssA = 1/3 and
    # HOTA = sqrt(1 * 1/3).
    people = two_people()
    metrics = evaluate([sample("v", range(4), people, [1, 2], swapped_halfway(people), [1, 2])])
    assert metrics["IDSW"] == 2
    assert metrics["MOTA"] == pytest.approx(0.75)
    assert metrics["IDF1"] == pytest.approx(0.5)
    assert metrics["DetA"] == pytest.approx(1)
    assert metrics["AssA"] == pytest.approx(1 / 3)
    assert metrics["HOTA"] == pytest.approx(math.sqrt(1 / 3))


def test_a_poor_mask_is_no_match_at_mask_iou_0_5():
    # One person (an 8x5 box, 40 px) over 3 frames, one predicted track. In frame 1 the prediction keeps
    # 17 of the 40 px: IoU 0.425 < 0.5, so CLEAR and Identity count a miss and a false
    # alarm there: TP = 2, FN = FP = 1, no switch (the same id resumes): MOTA = (2 - 1) / 3 = 1/3;
    # IDTP = 2, IDFN = IDFP = 1: IDF1 = 4 / 6.
    # HOTA's thresholds 0.05..0.40 (8 of 19) still match frame 1: DetA = AssA = 1 there. At 0.45..0.95
    # (11): DetA = 2 / (2 + 1 + 1) = 1/2 and the pair's association IoU 2 / (3 + 3 - 2) = 1/2; HOTA = 1/2.
    # Means over the 19: (8 + 11 / 2) / 19 each.
    person = box((0, 8), (0, 5))
    poor = np.zeros_like(person)
    poor.flat[np.flatnonzero(person)[:17]] = True
    metrics = evaluate([sample("v", range(3), [[person] * 3], [1], [[person, poor, person]], [9])])
    assert metrics["IDSW"] == 0
    assert metrics["MOTA"] == pytest.approx(1 / 3)
    assert metrics["IDF1"] == pytest.approx(2 / 3)
    for key in ("HOTA", "DetA", "AssA"):
        assert metrics[key] == pytest.approx(13.5 / 19)


def test_videos_are_combined_by_summed_counts_not_mean_scores():
    # A perfect video and the swapped one, with the same track ids (kept apart per video).
    # CLEAR: TP 16, IDSW 2: MOTA 14 / 16. Identity: IDTP 8 + 4, IDFN = IDFP = 4: IDF1 = 24 / 32.
    # HOTA: DetA 1, AssA weighted by matches (8 * 1 + 8 * 1/3) / 16 = 2/3.
    people = two_people()
    metrics = evaluate(
        [
            sample("perfect", range(4), people, [1, 2], people, [1, 2]),
            sample("swapped", range(4), people, [1, 2], swapped_halfway(people), [1, 2]),
        ]
    )
    assert metrics["IDSW"] == 2
    assert metrics["MOTA"] == pytest.approx(0.875)
    assert metrics["IDF1"] == pytest.approx(0.75)
    assert metrics["AssA"] == pytest.approx(2 / 3)
    assert metrics["HOTA"] == pytest.approx(math.sqrt(2 / 3))


def test_clips_out_of_order_score_as_the_whole_video():
    people = two_people(num_frames=6)
    # Person 2 leaves after frame 3 and a false alarm appears in frame 5 only.
    people[1, 4:] = False
    pred = swapped_halfway(people)
    alarm = np.zeros((1, 6, *SHAPE), dtype=bool)
    alarm[0, 5] = box((5, 8), (0, 3))
    pred = np.concatenate([pred, alarm])
    whole = evaluate([sample("v", range(6), people, [1, 2], pred, [1, 2, 3])])
    chunks = [
        sample("v", range(a, b), people[:, a:b], [1, 2], pred[:, a:b], [1, 2, 3])
        for a, b in ((0, 2), (2, 5), (5, 6))
    ]
    random.Random(1).shuffle(chunks)
    assert evaluate(chunks) == whole
    # Person 1 switches at frame 3, person 2 at frame 3 (each matched to the other id from then on).
    assert whole["IDSW"] == 2
    # 10 gt detections, 10 TP, 1 false alarm: MOTA = (10 - 1 - 2) / 10.
    assert whole["MOTA"] == pytest.approx(0.7)


def test_only_people_are_scored():
    people = two_people()
    with_a_car = np.concatenate([people, [[box((4, 8), (0, 4))] * 4]])
    metrics = evaluate([sample("v", range(4), people, [1, 2], with_a_car, [1, 2, 3], pred_labels=[1, 1, 2])])
    assert metrics["MOTA"] == 1 and metrics["IDF1"] == 1
    metrics = evaluate(
        [sample("v", range(4), people, [1, 2], with_a_car, [1, 2, 3], pred_labels=[1, 1, 2])],
        PeopleTrackingMetric(person_labels=(1, 2)),
    )
    # The car counts as a person now: 4 false alarms of 8 gt detections.
    assert metrics["MOTA"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="person_labels is empty"):
        PeopleTrackingMetric(person_labels=())


def test_without_a_ground_truth_person_every_key_is_nan():
    empty = np.zeros((0, 2, *SHAPE), dtype=bool)
    metrics = evaluate([sample("v", range(2), empty, [], two_people(2), [1, 2])])
    assert set(metrics) == {"HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW"}
    assert all(math.isnan(value) for value in metrics.values())


def test_a_sample_without_predictions_is_an_error_naming_the_video():
    data_sample = VideoDataSample(metainfo=dict(video_id="walk_03", frame_indices=[0, 1]))
    data_sample.gt_instances = tubes(two_people(2), [1, 2])
    with pytest.raises(
        ValueError, match="PeopleTrackingMetric: video 'walk_03': data sample has no 'pred_instances'"
    ):
        PeopleTrackingMetric().process(None, [data_sample])


def test_runs_through_mmengine_evaluator():
    people = two_people()
    evaluator = Evaluator(METRICS.build(dict(type="PeopleTrackingMetric", prefix="people")))
    evaluator.process(data_samples=[sample("v", range(4), people, [1, 2], swapped_halfway(people), [1, 2])])
    metrics = evaluator.evaluate(size=1)
    assert metrics["people/IDSW"] == 2 and metrics["people/IDF1"] == pytest.approx(0.5)


def test_real_schoolgirls_with_two_girls_swapped_halfway(shared_data):
    # The four girls of DAVIS's schoolgirls (ids 1, 3, 5, 7, each in all 80 frames, masks disjoint),
    # predicted exactly but with girls 1 and 3 exchanging ids from frame 40, in clips of 16 frames.
    # CLEAR: 320 TP, 2 switches: MOTA = 318 / 320. Identity: girls 5 and 7 keep 80 IDTP each, girls 1 and 3
    # 40 each: IDTP = 240 of 320, IDFN = IDFP = 80: IDF1 = 480 / 640. HOTA: DetA = 1; AssA = (160 * 1/3 +
    # 160 * 1) / 320 = 2/3.
    folder = shared_data / "davis_schoolgirls" / "masks"
    ids = np.stack([np.array(Image.open(folder / f"{t:05d}.png")) for t in range(80)])
    girls = np.stack([ids == girl for girl in (1, 3, 5, 7)])
    pred = girls.copy()
    pred[0, 40:], pred[1, 40:] = girls[1, 40:], girls[0, 40:]
    clips = [
        sample(
            "schoolgirls",
            range(a, a + 16),
            girls[:, a : a + 16],
            [1, 3, 5, 7],
            pred[:, a : a + 16],
            [1, 3, 5, 7],
        )
        for a in (32, 0, 64, 16, 48)
    ]
    metrics = evaluate(clips)
    assert metrics["IDSW"] == 2
    assert metrics["MOTA"] == pytest.approx(318 / 320)
    assert metrics["IDF1"] == pytest.approx(0.75)
    assert metrics["DetA"] == pytest.approx(1)
    assert metrics["AssA"] == pytest.approx(2 / 3)
    assert metrics["HOTA"] == pytest.approx(math.sqrt(2 / 3))
