"""MaskIoUTracker, the IoU-only association baseline: masks linked frame to frame by their IoU on a fixed grid, on
the slot bookkeeping it shares with EmbeddingTracker; and the instance model running it in place of the embedding
tracker, from its config or the recipe's IoU-linking config."""

from pathlib import Path

import onnxruntime as ort
import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.config import load_config
from steadyseg.deploy.export import export_model
from steadyseg.models.heads.query_mask_head import QueryPredictions
from steadyseg.models.trackers import MaskIoUTracker, SlotTracker
from steadyseg.registry import MODELS
from tests.models.test_video_instance_model import DIMS, QUERIES, build, class_logits_for

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE = REPO_ROOT / "configs/vis/mobilenetv3_query_vis_synthetic_256.py"
BASELINE = REPO_ROOT / "configs/vis/mobilenetv3_query_vis_iou_linking_synthetic_256.py"
STATE = ("tracker.memory", "tracker.track_ids", "tracker.ages", "tracker.next_id")


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def make_tracker(**overrides) -> MaskIoUTracker:
    config = dict(
        max_tracks=4, mask_size=8, match_threshold=0.3, birth_score=0.5, death_age=3, keep_score=0.2
    )
    return MaskIoUTracker(**{**config, **overrides})


def start(tracker, batch=1):
    return tracker.initial_state(torch.zeros(batch, 3, 8, 8))


def box_logits(box: tuple[int, int, int, int], size: tuple[int, int]) -> torch.Tensor:
    """Mask logits ``[h, w]``: 5 inside the box ``(top, left, bottom, right)`` (bottom and right excluded), -5 out."""
    logits = torch.full(size, -5.0)
    top, left, bottom, right = box
    logits[top:bottom, left:right] = 5.0
    return logits


def frame(tracker, state, detections, size=(8, 8)):
    """One video's frame from ``[(score, box), ...]`` on masks of ``size`` -> the list of ids and the new state."""
    scores = torch.tensor([[score for score, _ in detections]], dtype=torch.float32)
    masks = (
        torch.stack([box_logits(box, size) for _, box in detections]) if detections else torch.zeros(0, *size)
    )
    ids, state = tracker.forward_frame(scores, masks[None], state)
    return ids[0].tolist(), state


def test_built_from_config_associates_on_masks_with_a_fixed_size_state():
    tracker = MODELS.build(dict(type="MaskIoUTracker", max_tracks=3, mask_size=16))
    assert isinstance(tracker, SlotTracker) and tracker.association_input == "masks"
    assert tracker.measured_args == () and tracker.in_graph is False
    memory, track_ids, ages, next_id = tracker.initial_state(torch.zeros(2, 3, 40, 24))
    assert memory.shape == (2, 3, 256) and memory.dtype == torch.float32
    assert track_ids.shape == ages.shape == (2, 3) and track_ids.dtype == ages.dtype == torch.int64
    assert next_id.tolist() == [[1], [1]]
    assert memory.abs().sum() == 0 and track_ids.abs().sum() == 0 and ages.abs().sum() == 0


