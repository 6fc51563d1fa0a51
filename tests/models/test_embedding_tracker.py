import math

import pytest
import torch
import torch.nn as nn

from steadyseg.models.stateful import StateLayout
from steadyseg.models.trackers import EmbeddingTracker
from steadyseg.registry import MODELS

# Two people with orthogonal embeddings, and a third direction for background queries.
ALICE = [1.0, 0.0, 0.0, 0.0]
BOB = [0.0, 1.0, 0.0, 0.0]
CAROL = [0.0, 0.0, 1.0, 0.0]
DAVE = [0.0, 0.0, 0.0, 1.0]


def make_tracker(**overrides):
    config = dict(
        max_tracks=4,
        embed_dim=4,
        momentum=0.8,
        match_threshold=0.5,
        birth_score=0.5,
        death_age=5,
        keep_score=0.2,
    )
    return EmbeddingTracker(**{**config, **overrides})


def start(tracker, batch=1):
    return tracker.initial_state(torch.zeros(batch, 3, 8, 8))


def frame(tracker, state, detections):
    """One video's frame from ``[(score, embedding), ...]`` -> the list of track ids and the new state."""
    scores = torch.tensor([[score for score, _ in detections]], dtype=torch.float32)
    embeddings = torch.tensor([[embedding for _, embedding in detections]], dtype=torch.float32)
    embeddings = embeddings.reshape(1, len(detections), tracker.embed_dim)
    ids, state = tracker.forward_frame(scores, embeddings, state)
    return ids[0].tolist(), state


def test_built_from_config_with_empty_initial_state():
    tracker = MODELS.build(dict(type="EmbeddingTracker", max_tracks=3, embed_dim=5))
    assert isinstance(tracker, EmbeddingTracker)
    memory, track_ids, ages, next_id = tracker.initial_state(torch.zeros(2, 3, 16, 16))
    assert memory.shape == (2, 3, 5) and memory.dtype == torch.float32
    assert track_ids.shape == ages.shape == (2, 3) and track_ids.dtype == ages.dtype == torch.int64
    assert next_id.tolist() == [[1], [1]]
    assert memory.abs().sum() == 0 and track_ids.abs().sum() == 0 and ages.abs().sum() == 0


def test_two_people_keep_ids_whatever_the_detection_order():
    tracker = make_tracker()
    state = start(tracker)
    generator = torch.Generator().manual_seed(0)
    _, state = frame(tracker, state, [(0.9, ALICE), (0.8, BOB)])
    for _ in range(10):
        # Noisy embeddings, shuffled with a background query of low score that must stay untracked.
        detections = [
            (0.9, [v + 0.1 * float(torch.rand(1, generator=generator)) for v in ALICE]),
            (0.8, [v + 0.1 * float(torch.rand(1, generator=generator)) for v in BOB]),
            (0.1, CAROL),
        ]
        order = torch.randperm(3, generator=generator).tolist()
        ids, state = frame(tracker, state, [detections[i] for i in order])
        expected = {0: 1, 1: 2, 2: -1}
        assert ids == [expected[i] for i in order]
    assert sorted(state[1][0].tolist()) == [0, 0, 1, 2] and state[3].item() == 3


def test_occluded_for_three_frames_keeps_its_id():
    tracker = make_tracker(death_age=5)
    state = start(tracker)
    ids, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
    assert ids == [1, 2]
    for expected_age in (1, 2, 3):
        ids, state = frame(tracker, state, [(0.9, BOB)])
        assert ids == [2]
        assert state[2][0].tolist()[state[1][0].tolist().index(1)] == expected_age
    ids, state = frame(tracker, state, [(0.9, BOB), (0.9, ALICE)])
    assert ids == [2, 1]
    assert state[3].item() == 3


def test_death_age_is_the_longest_absence_a_track_survives():
    for absent, expected_id in ((5, 1), (6, 3)):
        tracker = make_tracker(death_age=5)
        state = start(tracker)
        _, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
        for _ in range(absent):
            _, state = frame(tracker, state, [(0.9, BOB)])
        ids, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
        assert ids == [expected_id, 2], f"absent {absent} frames"


def test_ids_are_never_reused_after_death():
    tracker = make_tracker(death_age=0, max_tracks=2)
    state = start(tracker)
    seen = []
    for person in (ALICE, BOB, ALICE, BOB, ALICE):
        # death_age 0: a track dies on its first unmatched frame, so every return is a new person.
        ids, state = frame(tracker, state, [(0.9, person)])
        ids_empty, state = frame(tracker, state, [])
        assert ids_empty == []
        seen += ids
    assert seen == [1, 2, 3, 4, 5]
    assert state[1][0].tolist() == [0, 0] and state[3].item() == 6


