import json
import signal
import subprocess
import sys
import threading
import time

import cv2
import decord
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from steadyseg.apis import inference
from steadyseg.apis.checkpoint import CheckpointError
from steadyseg.apis.inference import (
    STAGES,
    StreamingSegmenter,
    infer_video,
    iter_video_frames,
    labels_from_logits,
    load_model,
)
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.transforms import PackVideoInputs
from steadyseg.datasets.video_io import read_image_rgb
from steadyseg.visualization import VideoWriter, colorize_labels, overlay_labels
from steadyseg.visualization.overlay import DEFAULT_PALETTE
from tests.tools.helpers import REPO_ROOT, run_tool

CONFIG = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
SCHOOLGIRLS = "davis_schoolgirls/schoolgirls.mp4"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = load_model(CONFIG, None)
    path = tmp_path_factory.mktemp("ckpt") / "model.pth"
    torch.save({"state_dict": model.state_dict()}, path)
    return path


def test_cli_writes_mask_and_overlay_videos_frame_by_frame(shared_data, checkpoint, tmp_path):
    video = shared_data / SCHOOLGIRLS
    run_tool(
        "infer.py",
        str(CONFIG),
        str(checkpoint),
        str(video),
        "--out",
        str(tmp_path),
        "--max-frames",
        "5",
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
    summary = infer_video(model, folder, tmp_path, max_frames=3, progress=False)
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
    # The ConvGRU model holds the per-frame model's weights under the same keys, plus its GRUs: a per-frame checkpoint
    # leaves those missing (before the strict check, they ran with random weights).
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
    assert "missing: temporal.grus.0." in result.stderr and "--partial-load" in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-frames", "0"], "argument --max-frames: must be at least 1, got 0"),
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


def _reference_labels(model, frames):
    """The straightforward implementation, kept as the reference: the frame interpolated as float to the model's
    input scale, probabilities at frame size, their arg-max."""
    state, labels = None, []
    with torch.no_grad():
        for frame in frames:
            height, width = frame.shape[:2]
            scale = model.input_short_side / min(height, width)
            clip = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
            size = (round(height * scale), round(width * scale))
            clip = F.interpolate(clip, size=size, mode="bilinear", align_corners=False)
            inputs = model.data_preprocessor({"inputs": [clip]})["inputs"][:, 0]
            outputs, state = model.step_at_input_scale(inputs, state)
            logits = F.interpolate(
                outputs["logits"], size=(height, width), mode="bilinear", align_corners=False
            )
            labels.append(logits.softmax(dim=1)[0].argmax(dim=0).numpy())
    return labels


@pytest.fixture(scope="module")
def split_model(shared_data):
    """The untrained model with its person bias moved so that about half of a real frame is "person": masks
    with long boundaries, where any difference between two implementations shows."""
    model = load_model(CONFIG, None)
    frame = decord.VideoReader(str(shared_data / SCHOOLGIRLS))[0].asnumpy()
    segmenter = StreamingSegmenter(model)
    logits = segmenter.step(segmenter.prepare(frame)).numpy()
    with torch.no_grad():
        model.segmentor.decode_head.conv_seg.bias[1] -= float(np.median(logits[1] - logits[0]))
    return model


def test_streaming_labels_match_the_straightforward_reference_on_a_real_clip(shared_data, split_model):
    video = shared_data / SCHOOLGIRLS
    reader = decord.VideoReader(str(video))
    decord_frames = [reader[i].asnumpy() for i in range(4)]
    frames, _, _ = iter_video_frames(video)
    frames = [frame for _, frame in zip(range(4), frames)]
    # PyAV decodes the pixels decord decodes for the datasets.
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(frames, decord_frames)) <= 2
    segmenter = StreamingSegmenter(split_model)
    reference = _reference_labels(split_model, decord_frames)
    for frame, expected in zip(frames, reference):
        labels = segmenter.labels(frame)
        assert labels.shape == (240, 432) and labels.dtype == np.uint8
        assert 0.1 < expected.mean() < 0.9
        # Only pixels on the boundary may differ (the frame is normalized before it is resized, the logits are
        # upsampled by OpenCV).
        assert (labels == expected).mean() > 0.99
    segmenter.reset()
    probabilities = segmenter(frames[0])
    assert probabilities.shape == (2, 240, 432) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, rtol=1e-5)
    assert (probabilities.argmax(axis=0) == reference[0]).mean() > 0.99