def test_iou_of_hand_made_4x4_masks():
    tracker = make_tracker(mask_size=4)
    a = torch.zeros(4, 4)
    a[0:2, 0:3] = 1  # 6 pixels
    b = torch.zeros(4, 4)
    b[1:3, 1:3] = 1  # 4 pixels, 2 of them (row 1, columns 1 and 2) in a
    c = torch.zeros(4, 4)
    c[2:4, :] = 1  # 8 pixels, none in a
    empty = torch.zeros(4, 4)
    masks = torch.stack([a, b, c, empty]).flatten(1)
    # a-b: 2 / (6 + 4 - 2); b-c: 2 / (4 + 8 - 2); anything with the empty mask, itself included: 0.
    expected = torch.tensor(
        [
            [1.0, 0.25, 0.0, 0.0],
            [0.25, 1.0, 0.2, 0.0],
            [0.0, 0.2, 1.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    torch.testing.assert_close(tracker._similarity(masks, masks), expected)


def test_a_track_continues_from_exactly_match_threshold_iou():
    # The same a and b as above as boxes on 4 x 4 masks: IoU 0.25 exactly.
    for threshold, expected in ((0.25, [1]), (0.26, [2])):
        tracker = make_tracker(mask_size=4, match_threshold=threshold)
        state = start(tracker)
        _, state = frame(tracker, state, [(0.9, (0, 0, 2, 3))], size=(4, 4))
        ids, state = frame(tracker, state, [(0.9, (1, 1, 3, 3))], size=(4, 4))
        assert ids == expected, f"match_threshold {threshold}"


def test_masks_are_the_logits_resized_bilinearly_then_above_zero():
    # 4 x 4 logits onto a 2 x 2 grid: halving bilinearly averages each 2 x 2 block. The top left block averages
    # -0.25 (out) though its first pixel is in; the top right 0.5 (in) though its first pixel is out: nearest on the
    # binary mask (the first pixel of each block) would give the opposite of both.
    logits = torch.tensor(
        [
            [3.0, -1.0, -4.0, -4.0],
            [-1.0, -2.0, 1.0, 9.0],
            [-5.0, -5.0, 5.0, 5.0],
            [-5.0, -5.0, 5.0, 5.0],
        ]
    )
    tracker = make_tracker(mask_size=2)
    _, state = tracker.forward_frame(torch.tensor([[0.9]]), logits[None, None], start(tracker))
    assert state[0][0, 0].tolist() == [0.0, 1.0, 0.0, 1.0]


def test_the_memory_is_the_last_mask_on_the_grid():
    tracker = make_tracker(mask_size=4)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, (0, 0, 2, 3))], size=(4, 4))
    born = torch.zeros(4, 4)
    born[0:2, 0:3] = 1
    torch.testing.assert_close(state[0][0, 0], born.flatten())
    ids, state = frame(tracker, state, [(0.9, (0, 1, 2, 4))], size=(4, 4))  # IoU 4 / 8
    assert ids == [1]
    moved = torch.zeros(4, 4)
    moved[0:2, 1:4] = 1
    torch.testing.assert_close(state[0][0, 0], moved.flatten(), msg="replaced, not averaged")


def test_two_people_moving_slowly_keep_their_ids():
    tracker = make_tracker(mask_size=16)
    state = start(tracker)
    generator = torch.Generator().manual_seed(0)
    for t in range(12):
        # Alice walks right and Bob down, a pixel a frame, past each other; a background query of low score lies
        # over Alice and must stay untracked.
        detections = [
            (0.9, (2, 1 + t, 10, 5 + t)),
            (0.8, (1 + t, 10, 5 + t, 15)),
            (0.1, (2, 1 + t, 10, 5 + t)),
        ]
        order = torch.randperm(3, generator=generator).tolist()
        ids, state = frame(tracker, state, [detections[i] for i in order], size=(16, 16))
        expected = {0: 1, 1: 2, 2: -1}
        assert ids == [expected[i] for i in order], f"frame {t}"
    assert sorted(state[1][0].tolist()) == [0, 0, 1, 2] and state[3].item() == 3


def test_a_person_leaving_and_another_appearing_far_away_gets_a_new_id():
    tracker = make_tracker(death_age=3)
    state = start(tracker)
    ids, state = frame(tracker, state, [(0.9, (0, 0, 4, 3))])
    assert ids == [1]
    # Alice has gone (her track lives on, unmatched); Carol, on the other side, overlaps nothing of her.
    ids, state = frame(tracker, state, [(0.9, (4, 5, 8, 8))])
    assert ids == [2]
    assert state[1][0].tolist() == [1, 2, 0, 0] and state[2][0].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize(
    "hidden, back_at, expected_id",
    [
        (3, (1, 0, 5, 3), 1),  # within death_age, overlapping her last mask (IoU 9 / 15): she keeps her id
        (3, (0, 5, 4, 8), 3),  # within death_age but elsewhere (no overlap): a new id
        (4, (0, 0, 4, 3), 3),  # exactly where she was, but hidden longer than death_age: her track is gone
    ],
)
def test_an_occluded_person_keeps_the_id_only_when_their_mask_overlaps_on_return(
    hidden, back_at, expected_id
):
    tracker = make_tracker(death_age=3)
    state = start(tracker)
    ids, state = frame(tracker, state, [(0.9, (0, 0, 4, 3)), (0.9, (6, 6, 8, 8))])
    assert ids == [1, 2]
    for _ in range(hidden):
        ids, state = frame(tracker, state, [(0.9, (6, 6, 8, 8))])
        assert ids == [2]
    ids, state = frame(tracker, state, [(0.9, back_at), (0.9, (6, 6, 8, 8))])
    assert ids == [expected_id, 2]


