"""tools/infer.py and infer_video on a matting model: alpha, foreground and composite videos, streamed."""

import json
import threading
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from steadyseg.apis import inference, matting_videos
from steadyseg.apis.inference import (
    QUEUE_FRAMES,
    SegmentationVideos,
    StreamingSegmenter,
    infer_video,
    load_model,
    video_outputs_for,
)
from steadyseg.apis.matting_videos import GREEN_SCREEN, MattingVideos, cover
from steadyseg.apis.video_frames import iter_video_frames
from steadyseg.config import ConfigError
from tests.tools.helpers import load_tool
from tests.tools.matting_helpers import (
    SIZE,
    smooth_frames,
    write_checkpoint,
    write_matting_config,
    write_video,
)

FRAMES = 6
BLUE = (20, 40, 220)


@pytest.fixture(scope="module")
def matting(tmp_path_factory):
    """A tiny matting config with seeded weights, a 6-frame 64x96 video, and the model's outputs on its frames."""
    folder = tmp_path_factory.mktemp("matting")
    config = write_matting_config(folder)
    checkpoint = write_checkpoint(config, folder / "tiny.pth")
    video = write_video(folder / "clip.mp4", smooth_frames(FRAMES))
    model = load_model(config, checkpoint)
    segmenter = StreamingSegmenter(model)
    frames, _, _ = iter_video_frames(video)
    outputs = [segmenter.outputs(segmenter.prepare(frame)) for frame in frames]
    expected = {name: [o[name].numpy() for o in outputs] for name in ("alpha", "fgr")}
    return SimpleNamespace(config=config, checkpoint=checkpoint, video=video, model=model, expected=expected)


def decoded(path) -> list[np.ndarray]:
    frames, _, _ = iter_video_frames(path)
    return list(frames)


def through_codec(frames: list[np.ndarray], path) -> list[np.ndarray]:
    """``frames`` as they come back from a video written as the tool writes it (x264 lossless, yuv420p): the codec's
    own change (the colour planes at half resolution, the RGB <-> YUV rounding) is then the same on both sides."""
    return decoded(write_video(path, frames))


def composite(alpha: np.ndarray, fgr: np.ndarray, background) -> np.ndarray:
    """``alpha * fgr + (1 - alpha) * background`` from the model's outputs (``[1, H, W]``, ``[3, H, W]`` in [0, 1])
    and a background in 0..255, as uint8 ``[H, W, 3]``."""
    weight = alpha.transpose(1, 2, 0).astype(np.float64)
    blended = weight * 255 * fgr.transpose(1, 2, 0) + (1 - weight) * np.asarray(background, np.float64)
    return np.rint(blended).astype(np.uint8)


def max_difference(a: list[np.ndarray], b: list[np.ndarray]) -> int:
    return max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b, strict=True))


def test_cli_writes_alpha_foreground_and_composite_at_the_input_size(matting, tmp_path):
    out = tmp_path / "out"
    args = [str(matting.config), str(matting.checkpoint), str(matting.video), "--out", str(out), "--crf", "0"]
    summary = load_tool("infer").main([*args, "--background-color", *map(str, BLUE)])
    assert sorted(p.name for p in out.iterdir()) == [
        "clip_alpha.mp4",
        "clip_composite.mp4",
        "clip_fgr.mp4",
        "clip_summary.json",
    ]
    videos = {name: decoded(out / f"clip_{name}.mp4") for name in ("alpha", "fgr", "composite")}
    assert {name: [f.shape for f in frames] for name, frames in videos.items()} == {
        name: [(*SIZE, 3)] * FRAMES for name in videos
    }
    alpha, fgr = matting.expected["alpha"], matting.expected["fgr"]
    # Alpha is grey, the model's own matte frame by frame (RGB -> YUV -> RGB rounds by a level or two).
    assert all(np.abs(a.astype(int) - a[..., :1]).max() <= 1 for a in videos["alpha"])
    assert max_difference([v[..., 0] for v in videos["alpha"]], [np.rint(255 * a[0]) for a in alpha]) <= 2
    fgr_frames = [np.rint(255 * f.transpose(1, 2, 0)).astype(np.uint8) for f in fgr]
    assert max_difference(videos["fgr"], through_codec(fgr_frames, tmp_path / "fgr.mp4")) <= 2
    expected = [composite(a, f, BLUE) for a, f in zip(alpha, fgr)]
    assert max_difference(videos["composite"], through_codec(expected, tmp_path / "composite.mp4")) <= 2
    # The same check tells a background 20 levels off in one channel apart.
    wrong = [composite(a, f, (20, 40, 200)) for a, f in zip(alpha, fgr)]
    assert max_difference(videos["composite"], through_codec(wrong, tmp_path / "wrong.mp4")) >= 10
    assert summary["frames"] == FRAMES and summary["background"] == list(BLUE)
    assert summary["composite_video"] == str(out / "clip_composite.mp4")
    mean_alpha = np.mean([a.mean() for a in alpha])
    assert summary["mean_foreground_fraction"] == pytest.approx(mean_alpha, abs=1e-5)
    assert json.loads((out / "clip_summary.json").read_text()) == summary