def test_low_score_detection_does_not_start_a_track():
    tracker = make_tracker(keep_score=0.2, birth_score=0.5)
    state = start(tracker)
    ids, state = frame(tracker, state, [(0.49, ALICE), (0.1, BOB)])
    assert ids == [-1, -1]
    assert state[1].abs().sum() == 0 and state[3].item() == 1
    ids, state = frame(tracker, state, [(0.5, ALICE)])
    assert ids == [1]


def test_kept_low_score_detection_continues_a_track_but_below_keep_score_does_not():
    tracker = make_tracker(keep_score=0.2, birth_score=0.5)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, ALICE)])
    ids, state = frame(tracker, state, [(0.3, ALICE)])
    assert ids == [1] and state[2][0, 0].item() == 0
    ids, state = frame(tracker, state, [(0.1, ALICE)])
    assert ids == [-1] and state[2][0, 0].item() == 1


def test_momentum_update_equals_the_formula():
    tracker = make_tracker(momentum=0.8)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, [2.0, 0.0, 0.0, 0.0])])
    torch.testing.assert_close(state[0][0, 0], torch.tensor(ALICE))  # born with the unit embedding
    ids, state = frame(tracker, state, [(0.9, [3.0, 4.0, 0.0, 0.0])])  # cosine 0.6 with the memory
    assert ids == [1]
    torch.testing.assert_close(state[0][0, 0], torch.tensor([0.8 + 0.2 * 0.6, 0.2 * 0.8, 0.0, 0.0]))
    ids, state = frame(tracker, state, [(0.9, [0.0, 1.0, 0.0, 0.0])])
    # Cosine of (0.92, 0.16) with (0, 1) is 0.17: below the threshold, so the memory does not move.
    assert ids == [2]
    torch.testing.assert_close(state[0][0, 0], torch.tensor([0.92, 0.16, 0.0, 0.0]))


def test_match_threshold_prevents_associating_a_dissimilar_embedding():
    near = [0.6, 0.8, 0.0, 0.0]  # cosine 0.6 with ALICE
    for threshold, expected in ((0.7, [2]), (0.6, [1])):
        tracker = make_tracker(match_threshold=threshold)
        state = start(tracker)
        _, state = frame(tracker, state, [(0.9, ALICE)])
        ids, state = frame(tracker, state, [(0.9, near)])
        assert ids == expected, f"match_threshold {threshold}"


def test_hungarian_matching_maximizes_total_similarity_not_greedy():
    tracker = make_tracker(match_threshold=0.5, momentum=0.0)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
    # x: cos 0.8 with track 1, 0.6 with track 2; y: cos 0.7 with track 1, 0.1 with track 2.
    x = [0.8, 0.6, 0.0, 0.0]
    y = [0.7, 0.1, math.sqrt(1 - 0.49 - 0.01), 0.0]
    # Greedy would give x track 1 and leave y unmatched; the best matching is x-2, y-1 (1.3 > 0.8).
    ids, state = frame(tracker, state, [(0.9, x), (0.9, y)])
    assert ids == [2, 1]
    assert state[3].item() == 3


def test_full_memory_evicts_the_track_unseen_longest():
    tracker = make_tracker(max_tracks=2, death_age=10)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
    _, state = frame(tracker, state, [(0.9, BOB)])
    _, state = frame(tracker, state, [(0.9, BOB)])
    # No free slot for CAROL: ALICE (unseen for 3 frames) gives way, BOB (matched on this frame) does not.
    ids, state = frame(tracker, state, [(0.9, BOB), (0.9, CAROL)])
    assert ids == [2, 3]
    assert sorted(state[1][0].tolist()) == [2, 3]
    # Every slot now holds a track matched or born on this frame: a fourth person gets no track.
    ids, state = frame(tracker, state, [(0.9, BOB), (0.9, CAROL), (0.95, DAVE)])
    assert ids == [2, 3, -1]
    assert state[3].item() == 4


def test_eviction_picks_the_largest_age_among_unmatched_tracks():
    tracker = make_tracker(max_tracks=3, death_age=10)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB), (0.9, CAROL)])
    _, state = frame(tracker, state, [(0.9, ALICE), (0.9, BOB)])
    _, state = frame(tracker, state, [(0.9, ALICE)])
    # CAROL (slot 2, unseen 3 frames) gives way before BOB (slot 1, unseen 2), though BOB's slot comes first.
    ids, state = frame(tracker, state, [(0.9, ALICE), (0.9, DAVE)])
    assert ids == [1, 4]
    assert state[1][0].tolist() == [1, 2, 4]
    ids, state = frame(tracker, state, [(0.9, BOB)])
    assert ids == [2]


def test_births_beyond_free_slots_go_to_the_highest_scores():
    tracker = make_tracker(max_tracks=2)
    state = start(tracker)
    ids, state = frame(tracker, state, [(0.6, ALICE), (0.9, BOB), (0.7, CAROL)])
    assert ids == [-1, 1, 2]