def test_a_frame_without_detections_ages_the_tracks():
    tracker = make_tracker(death_age=1)
    state = start(tracker)
    _, state = frame(tracker, state, [(0.9, (0, 0, 4, 3))])
    ids, state = frame(tracker, state, [])
    assert ids == [] and state[2][0, 0].item() == 1
    _, state = frame(tracker, state, [])
    assert state[1].abs().sum() == 0, "dead after death_age + 1 frames unmatched"


def test_the_state_has_one_shape_whatever_the_mask_size():
    # The same two people, their boxes on whole cells of the 8 x 8 grid, on 16 x 16 masks and on 32 x 24 ones.
    tracker = make_tracker(mask_size=8)
    boxes = [(2, 1, 6, 5), (0, 5, 3, 8)]
    results = []
    for scale in ((2, 2), (4, 3)):
        size = (8 * scale[0], 8 * scale[1])
        scaled = [
            (0.9, (top * scale[0], left * scale[1], bottom * scale[0], right * scale[1]))
            for top, left, bottom, right in boxes
        ]
        state = start(tracker)
        ids, state = frame(tracker, state, scaled, size=size)
        ids_next, state = frame(tracker, state, scaled[::-1], size=size)
        assert [ids, ids_next] == [[1, 2], [2, 1]]
        results.append(state)
    assert [tuple(part.shape) for part in results[0]] == [tuple(part.shape) for part in results[1]]
    assert [tuple(part.shape) for part in results[0]] == [(1, 4, 64), (1, 4), (1, 4), (1, 1)]
    for small, large in zip(*results):
        torch.testing.assert_close(small, large)


def test_a_clip_equals_its_frames_and_videos_are_tracked_apart():
    tracker = make_tracker(death_age=1)
    generator = torch.Generator().manual_seed(1)
    scores = torch.rand(2, 5, 3, generator=generator)
    masks = torch.randn(2, 5, 3, 12, 10, generator=generator)
    initial = start(tracker, batch=2)
    clip_ids, clip_state = tracker(scores, masks, initial)
    assert clip_ids.shape == (2, 5, 3) and clip_ids.dtype == torch.int64
    state = initial
    for t in range(5):
        frame_ids, state = tracker.forward_frame(scores[:, t], masks[:, t], state)
        assert torch.equal(frame_ids, clip_ids[:, t])
    for video in range(2):
        ids, alone = tracker(scores[video : video + 1], masks[video : video + 1], start(tracker))
        assert torch.equal(ids, clip_ids[video : video + 1])
        for batch_part, part in zip(clip_state, alone):
            assert torch.equal(batch_part[video : video + 1], part)


def test_wrong_inputs_and_state_fail_naming_the_tracker():
    tracker = make_tracker()
    state = start(tracker)
    with pytest.raises(
        ValueError, match=r"MaskIoUTracker: a frame needs scores \[B, N\] and masks \[B, N, h, w\]"
    ):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 2, 8), state)
    with pytest.raises(
        ValueError, match=r"MaskIoUTracker: a frame needs scores \[B, N\] and masks \[B, N, h, w\]"
    ):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 3, 8, 8), state)
    with pytest.raises(
        ValueError, match=r"MaskIoUTracker: a clip needs scores \[B, T, N\] and masks \[B, T, N, h, w\]"
    ):
        tracker(torch.ones(1, 2, 3), torch.ones(1, 2, 3, 8), state)
    with pytest.raises(
        ValueError,
        match=r"MaskIoUTracker: state memory has shape \(1, 4, 64\); expected \(1, 4, 16\) for 1 video\(s\), "
        r"max_tracks 4 and mask_size \* mask_size 16",
    ):
        make_tracker(mask_size=4).forward_frame(torch.ones(1, 2), torch.ones(1, 2, 8, 8), state)
    with pytest.raises(ValueError, match="MaskIoUTracker: state has 3 tensors; expected 4"):
        tracker.forward_frame(torch.ones(1, 2), torch.ones(1, 2, 8, 8), state[:3])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(match_threshold=0.0), r"match_threshold must be in \(0, 1\], got 0.0"),
        (dict(match_threshold=1.5), r"match_threshold must be in \(0, 1\], got 1.5"),
        (dict(keep_score=0.6, birth_score=0.5), r"keep_score \(0.6\) must not exceed birth_score \(0.5\)"),
        (dict(death_age=-1), "death_age must be at least 0, got -1"),
        (dict(max_tracks=0), "max_tracks must be at least 1, got 0"),
        (dict(mask_size=0), "mask_size must be at least 1, got 0"),
    ],
)
def test_invalid_config_is_refused_naming_the_tracker(overrides, message):
    with pytest.raises(ValueError, match=f"MaskIoUTracker: {message}"):
        make_tracker(**overrides)


