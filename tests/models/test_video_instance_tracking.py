"""The instance model with its tracker: ids that follow people across frames and contiguous clips (the tracker's
state is the model's), tubes grouped by track id, and an export whose graph is the per-frame head alone."""

import json
from pathlib import Path

import onnxruntime as ort
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from steadyseg.deploy.export import export_model
from steadyseg.deploy.profiler import profile_model
from steadyseg.engine import ClipStream
from steadyseg.models.heads.query_mask_head import QueryPredictions
from steadyseg.models.segmentors.base_video_segmentor import BaseVideoSegmentor
from steadyseg.models.stateful import StateLayout
from steadyseg.models.trackers import EmbeddingTracker
from steadyseg.structures import VideoDataSample
from tests.models.test_video_instance_model import DIMS, QUERIES, build, class_logits_for, tubes

TRACKER = dict(
    type="EmbeddingTracker", max_tracks=4, match_threshold=0.5, birth_score=0.5, keep_score=0.3, death_age=1
)
TRACKER_STATE = ("tracker.memory", "tracker.track_ids", "tracker.ages", "tracker.next_id")
ALICE, BOB, CAROL = 0, 1, 2
# Frames of one video: query -> (person, person probability); every other query is background (0.1, an embedding
# of its own). Alice and Bob change queries from frame to frame, Alice is weak in frame 2 (kept, not born), Bob is
# missing there and back in frame 3, when Carol arrives.
VIDEO = [
    {0: (ALICE, 0.9), 1: (BOB, 0.8)},
    {3: (ALICE, 0.9), 0: (BOB, 0.7)},
    {2: (ALICE, 0.4)},
    {4: (BOB, 0.9), 1: (CAROL, 0.8)},
]
# Alice is track 1 and Bob track 2 (born in frame 0, by score); both keep their ids whichever query holds them.
FIRST_CLIP_IDS = [[1, 2, -1, -1, -1], [2, -1, -1, 1, -1], [-1, -1, 1, -1, -1]]
# Frame 3 after the first clip: Bob (unseen for one frame, death_age 1) is still track 2; Carol is new, track 3.
CONTINUED_IDS = [[-1, 3, -1, -1, 2]]
# Frame 3 from the initial state: both are new, Bob (0.9) first.
FRESH_IDS = [[-1, 2, -1, -1, 1]]


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def basis(index: int) -> torch.Tensor:
    return F.one_hot(torch.tensor(index), DIMS).float()


