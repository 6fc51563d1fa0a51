"""tools/discover.py end to end on tiny synthetic corpora with the smoke config's tiny model."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from steadyseg.apis.inference import iter_video_frames, load_model
from steadyseg.datasets import CollectionDataset, VideoDataError
from steadyseg.datasets.transforms.clip_geometry import resize_image
from steadyseg.discovery import FrameEmbedder, RecordStore, SegmentIndex, load_segments, scan
from tests.discovery.helpers import (
    REPO_ROOT,
    TINY_CONFIG,
    discover,
    moving_square,
    run,
    save_tiny_checkpoint,
    write_video,
)


def test_records_index_and_collections_of_a_corpus(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    summary = run(checkpoint, corpus, out, "--teacher", str(TINY_CONFIG), str(checkpoint), "--top-k", "2")
    assert (summary["videos"], summary["scanned"], summary["segments"], summary["index"]) == (
        2,
        2,
        5,
        "exact",
    )
    store = RecordStore(out)
    walk = store.read(next(key for key in store.video_keys() if key.startswith("walk-")))
    assert walk.header["frames"] == 10 and (walk.header["height"], walk.header["width"]) == (72, 96)
    assert [frame["frame"] for frame in walk.frames] == list(range(10))
    assert walk.frames[0]["flicker"] is None and walk.frames[1]["flicker"] is not None
    # The teacher is the model itself: they agree on every pixel.
    assert all(frame["disagreement"] == 0.0 and frame["disagreement_iou"] == 0.0 for frame in walk.frames)
    assert [(s["start"], s["end"]) for s in walk.segments] == [(0, 4), (4, 8), (8, 10)]
    assert walk.segments[2]["entropy"] == pytest.approx(np.mean([f["entropy"] for f in walk.frames[8:]]))
    assert walk.frame_embeddings.shape == (10, 88) and walk.segment_embeddings.shape == (3, 88)
    index = SegmentIndex.load(out / "index")
    assert len(index) == 5 and [walk.header["key"], 8, 10] in index.rows
    failures = json.loads((out / "collections" / "failures.json").read_text())["segments"]
    assert len(failures) == 2 and failures[0]["scores"]["failure"] >= failures[1]["scores"]["failure"]
    dataset = CollectionDataset(collection=out / "collections" / "failures.json", pipeline=[])
    assert len(dataset) == 2


def test_a_corpus_segment_retrieves_itself_first(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    run(checkpoint, corpus, out, "--query-segment", str(corpus / "walk.mp4"), "4", "8", "--top-k", "3")
    retrieved = json.loads((out / "collections" / "retrieved.json").read_text())["segments"]
    assert len(retrieved) == 3
    assert (retrieved[0]["start"], retrieved[0]["end"]) == (4, 8) and retrieved[0]["video"].endswith(
        "walk.mp4"
    )
    assert retrieved[0]["scores"]["similarity"] == pytest.approx(1.0, abs=1e-5)
    similarities = [entry["scores"]["similarity"] for entry in retrieved]
    assert similarities == sorted(similarities, reverse=True)


def test_novelty_against_the_corpus_itself_is_zero(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    run(checkpoint, corpus, out)
    run(checkpoint, corpus, out, "--reference", str(out))
    novel = json.loads((out / "collections" / "novel.json").read_text())["segments"]
    assert len(novel) == 5 and all(
        entry["scores"]["novelty"] == pytest.approx(0, abs=1e-5) for entry in novel
    )


def test_an_interrupted_corpus_resumes_without_recomputing_finished_videos(
    checkpoint, corpus, tmp_path, monkeypatch
):
    broken = corpus / "broken.mp4"
    broken.write_bytes(b"not a video")
    listing = tmp_path / "videos.txt"
    listing.write_text(f"{corpus / 'walk.mp4'}\n{broken}\n")
    out = tmp_path / "out"
    with pytest.raises(VideoDataError, match="broken.mp4"):
        run(checkpoint, listing, out)
    store = RecordStore(out)
    assert [key.split("-")[0] for key in store.video_keys()] == ["walk"]
    finished = store.videos / f"{store.video_keys()[0]}.jsonl"
    before = (finished.read_bytes(), finished.stat().st_mtime_ns)
    write_video(broken, moving_square(5, seed=2))
    scanned = []
    original = scan.scan_video
    monkeypatch.setattr(
        scan, "scan_video", lambda source, *a, **k: scanned.append(source) or original(source, *a, **k)
    )
    summary = run(checkpoint, listing, out)
    assert scanned == [broken] and (summary["scanned"], summary["resumed"]) == (1, 1)
    assert (finished.read_bytes(), finished.stat().st_mtime_ns) == before
    assert len(load_segments(RecordStore(out)).rows) == 3 + 2


def test_resuming_with_another_segment_length_is_refused(checkpoint, corpus, tmp_path):
    run(checkpoint, corpus, tmp_path / "out")
    with pytest.raises(discover.DiscoveryError, match="segment_length=4, this run has segment_length=8"):
        run(checkpoint, corpus, tmp_path / "out", "--segment-length", "8")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--weight", "speed=1"], "--weight 'speed=1': unknown signal 'speed'"),
        (["--teacher", "missing.py"], "--teacher: config file missing.py does not exist"),
        (["--query-frame", "video.mp4", "x"], "--query-frame: frame numbers must be integers"),
        (["--query-segment", "video.mp4", "5", "5"], "--query-segment: END must be greater than START"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(
    checkpoint, corpus, tmp_path, capsys, options, message
):
    with pytest.raises(SystemExit) as exit_info:
        run(checkpoint, corpus, tmp_path / "out", *options)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_missing_corpus_is_one_line_naming_it(checkpoint, tmp_path):
    command = [sys.executable, str(REPO_ROOT / "tools" / "discover.py"), str(TINY_CONFIG), str(checkpoint)]
    command += [str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"error: {tmp_path / 'nowhere'}: no such video file or folder"
    )


def test_embeddings_from_another_model(checkpoint, corpus, tmp_path):
    other = save_tiny_checkpoint(tmp_path / "other.pth", seed=1)
    out = tmp_path / "out"
    run(checkpoint, corpus / "walk.mp4", out, "--embedder", str(TINY_CONFIG), str(other))
    store = RecordStore(out)
    records = store.read(store.video_keys()[0])
    embedder = FrameEmbedder(load_model(TINY_CONFIG, other))
    frame = next(iter_video_frames(corpus / "walk.mp4")[0])
    np.testing.assert_allclose(records.frame_embeddings[0], embedder.embed_frame(frame), atol=1e-6)
    own = FrameEmbedder(load_model(TINY_CONFIG, checkpoint)).embed_frame(frame)
    assert not np.allclose(records.frame_embeddings[0], own, atol=1e-3)


@pytest.mark.slow
def test_real_people_videos_with_mediapipe_as_teacher(shared_data, tmp_path):
    config = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
    student = tmp_path / "student.pth"
    torch.manual_seed(0)
    torch.save({"state_dict": load_model(config, None).state_dict()}, student)
    videos = shared_data / "people_videos" / "davis_unlabelled"
    listing = tmp_path / "videos.txt"
    listing.write_text(f"{videos / 'motocross-jump.mp4'}\n{videos / 'motorbike.mp4'}\n")
    teacher = REPO_ROOT / "configs/baselines/mediapipe_selfie_256.py"
    out = tmp_path / "out"
    argv = [str(config), str(student), str(listing), "--out", str(out), "--no-progress", "--top-k", "4"]
    summary = discover.main(
        [*argv, "--teacher", str(teacher), "--query-frame", str(videos / "motorbike.mp4"), "20"]
    )
    assert (summary["videos"], summary["segments"]) == (2, 3 + 3)  # 40 and 43 frames, segments of 16
    store = RecordStore(out)
    frames = {key.split("-")[0]: store.read(key).frames for key in store.video_keys()}
    assert {name: len(records) for name, records in frames.items()} == {"motocross": 40, "motorbike": 43}
    for records in frames.values():
        assert all(frame["disagreement_iou"] is not None for frame in records)
        assert all(frame["flicker_flow"] is not None for frame in records[1:])
    failures = json.loads((out / "collections" / "failures.json").read_text())["segments"]
    retrieved = json.loads((out / "collections" / "retrieved.json").read_text())["segments"]
    assert len(failures) == 4 and retrieved[0]["video"].endswith("motorbike.mp4")
    assert (
        retrieved[0]["start"] == 16
        and len(CollectionDataset(collection=out / "collections" / "retrieved.json")) == 4
    )


def test_scan_video_stops_at_max_frames_and_hands_out_each_frames_logits(checkpoint, corpus):
    model = load_model(TINY_CONFIG, checkpoint)
    models = scan.DiscoveryModels(model, FrameEmbedder(model))
    seen = []
    records = scan.scan_video(
        corpus / "walk.mp4",
        models,
        2,
        progress=False,
        max_frames=3,
        on_logits=lambda index, logits: seen.append((index, logits.shape)),
    )
    assert [frame["frame"] for frame in records.frames] == [0, 1, 2]
    assert [(s["start"], s["end"]) for s in records.segments] == [(0, 2), (2, 3)]
    # The tiny model's logits: 2 classes at its 85x64 input's size.
    assert seen == [(0, (2, 64, 85)), (1, (2, 64, 85)), (2, (2, 64, 85))]


def test_signals_and_embeddings_are_computed_at_the_models_input_scale(checkpoint, corpus, monkeypatch):
    model = load_model(TINY_CONFIG, checkpoint)
    model.input_short_side = 48
    images, logit_shapes = [], []
    add = scan.VideoSignals.add
    monkeypatch.setattr(
        scan.VideoSignals, "add", lambda self, image, *rest: images.append(image) or add(self, image, *rest)
    )
    records = scan.scan_video(
        corpus / "walk.mp4",
        scan.DiscoveryModels(model, FrameEmbedder(model)),
        segment_length=2,
        progress=False,
        max_frames=2,
        on_logits=lambda index, logits: logit_shapes.append(logits.shape),
    )
    # The 96x72 frames at short side 48 are 64x48: the model computes there and the signals see that frame.
    assert logit_shapes == [(2, 48, 64)] * 2 and [image.shape for image in images] == [(48, 64, 3)] * 2
    frame = next(iter_video_frames(corpus / "walk.mp4")[0])
    np.testing.assert_array_equal(images[0], resize_image(frame, (64, 48)))
    # The embedding hooked in the model's step and the encoder run alone (queries) see the same input.
    np.testing.assert_allclose(
        records.frame_embeddings[0], FrameEmbedder(model).embed_frame(frame), atol=1e-6
    )


def test_records_are_keyed_by_the_input_scale_of_the_loaded_model(checkpoint, corpus, tmp_path, monkeypatch):
    load_models = discover.load_models

    def at_short_side_48(*args):
        models = load_models(*args)
        models.model.input_short_side = 48
        return models

    monkeypatch.setattr(discover, "load_models", at_short_side_48)
    out = tmp_path / "out"
    run(checkpoint, corpus / "walk.mp4", out, "--no-report")
    assert RecordStore(out).settings["input_short_side"] == 48
    monkeypatch.undo()
    # The config's own scale (64) is another one: its records do not go into the same folder.
    with pytest.raises(
        discover.DiscoveryError, match="input_short_side=48, this run has input_short_side=64"
    ):
        run(checkpoint, corpus / "walk.mp4", out, "--no-report")


def tiny_config_with(tmp_path, extra: str):
    """The tiny config, moved to ``tmp_path`` (its base named by absolute path) with ``extra`` lines added."""
    text = TINY_CONFIG.read_text().replace('"../vss/', f'"{TINY_CONFIG.parents[1] / "vss"}/')
    config = tmp_path / "tiny_with_discovery.py"
    config.write_text(f"{text}\n{extra}\n")
    return config


def test_the_configs_weights_rank_under_the_weight_options(checkpoint, corpus, tmp_path):
    config = tiny_config_with(tmp_path, "discovery = dict(weights=dict(flicker=2.0, uncertainty_iou=0))")
    argv = [str(config), str(checkpoint), str(corpus), "--segment-length", "4", "--no-progress"]
    summary = discover.main([*argv, "--out", str(tmp_path / "a")])
    assert summary["weights"] == dict(flicker_iou=1.0, disagreement_iou=1.0, flicker=2.0)
    summary = discover.main([*argv, "--out", str(tmp_path / "b"), "--weight", "flicker=0.5"])
    assert summary["weights"] == dict(flicker_iou=1.0, disagreement_iou=1.0, flicker=0.5)


def test_a_bad_weight_in_the_config_names_the_file_and_key(checkpoint, corpus, tmp_path):
    config = tiny_config_with(tmp_path, "discovery = dict(weights=dict(speed=1.0))")
    with pytest.raises(discover.DiscoveryError, match=f"{config}: discovery.weights.speed: unknown signal"):
        discover.main([str(config), str(checkpoint), str(corpus), "--out", str(tmp_path / "out")])