def test_memory_is_constant_over_a_long_video():
    tracker = make_tracker(max_tracks=3, embed_dim=8, death_age=2)
    state = start(tracker)
    shapes = [tuple(part.shape) for part in state]
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.randn(1, 200, 2, 8, generator=generator, requires_grad=True)
    scores = torch.full((1, 200, 2), 0.9)
    for t in range(200):
        _, state = tracker.forward_frame(scores[:, t], embeddings[:, t], state)
        assert [tuple(part.shape) for part in state] == shapes
    assert not any(part.requires_grad for part in state)  # no graph kept across frames either
    assert 3 <= state[3].item() <= 401


def test_clip_forward_equals_frame_by_frame_and_leaves_the_given_state_alone():
    tracker = make_tracker(death_age=1)
    generator = torch.Generator().manual_seed(2)
    scores = torch.rand(2, 6, 3, generator=generator)
    embeddings = torch.randn(2, 6, 3, 4, generator=generator)
    initial = start(tracker, batch=2)
    snapshot = tuple(part.clone() for part in initial)
    clip_ids, clip_state = tracker(scores, embeddings, initial)
    assert clip_ids.shape == (2, 6, 3) and clip_ids.dtype == torch.int64
    state = initial
    for t in range(6):
        frame_ids, state = tracker.forward_frame(scores[:, t], embeddings[:, t], state)
        assert torch.equal(frame_ids, clip_ids[:, t])
    for carried, expected, before, after in zip(state, clip_state, snapshot, initial):
        assert torch.equal(carried, expected) and torch.equal(before, after)


def test_videos_in_a_batch_are_independent():
    tracker = make_tracker()
    scores = torch.tensor([[[0.9, 0.8]], [[0.9, 0.1]]]).expand(2, 4, 2)
    embeddings = torch.tensor(
        [
            [[ALICE, BOB]],
            [[BOB, CAROL]],
        ]
    ).expand(2, 4, 2, 4)
    batch_ids, batch_state = tracker(scores, embeddings, start(tracker, batch=2))
    for video in range(2):
        ids, state = tracker(scores[video : video + 1], embeddings[video : video + 1], start(tracker))
        assert torch.equal(batch_ids[video : video + 1], ids)
        for batch_part, part in zip(batch_state, state):
            assert torch.equal(batch_part[video : video + 1], part)
    # The second video numbers its own people from 1.
    assert batch_ids[:, -1].tolist() == [[1, 2], [1, -1]]


class TrackingModel(nn.Module):
    """A stand-in for a segmentor: one stateless part, then the tracker."""

    def __init__(self):
        super().__init__()
        self.head = nn.Identity()
        self.tracker = make_tracker()


def test_state_round_trips_through_the_stateful_protocol():
    model = TrackingModel()
    layout = StateLayout(model)
    assert layout.names == ("tracker.memory", "tracker.track_ids", "tracker.ages", "tracker.next_id")
    state = layout.initial(torch.zeros(2, 3, 8, 8))
    assert [tuple(part.shape) for part in state] == [(2, 4, 4), (2, 4), (2, 4), (2, 1)]
    parts = layout.split(state)
    ids, parts["tracker"] = model.tracker(
        torch.tensor([[[0.9]], [[0.9]]]), torch.tensor([[[ALICE]], [[BOB]]]), parts["tracker"]
    )
    state = layout.join(parts)
    assert ids.tolist() == [[[1]], [[1]]]
    assert len(state) == 4 and state[3].tolist() == [[2], [2]]
    ids, _ = model.tracker(torch.tensor([[[0.9]], [[0.9]]]), torch.tensor([[[ALICE]], [[BOB]]]), state[:4])
    assert ids.tolist() == [[[1]], [[1]]]
    with pytest.raises(ValueError, match="tracker.memory, tracker.track_ids"):
        layout.split(state[:3])


def test_wrong_inputs_and_state_fail_with_names():
    tracker = make_tracker()
    state = start(tracker)
    with pytest.raises(ValueError, match="embed_dim is 4"):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 2, 3), state)
    with pytest.raises(ValueError, match=r"scores \[B, N\] and embeddings \[B, N, D\]"):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 3, 4), state)
    with pytest.raises(ValueError, match=r"state memory has shape \(1, 4, 4\); expected \(2, 4, 4\)"):
        tracker.forward_frame(torch.ones(2, 2), torch.ones(2, 2, 4), state)
    with pytest.raises(ValueError, match="state has 3 tensors; expected 4"):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 2, 4), state[:3])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(momentum=1.0), "momentum must be in"),
        (dict(match_threshold=0.0), "match_threshold must be in"),
        (dict(keep_score=0.6, birth_score=0.5), "must not exceed birth_score"),
        (dict(death_age=-1), "death_age must be at least 0"),
        (dict(max_tracks=0), "must be at least 1"),
    ],
)
def test_invalid_config_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_tracker(**overrides)