def first_frame(shared_data, source):
    if source.endswith(".mp4"):
        frames, _, _ = iter_video_frames(shared_data / source)
        return next(frames)
    return read_image_rgb(shared_data / source)


@pytest.mark.parametrize(
    "source, size",
    [
        ("davis_people/JPEGImages/480p/hike/00000.jpg", (256, 455)),  # 854 * 256 / 480 = 455.47
        ("people_videos/carphone.mp4", (256, 313)),  # 176 * 256 / 144 = 312.89: rounded, not truncated
    ],
)
def test_inference_gives_the_model_the_input_the_test_pipeline_gives(shared_data, source, size):
    """tools/infer.py (StreamingSegmenter.prepare) and tools/test.py (PackVideoInputs, the model's data
    preprocessor) hand the model the same full frame, to the bit; the model scales both alike."""
    frame = first_frame(shared_data, source)
    model = load_model(CONFIG, None)
    packed = PackVideoInputs()(dict(imgs=[frame]))
    tested = model.data_preprocessor({"inputs": [packed["inputs"]]})["inputs"][:, 0]
    prepared = StreamingSegmenter(model).prepare(frame)
    assert prepared.shape == (1, 3, *frame.shape[:2])
    assert torch.equal(prepared, tested)
    assert model.to_input_scale(prepared).shape == (1, 3, *size)
    with torch.no_grad():
        logits = model.step(prepared)[0]["logits"]
    assert logits.shape == (1, 2, *size), "step computes and answers at the model's input scale"


@pytest.mark.parametrize("classes", [2, 5])
def test_labels_from_logits_is_the_arg_max_of_bilinear_upsampling(classes):
    logits = torch.randn(1, classes, 24, 40, generator=torch.Generator().manual_seed(classes))
    expected = F.interpolate(logits, size=(75, 121), mode="bilinear", align_corners=False)[0].argmax(dim=0)
    labels = labels_from_logits(logits[0].numpy(), (75, 121))
    assert labels.dtype == np.uint8 and labels.shape == (75, 121)
    # OpenCV's float bilinear weights differ from torch's in the last bits: only near-ties may flip.
    assert (labels == expected.numpy()).mean() > 0.999


def test_summary_reports_time_per_stage(shared_data, checkpoint, tmp_path):
    model = load_model(CONFIG, checkpoint)
    threads = torch.get_num_threads()
    summary = infer_video(model, shared_data / SCHOOLGIRLS, tmp_path, 3, False, threads=1)
    assert torch.get_num_threads() == threads
    assert set(summary["ms_per_frame"]) == {*STAGES, "total"}
    assert all(value > 0 for value in summary["ms_per_frame"].values())
    assert json.loads((tmp_path / "schoolgirls_summary.json").read_text()) == summary
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "schoolgirls_mask.mp4",
        "schoolgirls_overlay.mp4",
        "schoolgirls_summary.json",
    ]


class _FailAt:
    """Calls ``function`` and raises ``error`` on call number ``at`` (1-based)."""

    def __init__(self, function, at, error):
        self.function, self.at, self.error, self.calls = function, at, error, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise self.error
        return self.function(*args, **kwargs)