# Solid frames of clearly different colours: which one a composite was made over shows in every pixel.
COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (220, 220, 30), (30, 220, 220), (220, 30, 220)]
COLOURS += [(128, 128, 128), (250, 250, 250), (10, 10, 10)]


@pytest.mark.parametrize("length", [4, 9], ids=["shorter: looped", "longer: cut"])
def test_a_background_video_is_looped_or_cut_to_the_input_length(length, matting, tmp_path, monkeypatch):
    # Another size than the input's (48x80): its frames are scaled to cover it.
    frames = [np.full((48, 80, 3), colour, np.uint8) for colour in COLOURS[:length]]
    background = write_video(tmp_path / "background.mp4", frames)
    opened, taken = [], []

    def counting(path, *args):
        frames, count, fps = iter_video_frames(path, *args)
        opened.append(path)
        return (taken.append(1) or frame for frame in frames), count, fps

    monkeypatch.setattr(matting_videos, "iter_video_frames", counting)
    summary = infer_video(
        matting.model, matting.video, tmp_path / "out", progress=False, background=background, crf=0
    )
    assert summary["frames"] == FRAMES and summary["background"] == str(background)
    # Read lazily, one background frame per input frame: a shorter video reopened, a longer one left unread.
    assert len(taken) == FRAMES and len(opened) == 1 + (length < FRAMES) + 1  # + 1: checked before running
    written = decoded(tmp_path / "out" / "clip_composite.mp4")
    alpha, fgr = matting.expected["alpha"], matting.expected["fgr"]
    # The composite's background is the background video's frame t (mod its length) as decoded and covered.
    backgrounds = [cover(frame, SIZE) for frame in decoded(background)]
    expected = [composite(alpha[t], fgr[t], backgrounds[t % length]) for t in range(FRAMES)]
    assert max_difference(written, through_codec(expected, tmp_path / "expected.mp4")) <= 2


def test_cover_scales_to_the_smallest_covering_size_and_crops_the_centre():
    """A 32x192 image of six 32-px column bands (values 0, 40, ..., 200) covering 64x96: scaled by 2 (64x384),
    the centre 96 columns (144-240) are original columns 72-120, i.e. band 2 (up to 96) then band 3."""
    image = np.repeat(np.repeat(np.arange(6, dtype=np.uint8) * 40, 32)[None, :, None], 32, axis=0)
    image = np.repeat(image, 3, axis=2)
    covered = cover(image, (64, 96))
    assert covered.shape == (64, 96, 3) and covered.flags.c_contiguous
    assert (covered[:, :46] == 80).all() and (covered[:, 50:] == 120).all()
    # A tall image: the width decides the scale (96 / 48 = 2, 200x96), the centre 64 rows are kept.
    tall = np.repeat(np.arange(100, dtype=np.uint8)[:, None, None], 48, axis=1).repeat(3, axis=2)
    rows = cover(tall, (64, 96))[:, 0, 0].astype(int)
    assert rows[0] in (33, 34) and rows[-1] in (65, 66) and (np.diff(rows) >= 0).all()
    assert cover(image, image.shape[:2]) is image


def test_a_background_image_is_composited_after_cover(matting, tmp_path):
    image = np.zeros((40, 200, 3), np.uint8)
    image[:, :, 0] = np.linspace(0, 255, 200, dtype=np.uint8)
    image[:, :, 2] = 180
    path = tmp_path / "background.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    infer_video(matting.model, matting.video, tmp_path / "out", 2, progress=False, background=path, crf=0)
    written = decoded(tmp_path / "out" / "clip_composite.mp4")
    alpha, fgr = matting.expected["alpha"], matting.expected["fgr"]
    expected = [composite(alpha[t], fgr[t], cover(image, SIZE)) for t in range(2)]
    assert max_difference(written, through_codec(expected, tmp_path / "expected.mp4")) <= 2