# The instance model with the IoU tracker. Masks of the tiny model are 16 x 16 on 64 x 64 frames; the tracker's grid
# is 8 x 8.
MASK_TRACKER = dict(
    type="MaskIoUTracker",
    max_tracks=4,
    mask_size=8,
    match_threshold=0.3,
    birth_score=0.5,
    keep_score=0.3,
    death_age=1,
)
# Boxes on the 16 x 16 masks, on whole cells of the grid (2 x 2 pixels), three cells wide: Alice moves a cell right
# each frame and Bob a cell left, so each overlaps their previous mask by IoU 2 / 4.
ALICE_AT = [(0, 0, 8, 6), (0, 2, 8, 8), (0, 4, 8, 10), (0, 6, 8, 12)]
BOB_AT = [(8, 10, 16, 16), (8, 8, 16, 14), (8, 6, 16, 12), (8, 4, 16, 10)]
# Query -> (person probability, box) per frame; the people change queries, Bob is missing in frame 2, and every
# other query is background (probability 0.1, an empty mask).
VIDEO = [
    {0: (0.9, ALICE_AT[0]), 1: (0.8, BOB_AT[0])},
    {3: (0.9, ALICE_AT[1]), 0: (0.7, BOB_AT[1])},
    {2: (0.9, ALICE_AT[2])},
    {4: (0.9, BOB_AT[2]), 1: (0.8, ALICE_AT[3])},
]
# Alice is track 1 and Bob track 2 whichever query holds them; Bob, hidden for one frame (death_age 1), is back a
# cell from where he was last seen.
IDS = [[1, 2, -1, -1, -1], [2, -1, -1, 1, -1], [-1, -1, 1, -1, -1], [-1, 1, -1, -1, 2]]


class ScriptedHead:
    """Stands in for the head's forward: the given frames' predictions in order, with random embeddings (the
    tracker must not need them)."""

    def __init__(self, frames: list[dict]):
        self.frames = []
        generator = torch.Generator().manual_seed(0)
        for detections in frames:
            probabilities = [0.1] * QUERIES
            masks = torch.full((QUERIES, 16, 16), -5.0)
            for query, (probability, box) in detections.items():
                probabilities[query] = probability
                masks[query] = box_logits(box, (16, 16))
            embeddings = torch.randn(QUERIES, DIMS, generator=generator)
            self.frames.append((class_logits_for([probabilities])[0], masks, embeddings))

    def __call__(self, mask_features, memories) -> QueryPredictions:
        count = mask_features.shape[0]
        taken, self.frames = self.frames[:count], self.frames[count:]
        class_logits, mask_logits, embeddings = (torch.stack(part) for part in zip(*taken))
        return QueryPredictions((class_logits,), (mask_logits,), embeddings)


def tracked_model(monkeypatch, frames: list[dict]):
    model = build(tracker=MASK_TRACKER).eval()
    monkeypatch.setattr(model.head, "forward", ScriptedHead(frames))
    return model


def clip(frames: int) -> torch.Tensor:
    return torch.randn(1, frames, 3, 64, 64)