@pytest.mark.parametrize(
    "where",
    ["model step (main thread)", "preprocess (decode thread)", "overlay (encode thread)", "Ctrl-C"],
)
def test_an_interrupted_run_leaves_no_files_and_no_threads(
    where, shared_data, checkpoint, tmp_path, monkeypatch
):
    model = load_model(CONFIG, checkpoint)
    error = RuntimeError("stopped on purpose")
    on_frame = None
    if where.startswith("model"):
        monkeypatch.setattr(model, "step", _FailAt(model.step, 3, error))
    elif where.startswith("preprocess"):
        prepare = _FailAt(StreamingSegmenter.prepare, 4, error)
        monkeypatch.setattr(StreamingSegmenter, "prepare", lambda self, frame: prepare(self, frame))
    elif where.startswith("overlay"):
        monkeypatch.setattr(inference, "overlay_labels", _FailAt(inference.overlay_labels, 3, error))
    else:
        error = KeyboardInterrupt()
        on_frame = _FailAt(lambda index: None, 3, error)
    threads = torch.get_num_threads()
    with pytest.raises(type(error)):
        infer_video(
            model,
            shared_data / SCHOOLGIRLS,
            tmp_path / "out",
            max_frames=20,
            progress=False,
            threads=1,
            on_frame=on_frame,
        )
    assert list((tmp_path / "out").iterdir()) == []
    assert not [t.name for t in threading.enumerate() if t.name.endswith("schoolgirls")]
    assert torch.get_num_threads() == threads


def _reference_overlay(frame, labels, opacity=0.5):
    """Each labelled region blended in float, then its outline drawn: the straightforward version."""
    out = frame.astype(np.float32)
    for label in np.unique(labels)[1:]:
        colour = DEFAULT_PALETTE[label % len(DEFAULT_PALETTE)].astype(np.float32)
        out[labels == label] = (1 - opacity) * out[labels == label] + opacity * colour
    out = out.round().astype(np.uint8)
    for label in np.unique(labels)[1:]:
        region = (labels == label).astype(np.uint8)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, DEFAULT_PALETTE[label % len(DEFAULT_PALETTE)].tolist(), 1)
    return out


@pytest.mark.parametrize("classes", [1, 2, 7])
def test_overlay_matches_per_region_float_blending(classes):
    frame = np.random.default_rng(classes).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    labels = np.zeros((60, 90), np.int64)
    for label in range(1, classes):
        labels[5 * label : 5 * label + 20, 8 * label : 8 * label + 30] = label
    overlay = overlay_labels(frame, labels)
    # uint8 blending rounds where float blending is exact: at most one level apart.
    assert np.abs(overlay.astype(int) - _reference_overlay(frame, labels)).max() <= 1
    np.testing.assert_array_equal(overlay_labels(frame, labels.astype(np.uint8)), overlay)
    np.testing.assert_array_equal(colorize_labels(labels), DEFAULT_PALETTE[labels % len(DEFAULT_PALETTE)])


def test_video_writer_round_trip_keeps_the_colours(tmp_path):
    """OpenCV converts to yuv420p (odd sizes padded): decoded back, smooth frames are what was written."""
    ramp = np.linspace(0, 255, 47, dtype=np.float32)
    frame = np.stack([np.tile(ramp, (33, 1)), np.full((33, 47), 120.0), np.tile(ramp[::-1], (33, 1))], axis=2)
    frame = frame.astype(np.uint8)
    with VideoWriter(tmp_path / "odd.mp4", fps=5) as writer:
        for _ in range(3):
            writer.write(frame)
    frames, num_frames, _ = iter_video_frames(tmp_path / "odd.mp4")
    assert num_frames == 3
    decoded = list(frames)[1]
    assert decoded.shape == (34, 48, 3)
    assert np.abs(decoded[:33, :47].astype(int) - frame).mean() < 4


def test_ctrl_c_mid_video_leaves_no_files(shared_data, checkpoint, tmp_path):
    video = shared_data / "people_videos" / "opencv_vtest.avi"
    command = [sys.executable, str(REPO_ROOT / "tools/infer.py"), str(CONFIG), str(checkpoint), str(video)]
    process = subprocess.Popen(
        [*command, "--out", str(tmp_path), "--threads", "1"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # A shell that runs the suite in the background ignores SIGINT, and a child that inherits the ignore gets
        # no KeyboardInterrupt: give the tool the disposition of an interactive run.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    partial = tmp_path / ".opencv_vtest_overlay.partial.mp4"
    deadline = time.monotonic() + 300
    # Interrupted once x264 has written frames, so the partial files hold real data.
    while not (partial.is_file() and partial.stat().st_size > 0) and process.poll() is None:
        assert time.monotonic() < deadline, "tools/infer.py wrote no frame within 300 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr
    assert list(tmp_path.iterdir()) == []
