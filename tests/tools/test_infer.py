import json

import decord
import pytest
import torch

from steadyseg.apis.checkpoint import CheckpointError
from steadyseg.apis.inference import infer_video, iter_video_frames, load_model
from steadyseg.datasets.errors import VideoDataError
from tests.tools.helpers import REPO_ROOT, run_tool

CONFIG = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = load_model(CONFIG, None)
    path = tmp_path_factory.mktemp("ckpt") / "model.pth"
    torch.save({"state_dict": model.state_dict()}, path)
    return path


def test_cli_writes_mask_and_overlay_videos_frame_by_frame(shared_data, checkpoint, tmp_path):
    video = shared_data / "davis_schoolgirls" / "schoolgirls.mp4"
    run_tool(
        "infer.py",
        str(CONFIG),
        str(checkpoint),
        str(video),
        "--out",
        str(tmp_path),
        "--max-frames",
        "5",
        "--short-side",
        "96",
    )
    for name in ("schoolgirls_mask.mp4", "schoolgirls_overlay.mp4"):
        reader = decord.VideoReader(str(tmp_path / name))
        assert len(reader) == 5
        assert reader[0].shape == (240, 432, 3)
    summary = json.loads((tmp_path / "schoolgirls_summary.json").read_text())
    assert summary["frames"] == 5 and summary["fps"] == 24.0
    assert 0.0 <= summary["mean_foreground_fraction"] <= 1.0


def test_frame_folder_input(shared_data, checkpoint, tmp_path):
    model = load_model(CONFIG, checkpoint)
    folder = shared_data / "davis_people" / "JPEGImages" / "480p" / "rollerblade"
    summary = infer_video(model, folder, tmp_path, short_side=64, max_frames=3, progress=False)
    assert summary["frames"] == 3
    assert decord.VideoReader(summary["overlay_video"])[0].shape == (480, 854, 3)


def test_loaded_weights_are_the_checkpoint(checkpoint):
    model = load_model(CONFIG, checkpoint)
    saved = torch.load(checkpoint, weights_only=True)["state_dict"]
    name = "segmentor.decode_head.conv_seg.weight"
    torch.testing.assert_close(model.state_dict()[name], saved[name])


def test_missing_video_is_one_clear_error(tmp_path):
    with pytest.raises(VideoDataError, match="nope.mp4: video file not found"):
        iter_video_frames(tmp_path / "nope.mp4")


def test_corrupt_video_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(VideoDataError, match="bad.mp4: cannot decode video"):
        iter_video_frames(bad)


def test_empty_frame_folder_is_one_clear_error(tmp_path):
    with pytest.raises(VideoDataError, match="frame folder has no images"):
        iter_video_frames(tmp_path)


def test_missing_checkpoint_is_one_clear_error(tmp_path):
    result = run_tool(
        "infer.py", str(CONFIG), str(tmp_path / "x.pth"), "v.mp4", "--out", str(tmp_path), check=False
    )
    assert result.returncode != 0 and "x.pth does not exist" in result.stderr


def test_checkpoint_of_another_model_is_refused(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    state["segmentor.decode_head.conv_seg.weight"] = state["segmentor.decode_head.conv_seg.weight"][:1]
    state["segmentor.extra.weight"] = state.pop("segmentor.decode_head.conv_seg.bias")
    other = tmp_path / "other.pth"
    torch.save({"state_dict": state}, other)
    with pytest.raises(CheckpointError) as error:
        load_model(CONFIG, other)
    assert str(error.value).startswith(f"checkpoint {other} does not fit the model of {CONFIG}: ")
    for part in (
        "1 missing: segmentor.decode_head.conv_seg.bias",
        "1 unexpected: segmentor.extra.weight",
        "1 mis-shaped (checkpoint vs model): segmentor.decode_head.conv_seg.weight (1, ",
    ):
        assert part in str(error.value)


def test_cli_reports_a_mismatched_checkpoint_in_one_line(tmp_path):
    # The ConvGRU model shares no key with the per-frame one: before, it ran with random weights.
    other = tmp_path / "per_frame.pth"
    torch.save({"state_dict": load_model(CONFIG, None).state_dict()}, other)
    convgru = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_convgru_synthetic_256.py"
    result = run_tool(
        "infer.py", str(convgru), str(other), str(tmp_path), "--out", str(tmp_path / "o"), check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: checkpoint {other} does not fit the model of {convgru}: "
    )
    assert "nothing in common" in result.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-frames", "0"], "argument --max-frames: must be at least 1, got 0"),
        (["--short-side", "-5"], "argument --short-side: must be at least 1, got -5"),
        (["--video", "nope.mp4"], "video nope.mp4 does not exist"),
    ],
)
def test_bad_arguments_are_usage_errors_before_the_model_is_built(args, message, tmp_path):
    video = args[1] if args[0] == "--video" else str(tmp_path)
    options = [] if args[0] == "--video" else args
    result = run_tool(
        "infer.py", str(CONFIG), "none", video, "--out", str(tmp_path / "o"), *options, check=False
    )
    assert result.returncode == 2 and message in result.stderr