def test_the_model_takes_no_embedding_size_for_the_mask_tracker():
    model = build(tracker=MASK_TRACKER)
    assert isinstance(model.tracker, MaskIoUTracker) and not hasattr(model.tracker, "embed_dim")
    assert model.state_names == STATE and model.graph_state_names == ()
    assert model.output_names == ("masks", "scores", "embeddings", "track_ids")


def test_the_model_tracks_masks_by_clip_and_by_step(monkeypatch):
    model = tracked_model(monkeypatch, VIDEO)
    with torch.no_grad():
        outputs, state = model.forward_clip(clip(4), model.initial_state(torch.zeros(1, 3, 64, 64)))
    assert outputs["track_ids"][0].tolist() == IDS
    assert state[0].shape == (1, 4, 64) and state[3].tolist() == [[3]]

    model = tracked_model(monkeypatch, VIDEO)
    state, ids = None, []
    with torch.no_grad():
        for frame_inputs in clip(4).unbind(1):
            outputs, state = model.step(frame_inputs, state)
            ids.append(outputs["track_ids"][0].tolist())
    assert ids == IDS


def test_the_state_carries_the_ids_from_chunk_to_chunk(monkeypatch):
    model = tracked_model(monkeypatch, VIDEO + VIDEO[3:])
    with torch.no_grad():
        first, state = model.forward_clip(clip(2), model.initial_state(torch.zeros(1, 3, 64, 64)))
        second, state = model.forward_clip(clip(2), state)
        fresh, _ = model.forward_clip(clip(1), model.initial_state(torch.zeros(1, 3, 64, 64)))
    assert torch.cat([first["track_ids"], second["track_ids"]], dim=1)[0].tolist() == IDS
    # From no tracks, frame 3's people are new: Bob (0.9) first.
    assert fresh["track_ids"][0].tolist() == [[-1, 2, -1, -1, 1]]


def test_the_real_head_tracks_with_a_state_of_one_size_at_any_frame_size():
    model = build(tracker=MASK_TRACKER).eval()
    shapes = []
    for size in ((64, 64), (96, 64)):
        inputs = torch.randn(2, 3, 3, *size)
        with torch.no_grad():
            outputs, state = model.forward_clip(inputs, model.initial_state(inputs[:, 0]))
        assert outputs["masks"].shape[-2:] == (size[0] // 4, size[1] // 4)
        assert outputs["track_ids"].shape == (2, 3, QUERIES) and outputs["track_ids"].dtype == torch.int64
        shapes.append([tuple(part.shape) for part in state])
    assert shapes[0] == shapes[1] == [(2, 4, 64), (2, 4), (2, 4), (2, 1)]


def test_the_exported_graph_leaves_the_mask_tracker_outside(tmp_path):
    path = tmp_path / "vis_iou.onnx"
    report = export_model(build(tracker=MASK_TRACKER), path, shape=(64, 64), check_frames=3)
    assert list(report["inputs"]) == ["frame"] and report["state_names"] == []
    assert report["output_names"] == ["masks", "scores", "embeddings"]
    assert report["outside_graph"]["parts"] == {"tracker": "MaskIoUTracker"}
    assert report["outside_graph"]["outputs"] == ["track_ids"]
    assert report["outside_graph"]["state_names"] == [name.replace(".", "_") for name in STATE]
    session = ort.InferenceSession(str(path))
    assert [o.name for o in session.get_outputs()] == ["masks", "scores", "embeddings"]


def test_the_iou_linking_config_is_the_recipe_but_for_its_tracker():
    recipe, baseline = load_config(RECIPE).to_dict(), load_config(BASELINE).to_dict()
    assert recipe["model"].pop("tracker")["type"] == "EmbeddingTracker"
    assert baseline["model"].pop("tracker")["type"] == "MaskIoUTracker"
    assert baseline == recipe, (
        "the IoU-linking config restates the recipe but for its tracker: carry the recipe's change over"
    )
    # Neither tracker has weights: a checkpoint of the recipe loads into the baseline whole.
    recipe_model, baseline_model = (MODELS.build(load_config(path).model) for path in (RECIPE, BASELINE))
    baseline_model.load_state_dict(recipe_model.state_dict(), strict=True)
    assert isinstance(baseline_model.tracker, MaskIoUTracker) and baseline_model.tracker.mask_size == 64
