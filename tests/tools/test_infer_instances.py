"""tools/infer.py and InstanceVideos on a video instance model: an overlay of the tracked people, their detections
streamed a line per frame, their tracks."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from steadyseg.apis.inference import (
    JsonLinesWriter,
    StreamingSegmenter,
    infer_video,
    load_model,
    video_outputs_for,
)
from steadyseg.apis.instance_videos import InstanceVideos, track_colour
from steadyseg.apis.video_frames import iter_video_frames
from tests.tools.helpers import REPO_ROOT, load_tool
from tests.tools.matting_helpers import SIZE, smooth_frames, write_video

VIS_CONFIG = REPO_ROOT / "configs/vis/mobilenetv3_query_vis_synthetic_256.py"
HEIGHT, WIDTH = 96, 128
GREY = 100
# Person probabilities (softmax over [person, no-object]) of the class logits below.
P_LOW, P_HIGH, P_TOP = 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(-4.0))


def block_logits(rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Mask logits at stride 4 (``[24, 32]``): +10 in ``rows x cols`` (low-resolution pixels), -20 elsewhere.

    Upsampled bilinearly x4 (low-resolution pixel ``i``'s centre at ``4 * i + 2``, full-size pixel ``x``'s at
    ``x + 0.5``), the logit crosses 0 a third of the way (4 / 3 pixels) from +10 to -20, so the mask at full size
    is rows ``[4 * rows[0] + 1, 4 * rows[1] - 1)`` (likewise columns), up to the edge where the block touches it."""
    logits = np.full((HEIGHT // 4, WIDTH // 4), -20.0, np.float32)
    logits[rows[0] : rows[1], cols[0] : cols[1]] = 10.0
    return logits


# Query 0: id 7, box [17, 17, 55, 47]; query 1: id 2, box [41, 33, 95, 71], overlapping it in rows 33..46 and
# columns 41..54; query 2: no tracked person (-1), rows 73..95 and columns 0..22.
MASKS = np.stack(
    [block_logits((4, 12), (4, 14)), block_logits((8, 18), (10, 24)), block_logits((18, 24), (0, 6))]
)
BOX_7, BOX_2, BOX_CORNER = [17, 17, 55, 47], [41, 33, 95, 71], [0, 73, 23, 96]


def instance_outputs(track_ids=(7, 2, -1), class_logits=((2.0, 0.0), (3.0, 0.0), (4.0, 0.0))) -> dict:
    return {
        "masks": MASKS,
        "scores": np.array(class_logits, np.float32),
        "track_ids": np.array(track_ids, np.int64),
    }


def grey_frame() -> np.ndarray:
    return np.full((HEIGHT, WIDTH, 3), GREY, np.uint8)


def tinted(track_id: int) -> np.ndarray:
    """The grey frame blended half and half with the track's colour."""
    return (GREY + np.array(track_colour(track_id))) / 2


def test_each_track_is_drawn_in_its_own_colour_with_its_id():
    frame = grey_frame()
    (overlay,) = InstanceVideos().render(frame, instance_outputs())
    assert overlay.shape == frame.shape and overlay.dtype == np.uint8
    assert track_colour(7) == (240, 50, 230) and track_colour(2) == (255, 225, 25)
    assert track_colour(14) == track_colour(2)
    # Inside each mask, away from the other: the frame half tinted by the track's colour.
    np.testing.assert_allclose(overlay[40, 25], tinted(7), atol=1)
    np.testing.assert_allclose(overlay[60, 70], tinted(2), atol=1)
    # Where they overlap the higher score (id 2, 0.95 over 0.88) is on top.
    np.testing.assert_allclose(overlay[40, 48], tinted(2), atol=1)
    # The outline is the pure colour on the mask's first column.
    assert tuple(overlay[30, 17]) == track_colour(7)
    # The id is written just above the mask: the grey strip above the box is drawn on, in the track's colour.
    above_7 = overlay[2:17, 17:40]
    assert (above_7 != GREY).any()
    assert (np.abs(above_7.astype(int) - track_colour(7)).max(axis=-1) <= 40).any()
    # The -1 detection (the best score of all) is neither drawn nor labelled, and the rest of the frame is untouched.
    assert (overlay[60:96, 0:23] == GREY).all()
    assert (overlay[:, 100:] == GREY).all()


def test_overlapping_people_are_drawn_in_score_order():
    (overlay,) = InstanceVideos().render(
        grey_frame(), instance_outputs(class_logits=((3.0, 0.0), (2.0, 0.0), (4.0, 0.0)))
    )
    np.testing.assert_allclose(overlay[40, 48], tinted(7), atol=1)


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_scores(lines: list[dict]) -> list[dict]:
    """The lines with each detection's score dropped, so the rest compares exactly."""
    return [
        {**line, "detections": [{k: v for k, v in d.items() if k != "score"} for d in line["detections"]]}
        for line in lines
    ]


def scores_of(lines: list[dict]) -> list[float]:
    return [d["score"] for line in lines for d in line["detections"]]


def stored_items(value) -> int:
    """The keys and leaves of the dicts, lists and tuples in ``value``: a cheap measure of what it keeps."""
    if isinstance(value, dict):
        return len(value) + sum(stored_items(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(stored_items(item) for item in value)
    return 1


# Frame 1 sees nobody; in frame 3 id 7 is query 2, in the bottom-left corner, with the best score.
TRACK_IDS = [(7, 2, -1), (-1, -1, -1), (7, -1, -1), (-1, 2, 7)]


def test_detections_stream_a_line_per_frame_and_the_tracks_summarize_them(tmp_path):
    videos = InstanceVideos()
    path = tmp_path / "people_detections.jsonl"
    with JsonLinesWriter(path) as lines:
        videos.stream({"detections": lines})
        for track_ids in TRACK_IDS:
            videos.render(grey_frame(), instance_outputs(track_ids))
        # Nothing is in place before the last frame is: only the temporary file, beside it.
        assert [p.name.startswith(".people_detections.jsonl.") for p in tmp_path.iterdir()] == [True]
    assert list(tmp_path.iterdir()) == [path]
    written = read_lines(path)
    assert without_scores(written) == [
        {"frame": 0, "detections": [{"id": 2, "box": BOX_2}, {"id": 7, "box": BOX_7}]},
        {"frame": 1, "detections": []},
        {"frame": 2, "detections": [{"id": 7, "box": BOX_7}]},
        {"frame": 3, "detections": [{"id": 2, "box": BOX_2}, {"id": 7, "box": BOX_CORNER}]},
    ]
    assert scores_of(written) == pytest.approx([P_HIGH, P_LOW, P_LOW, P_HIGH, P_TOP])

    assert videos.summary() == {"frames": 4, "tracks": 2}
    document = videos.documents()["tracks"]
    assert {key: value for key, value in document.items() if key != "tracks"} == {
        "ids": "tracker",
        "frames": 4,
        "height": HEIGHT,
        "width": WIDTH,
        "detections": "people_detections.jsonl",
    }
    two, seven = document["tracks"]
    assert two["mean_score"] == pytest.approx(P_HIGH)
    assert seven["mean_score"] == pytest.approx((2 * P_LOW + P_TOP) / 3)
    assert {key: value for key, value in two.items() if key != "mean_score"} == {
        "id": 2,
        "first_frame": 0,
        "last_frame": 3,
        "frames": 2,
        "union_box": BOX_2,
    }
    # The union of [17, 17, 55, 47] and [0, 73, 23, 96].
    assert {key: value for key, value in seven.items() if key != "mean_score"} == {
        "id": 7,
        "first_frame": 0,
        "last_frame": 3,
        "frames": 3,
        "union_box": [0, 17, 55, 96],
    }


def test_what_the_writer_keeps_does_not_grow_with_the_video(tmp_path):
    kept = {}
    for frames in (10, 100):
        videos = InstanceVideos()
        with JsonLinesWriter(tmp_path / f"{frames}_detections.jsonl") as lines:
            videos.stream({"detections": lines})
            for index in range(frames):
                videos.render(grey_frame(), instance_outputs(TRACK_IDS[index % len(TRACK_IDS)]))
        assert len(read_lines(tmp_path / f"{frames}_detections.jsonl")) == frames
        kept[frames] = stored_items(vars(videos))
    assert kept[10] == kept[100]


def test_a_json_lines_document_is_in_place_only_after_a_clean_close(tmp_path):
    path = tmp_path / "out" / "doc.jsonl"
    with JsonLinesWriter(path) as lines:
        lines.write({"frame": 0, "score": 0.5})
        lines.write({"frame": 1, "names": ["a", "b"]})
        assert not path.exists()
    assert path.read_text() == '{"frame": 0, "score": 0.5}\n{"frame": 1, "names": ["a", "b"]}\n'
    with pytest.raises(RuntimeError, match="stopped"), JsonLinesWriter(tmp_path / "failed.jsonl") as lines:
        lines.write({"frame": 0})
        raise RuntimeError("stopped")
    # No line: nothing worth keeping, as a video of no frame.
    with JsonLinesWriter(tmp_path / "empty.jsonl"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and list(path.parent.iterdir()) == [path]


def test_without_a_tracker_a_confident_query_is_its_own_track():
    outputs = instance_outputs(class_logits=((2.0, 0.0), (3.0, 0.0), (-1.0, 0.0)))
    del outputs["track_ids"]
    videos = InstanceVideos()
    (overlay,) = videos.render(grey_frame(), outputs)
    document = videos.documents()["tracks"]
    assert document["ids"] == "query index + 1"
    # Not streamed: the tracks are summarized all the same.
    assert document["detections"] is None
    # Query 2's probability, 0.27, is under 0.5: not an instance.
    assert [(t["id"], t["frames"], t["union_box"]) for t in document["tracks"]] == [
        (1, 1, BOX_7),
        (2, 1, BOX_2),
    ]
    np.testing.assert_allclose(overlay[40, 25], tinted(1), atol=1)
    assert (overlay[60:96, 0:23] == GREY).all()


def test_a_model_with_masks_and_scores_gets_the_instance_videos():
    names = ("masks", "scores", "embeddings", "track_ids")
    videos = video_outputs_for(SimpleNamespace(output_names=names))
    assert isinstance(videos, InstanceVideos) and videos.videos == ("overlay",)
    assert videos.streams == ("detections",)


def test_cli_on_the_vis_config_writes_the_overlay_and_the_tracks(tmp_path):
    frames = 4
    video = write_video(tmp_path / "people.mp4", smooth_frames(frames))
    out = tmp_path / "out"
    # Untrained weights, seeded: the tool and the reference below build the same model.
    torch.manual_seed(0)
    summary = load_tool("infer").main(
        [str(VIS_CONFIG), "none", str(video), "--out", str(out), "--threads", "1"]
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "people_detections.jsonl",
        "people_overlay.mp4",
        "people_summary.json",
        "people_tracks.json",
    ]
    overlay, _, _ = iter_video_frames(out / "people_overlay.mp4")
    assert [f.shape for f in overlay] == [(*SIZE, 3)] * frames
    assert summary["tracks_json"] == str(out / "people_tracks.json") and summary["frames"] == frames
    assert summary["detections_jsonl"] == str(out / "people_detections.jsonl")
    assert json.loads((out / "people_summary.json").read_text()) == summary

    torch.manual_seed(0)
    segmenter = StreamingSegmenter(load_model(VIS_CONFIG, None))
    reference = InstanceVideos()
    decoded, _, _ = iter_video_frames(video)
    with JsonLinesWriter(tmp_path / "reference" / "people_detections.jsonl") as lines:
        reference.stream({"detections": lines})
        for frame in decoded:
            outputs = segmenter.outputs(segmenter.prepare(frame))
            reference.render(frame, {name: value.numpy() for name, value in outputs.items()})
    expected_lines = read_lines(tmp_path / "reference" / "people_detections.jsonl")
    written_lines = read_lines(out / "people_detections.jsonl")
    assert [line["frame"] for line in written_lines] == list(range(frames))
    assert without_scores(written_lines) == without_scores(expected_lines)
    assert scores_of(written_lines) == pytest.approx(scores_of(expected_lines))

    expected = reference.documents()["tracks"]
    written = json.loads((out / "people_tracks.json").read_text())
    assert written["ids"] == "tracker" and summary["tracks"] == len(written["tracks"]) > 0
    assert written["detections"] == "people_detections.jsonl"
    # Each summary counts the track's lines of the stream.
    ids_seen = [d["id"] for line in written_lines for d in line["detections"]]
    assert [t["frames"] for t in written["tracks"]] == [ids_seen.count(t["id"]) for t in written["tracks"]]
    assert [t["mean_score"] for t in written["tracks"]] == pytest.approx(
        [t["mean_score"] for t in expected["tracks"]]
    )
    for track in [*written["tracks"], *expected["tracks"]]:
        del track["mean_score"]
    assert written == expected


def test_an_interrupted_run_leaves_no_detections_tracks_or_temporary_files(tmp_path, monkeypatch):
    video = write_video(tmp_path / "people.mp4", smooth_frames(5))
    render, streamed = InstanceVideos.render, []

    def failing_render(self, frame, outputs):
        if self.frames == 3:
            streamed.extend(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".tmp")
            raise RuntimeError("disk full")
        return render(self, frame, outputs)

    monkeypatch.setattr(InstanceVideos, "render", failing_render)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        infer_video(load_model(VIS_CONFIG, None), video, out, progress=False, threads=1)
    # Three frames' detections were written by then, under a temporary name, and are gone with everything else.
    assert len(streamed) == 1 and streamed[0].startswith(".people_detections.jsonl.")
    assert list(out.iterdir()) == []