def scripted_frame(detections: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Class logits ``[Q, 2]``, mask logits ``[Q, 2, 2]`` and embeddings ``[Q, D]`` of one frame of ``VIDEO``."""
    probabilities = [0.1] * QUERIES
    embeddings = torch.stack([basis(8 + query) for query in range(QUERIES)])
    for query, (person, probability) in detections.items():
        probabilities[query] = probability
        embeddings[query] = basis(person)
    return class_logits_for([probabilities])[0], torch.zeros(QUERIES, 2, 2), embeddings


class ScriptedHead:
    """Stands in for the head's forward: hands out the given frames' predictions in order, as many as it is given
    frames (clip-major, as the model flattens them)."""

    def __init__(self, frames: list[dict]):
        self.frames = [scripted_frame(detections) for detections in frames]

    def __call__(self, mask_features, memories) -> QueryPredictions:
        count = mask_features.shape[0]
        if count > len(self.frames):
            raise AssertionError(f"the model asked for {count} frames; {len(self.frames)} are left")
        taken, self.frames = self.frames[:count], self.frames[count:]
        class_logits, mask_logits, embeddings = (torch.stack(part) for part in zip(*taken))
        return QueryPredictions((class_logits,), (mask_logits,), embeddings)


def tracked_model(monkeypatch, frames: list[dict], **overrides):
    model = build(tracker=TRACKER, **overrides).eval()
    monkeypatch.setattr(model.head, "forward", ScriptedHead(frames))
    return model


def clip(frames: int) -> torch.Tensor:
    return torch.randn(1, frames, 3, 32, 32)


def test_the_tracker_state_is_the_models_but_not_the_graphs():
    model = build(tracker=TRACKER)
    assert model.tracker.embed_dim == DIMS, "filled in from the head"
    assert model.output_names == ("masks", "scores", "embeddings", "track_ids")
    assert model.graph_output_names == ("masks", "scores", "embeddings")
    assert model.state_names == TRACKER_STATE and model.is_recurrent
    assert model.graph_state_names == ()
    state = model.initial_state(torch.zeros(1, 3, 32, 32))
    assert len(state) == 4 and model.state_layout.graph_part(state) == ()
    untracked = build()
    assert untracked.output_names == untracked.graph_output_names == ("masks", "scores", "embeddings")
    assert untracked.state_names == untracked.graph_state_names == ()


def test_ids_follow_people_across_the_frames_of_a_clip_and_step_by_step(monkeypatch):
    model = tracked_model(monkeypatch, VIDEO[:3])
    with torch.no_grad():
        outputs, state = model.forward_clip(clip(3), model.initial_state(torch.zeros(1, 3, 32, 32)))
    assert outputs["track_ids"].dtype == torch.int64
    assert outputs["track_ids"][0].tolist() == FIRST_CLIP_IDS
    assert [name for name in outputs] == list(model.output_names)
    assert state[3].tolist() == [[3]], "next_id after two births"

    model = tracked_model(monkeypatch, VIDEO[:3])
    state, ids = None, []
    with torch.no_grad():
        for frame in clip(3).unbind(1):
            outputs, state = model.step(frame, state)
            ids.append(outputs["track_ids"][0].tolist())
    assert ids == FIRST_CLIP_IDS


def test_a_continuing_clip_keeps_the_ids_and_a_fresh_state_restarts_them(monkeypatch):
    model = tracked_model(monkeypatch, VIDEO + VIDEO[3:])
    with torch.no_grad():
        _, state = model.forward_clip(clip(3), model.initial_state(torch.zeros(1, 3, 32, 32)))
        continued, _ = model.forward_clip(clip(1), state)
        fresh, _ = model.forward_clip(clip(1), model.initial_state(torch.zeros(1, 3, 32, 32)))
    assert continued["track_ids"][0].tolist() == CONTINUED_IDS
    assert fresh["track_ids"][0].tolist() == FRESH_IDS


def evaluation_batch(video: str, frame_indices: list[int]) -> dict:
    metainfo = dict(video_id=video, frame_indices=frame_indices, ori_shape=(32, 32), img_shape=(32, 32))
    frames = torch.randint(0, 256, (len(frame_indices), 3, 32, 32), dtype=torch.uint8)
    return {"inputs": [frames], "data_samples": [VideoDataSample(metainfo=metainfo)]}


def test_evaluation_carries_the_tracker_across_contiguous_clips_only(monkeypatch):
    # What VideoValLoop / VideoTestLoop do: the next clip of the same video continues; another video restarts.
    model = tracked_model(monkeypatch, VIDEO + VIDEO[3:])
    stream = ClipStream()
    with torch.no_grad():
        (first,) = stream.predict(model, evaluation_batch("a", [0, 1, 2]))
        (continued,) = stream.predict(model, evaluation_batch("a", [3]))
        (other_video,) = stream.predict(model, evaluation_batch("b", [0]))
    assert first.pred_instances.track_ids.tolist() == [1, 2]
    assert continued.pred_instances.track_ids.tolist() == [2, 3]
    assert other_video.pred_instances.track_ids.tolist() == [1, 2]


def test_training_does_not_run_the_tracker(monkeypatch):
    model = build(tracker=TRACKER).train()

    def refuse(*args):
        raise AssertionError("the tracker ran in training")

    monkeypatch.setattr(model.tracker, "forward", refuse)
    inputs = torch.randn(2, 3, 3, 64, 64)
    losses = model(inputs, [VideoDataSample(gt_instances=tubes()) for _ in range(2)], mode="loss")
    assert set(losses) == {"loss_cls", "loss_mask", "loss_dice"}
    state = model.initial_state(inputs[:, 0])
    outputs, next_state = model.forward_clip(inputs, state)
    assert outputs["track_ids"].shape == (2, 3, QUERIES) and (outputs["track_ids"] == -1).all()
    assert all(after is before for after, before in zip(next_state, state))


def test_postprocess_gives_one_tube_per_track_id_over_the_frames_it_is_detected_in():
    model = build(tracker=TRACKER)
    # Three queries whose masks are one pixel each of the 2 x 2 frame: query 0 the top left, 1 the top right,
    # 2 the bottom left. Track 1 is query 0, then 2, then 2; track 7 is query 1, then 0, then absent.
    pixels = [(0, 0), (0, 1), (1, 0)]
    mask_logits = torch.full((3, 3, 2, 2), -5.0)
    for query, (row, column) in enumerate(pixels):
        mask_logits[:, query, row, column] = 5.0
    track_ids = torch.tensor([[1, 7, -1], [7, -1, 1], [-1, -1, 1]])
    probabilities = [[0.9, 0.8, 0.1], [0.7, 0.2, 0.6], [0.1, 0.3, 0.5]]
    outputs = {
        "masks": mask_logits[None],
        "scores": class_logits_for(probabilities)[None],
        "track_ids": track_ids[None],
    }
    sample = VideoDataSample(metainfo=dict(ori_shape=(2, 2)))
    model.postprocess(outputs, [sample])
    pred = sample.pred_instances
    assert pred.track_ids.tolist() == [1, 7] and pred.labels.tolist() == [1, 1]
    # Mean person probability over the frames each track is detected in: (0.9 + 0.6 + 0.5) / 3, (0.8 + 0.7) / 2.
    torch.testing.assert_close(pred.scores, torch.tensor([2.0 / 3.0, 0.75]))

    def only(pixel):
        mask = torch.zeros(2, 2, dtype=torch.bool)
        mask[pixel] = True
        return mask

    empty = torch.zeros(2, 2, dtype=torch.bool)
    assert pred.masks.shape == (2, 3, 2, 2) and pred.masks.dtype == torch.bool
    expected = [
        [only(pixels[0]), only(pixels[2]), only(pixels[2])],
        [only(pixels[1]), only(pixels[0]), empty],
    ]
    for tube, frames in enumerate(expected):
        for t, mask in enumerate(frames):
            assert torch.equal(pred.masks[tube, t], mask), (tube, t)


def test_postprocess_without_a_tracked_detection_gives_no_tubes():
    model = build(tracker=TRACKER)
    outputs = {
        "masks": torch.zeros(1, 2, 3, 2, 2),
        "scores": class_logits_for([[0.9, 0.8, 0.1]] * 2)[None],
        "track_ids": torch.full((1, 2, 3), -1),
    }
    sample = VideoDataSample(metainfo=dict(ori_shape=(6, 8)))
    model.postprocess(outputs, [sample])
    pred = sample.pred_instances
    assert pred.masks.shape == (0, 2, 6, 8) and pred.masks.dtype == torch.bool
    assert pred.track_ids.shape == pred.labels.shape == pred.scores.shape == (0,)


def test_the_exported_graph_is_the_per_frame_head_and_the_tracker_stays_outside(tmp_path):
    model = build(tracker=TRACKER)
    path = tmp_path / "vis.onnx"
    report = export_model(model, path, shape=(64, 64), check_frames=3)
    assert list(report["inputs"]) == ["frame"] and report["state_names"] == []
    assert report["output_names"] == list(report["outputs"]) == ["masks", "scores", "embeddings"]
    assert report["outside_graph"] == {
        "parts": {"tracker": "EmbeddingTracker"},
        "runs": "after the graph, on its outputs, every frame; the app carries their state beside the graph's",
        "outputs": ["track_ids"],
        "state_names": [name.replace(".", "_") for name in TRACKER_STATE],
    }
    assert json.loads(Path(f"{path}.json").read_text()) == report
    assert report["check"]["max_abs_diff"] <= 1e-4
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["frame"]
    assert [o.name for o in session.get_outputs()] == ["masks", "scores", "embeddings"]

    # The graph's outputs are the head's outputs of the whole model, which the tracker then reads.
    frame = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outputs, _ = model.step_at_input_scale(frame)
    graph_outputs = session.run(None, {"frame": frame.numpy()})
    for name, value in zip(model.graph_output_names, graph_outputs):
        torch.testing.assert_close(torch.from_numpy(value), outputs[name], atol=1e-4, rtol=1e-4, msg=name)
    assert outputs["track_ids"].shape == (1, QUERIES)


def test_graph_step_refuses_state_the_graph_does_not_keep():
    model = build(tracker=TRACKER)
    tracker_state = model.initial_state(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"the graph keeps no state .* got 4 tensor\(s\)"):
        model.graph_step(torch.zeros(1, 3, 32, 32), tracker_state)


class Counter(nn.Module):
    """An in-graph stateful part: the number of frames seen, per video."""

    state_names = ("count",)

    def initial_state(self, frame):
        return (frame.new_zeros(frame.shape[0], 1),)

    def forward(self, frames: int, state):
        (count,) = state
        return (count + frames,)


class CountingTracked(BaseVideoSegmentor):
    """A 1x1 classifier, a frame counter in the graph and a tracker outside it; no ``graph_step`` of its own."""

    def __init__(self):
        super().__init__()
        self.classifier = nn.Conv2d(3, 2, 1)
        self.counter = Counter()
        self.tracker = EmbeddingTracker(max_tracks=2, embed_dim=4)

    def forward_clip(self, inputs, state):
        parts = self.state_layout.split(state)
        parts["counter"] = self.counter(inputs.shape[1], parts["counter"])
        logits = self.classifier(inputs.flatten(0, 1)).unflatten(0, inputs.shape[:2])
        return {"logits": logits}, self.state_layout.join(parts)

    def loss(self, inputs, data_samples):
        return {}


class CountingTrackedGraph(CountingTracked):
    """:class:`CountingTracked` with the step of its graph: the classifier and the counter."""

    def graph_step(self, frame, graph_state=None):
        if graph_state is None:
            graph_state = self.state_layout.graph_part(self.initial_state(frame))
        return {"logits": self.classifier(frame)}, self.counter(1, graph_state)


def test_the_layout_separates_graph_state_from_the_state_of_parts_outside_the_graph():
    model = CountingTracked()
    layout = StateLayout(model)
    assert layout.names == ("counter.count", *TRACKER_STATE)
    assert layout.graph_names == model.graph_state_names == ("counter.count",)
    assert [path for path, _ in layout.host_parts] == ["tracker"]
    state = layout.initial(torch.zeros(1, 3, 8, 8))
    (count,) = layout.graph_part(state)
    assert count is state[0]
    with pytest.raises(ValueError, match="expected 5"):
        layout.graph_part(state[:1])
    # A model with a part outside the graph must say what its graph computes.
    with pytest.raises(
        NotImplementedError, match="tracker run.* outside the exported graph .* define graph_step"
    ):
        model.graph_step(torch.zeros(1, 3, 8, 8))


def test_export_and_profile_carry_the_graph_state_and_leave_the_rest_to_the_app(tmp_path):
    path = tmp_path / "counting.onnx"
    report = export_model(CountingTrackedGraph(), path, shape=(8, 8), check_frames=3)
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["frame", "counter_count"]
    assert [o.name for o in session.get_outputs()] == ["logits", "next_counter_count"]
    assert report["state_names"] == ["counter_count"] and report["initial_state_is_zero"] == {
        "counter_count": True
    }
    assert report["outside_graph"]["outputs"] == []
    assert report["outside_graph"]["state_names"] == [name.replace(".", "_") for name in TRACKER_STATE]

    # The profile times the graph (its state after one frame: a count of 1) and names the tracker as not measured.
    record = profile_model(CountingTrackedGraph(), shape=(8, 8), runs=2, warmup=0, state_frames=1)
    assert record["input"]["state"] == [[1, 1]] and record["input"]["recurrent"]
    assert record["outside_graph"]["parts"] == {"tracker": "EmbeddingTracker"}


def test_a_wrong_tracker_width_or_person_label_is_named():
    with pytest.raises(
        ValueError, match=r"tracker.embed_dim=8 disagrees with the head's embed_dims, which give 16"
    ):
        build(tracker={**TRACKER, "embed_dim": 8})
    with pytest.raises(
        ValueError, match=r"person_label=2 \(the class the tracker follows\) is not among class_labels=\(1,\)"
    ):
        build(tracker=TRACKER, person_label=2)