def test_frames_stream_through_bounded_queues(matting, tmp_path, monkeypatch):
    """However far decoding could run ahead and however slow encoding is, at most QUEUE_FRAMES + 1 frames wait on
    either side of the model (a full queue, and one held by the thread that blocks on it): memory stays flat over
    any video length. Both sides are pushed to the bound: the model waits on its first frame until decoding stops
    by itself, and encoding waits until the model has handed it QUEUE_FRAMES + 1 frames."""
    frames = 12
    video = write_video(tmp_path / "long.mp4", smooth_frames(frames, seed=1))
    decoded_count, rendered_count, ahead, behind = [0], [0], [], []
    encoder_gate = threading.Event()

    def counting(path, *args):
        frames, count, fps = iter_video_frames(path, *args)
        return (decoded_count.__setitem__(0, decoded_count[0] + 1) or frame for frame in frames), count, fps

    render = MattingVideos.render

    def gated_render(self, frame, outputs):
        assert encoder_gate.wait(timeout=30)
        rendered_count[0] += 1
        return render(self, frame, outputs)

    def on_frame(index):
        if index == 0:
            # Decoding runs ahead until the queue blocks it (it would run to the end without a bound).
            previous = -1
            while decoded_count[0] != previous:
                previous = decoded_count[0]
                threading.Event().wait(0.3)
        ahead.append(decoded_count[0] - (index + 1))
        behind.append(index + 1 - rendered_count[0])
        if index == QUEUE_FRAMES:
            encoder_gate.set()

    monkeypatch.setattr(inference, "iter_video_frames", counting)
    monkeypatch.setattr(MattingVideos, "render", gated_render)
    summary = infer_video(matting.model, video, tmp_path / "out", progress=False, on_frame=on_frame)
    assert summary["frames"] == frames and rendered_count[0] == frames
    assert max(ahead) == QUEUE_FRAMES + 1 and max(behind) == QUEUE_FRAMES + 1, (ahead, behind)


def test_an_interrupted_matting_run_leaves_no_files_and_closes_the_background(matting, tmp_path, monkeypatch):
    background = write_video(tmp_path / "background.mp4", [np.full((*SIZE, 3), c, np.uint8) for c in COLOURS])
    render, instances = MattingVideos.render, []

    def failing_render(self, frame, outputs):
        instances.append(self)
        if len(instances) == 3:
            raise RuntimeError("stopped on purpose")
        return render(self, frame, outputs)

    monkeypatch.setattr(MattingVideos, "render", failing_render)
    with pytest.raises(RuntimeError, match="stopped on purpose"):
        infer_video(matting.model, matting.video, tmp_path / "out", progress=False, background=background)
    assert list((tmp_path / "out").iterdir()) == []
    assert not [t.name for t in threading.enumerate() if t.name.endswith(" clip")]
    # The background video's generator has finished (its PyAV container closed).
    assert instances[0]._backgrounds.gi_frame is None


def test_the_model_family_decides_what_is_written():
    segmentation = video_outputs_for(SimpleNamespace(output_names=("logits",)))
    assert isinstance(segmentation, SegmentationVideos) and segmentation.videos == ("mask", "overlay")
    matting = video_outputs_for(SimpleNamespace(output_names=("alpha", "fgr", "seg_logits")))
    assert isinstance(matting, MattingVideos) and matting.videos == ("alpha", "fgr", "composite")
    assert matting.background == GREEN_SCREEN
    with pytest.raises(
        ConfigError,
        match=r"gives the outputs \('masks',\).*logits.*alpha \+ fgr.*masks \+ scores \(overlay videos\)",
    ):
        video_outputs_for(SimpleNamespace(output_names=("masks",)))
    with pytest.raises(ConfigError, match="take no background"):
        video_outputs_for(SimpleNamespace(output_names=("logits",)), background=(0, 0, 0))
    with pytest.raises(ValueError, match="three integers in 0..255"):
        video_outputs_for(SimpleNamespace(output_names=("alpha", "fgr")), background=(0, 0, 256))
    with pytest.raises(FileNotFoundError, match="background nope.png does not exist"):
        video_outputs_for(SimpleNamespace(output_names=("alpha", "fgr")), background="nope.png")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--background-color", "300", "0", "0"], "--background-color: each value must be at most 255"),
        (["--background-color", "0", "0", "0", "--background", "x.png"], "not allowed with argument"),
        (["--background", "nope.png"], "background nope.png does not exist"),
        (["--crf", "52"], "--crf: must be at most 51"),
    ],
)
def test_bad_matting_options_are_usage_errors(options, message, matting, tmp_path, capsys):
    args = [str(matting.config), "none", str(matting.video), "--out", str(tmp_path / "o"), *options]
    with pytest.raises(SystemExit) as exit_info:
        load_tool("infer").main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_segmentation_model_refuses_a_background_before_writing(matting, tmp_path):
    segmentation = SimpleNamespace(output_names=("logits",))
    with pytest.raises(ConfigError, match="written as mask, overlay videos, which take no background"):
        infer_video(segmentation, matting.video, tmp_path / "out", background=(0, 0, 0))
    assert not (tmp_path / "out").exists()
