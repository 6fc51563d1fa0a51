"""Tiny dataset fixtures written into ``tmp_path`` (never into the repository)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from decord import VideoReader
from PIL import Image

import steadyseg.datasets  # noqa: F401  (registers the datasets and transforms)

SYN_H, SYN_W = 32, 48
SYN_FLOW = (-2.0, 1.0)  # (dx, dy): the scene moves 2 px right and 1 px up per frame
SYN_PEOPLE = {1: (6, 4, 16, 20), 2: (26, 8, 36, 26)}  # track id -> box (x0, y0, x1, y1) on the scene canvas
SYN_FPS = 12


def _palette_png(path: Path, ids: np.ndarray) -> None:
    """Write ``ids`` as a palette PNG, the format of DAVIS 2017 and the synthetic annotations."""
    image = Image.fromarray(ids.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0, 220, 20, 60, 0, 128, 255] + [128] * (3 * 253))
    image.save(path)


def synthetic_frame(t: int, height: int = SYN_H, width: int = SYN_W) -> tuple[np.ndarray, np.ndarray]:
    """Frame t (RGB) and its instance ids: a window moving over a fixed scene; backward flow = SYN_FLOW."""
    canvas_h, canvas_w = height + 20, width + 20
    ys, xs = np.mgrid[0:canvas_h, 0:canvas_w]
    scene = np.stack([xs * 3, ys * 4, xs + ys], axis=-1).astype(np.uint8)
    ids = np.zeros((canvas_h, canvas_w), np.uint8)
    for track, (x0, y0, x1, y1) in SYN_PEOPLE.items():
        scene[y0:y1, x0:x1] = (40 * track, 200, 255 - 60 * track)
        ids[y0:y1, x0:x1] = track
    # frame_t(x) = scene(x + offset_t) = frame_{t-1}(x + flow)  =>  offset_t = offset_0 + t * flow
    ox, oy = 8 + int(SYN_FLOW[0]) * t, 4 + int(SYN_FLOW[1]) * t
    return scene[oy : oy + height, ox : ox + width], ids[oy : oy + height, ox : ox + width]


def write_mp4(path: Path, frames: list[np.ndarray], fps: int = SYN_FPS) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def write_synthetic(root: Path, fmt: str = "frames", num_frames: int = 4, width: int = SYN_W) -> Path:
    """The layout of tools/make_synthetic.py: train videos v0, v1 and val video v2, all alike.

    decord 0.6.0 fails to decode videos of some small widths (16, 24, 48, 72 px), so mp4 tests use 64.
    """
    splits = {"train": ["v0", "v1"], "val": ["v2"]}
    meta = dict(
        seed=0,
        size=[SYN_H, width],
        fps=SYN_FPS,
        num_frames=num_frames,
        splits=splits,
        classes=["background", "person"],
        format=fmt,
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta.json").write_text(json.dumps(meta))
    flow = np.stack([np.full((SYN_H, width), c, np.float32) for c in SYN_FLOW])
    for split, videos in splits.items():
        for video in videos:
            folders = {
                name: root / split / name / video
                for name in ("JPEGImages", "Annotations", "alpha", "fgr", "flow")
            }
            for name, folder in folders.items():
                if name != "JPEGImages" or fmt == "frames":
                    folder.mkdir(parents=True)
            frames = []
            for t in range(num_frames):
                frame, ids = synthetic_frame(t, SYN_H, width)
                frames.append(frame)
                if fmt == "frames":
                    cv2.imwrite(str(folders["JPEGImages"] / f"{t:05d}.jpg"), frame[..., ::-1])
                _palette_png(folders["Annotations"] / f"{t:05d}.png", ids)
                cv2.imwrite(str(folders["alpha"] / f"{t:05d}.png"), (ids > 0).astype(np.uint8) * 255)
                cv2.imwrite(str(folders["fgr"] / f"{t:05d}.jpg"), (frame * (ids > 0)[..., None])[..., ::-1])
                if t > 0:
                    np.save(folders["flow"] / f"{t:05d}.npy", flow)
            if fmt == "mp4":
                (root / split / "videos").mkdir(exist_ok=True)
                write_mp4(root / split / "videos" / f"{video}.mp4", frames)
        (root / split / "instances.json").write_text(json.dumps({"videos": [], "annotations": []}))
    return root


@pytest.fixture
def synthetic_root(tmp_path) -> Path:
    return write_synthetic(tmp_path / "synthetic")


@pytest.fixture
def davis2017_root(tmp_path, shared_data) -> Path:
    """DAVIS 2017 layout holding the first 6 frames of the real schoolgirls clip and its palette masks."""
    root = tmp_path / "davis2017"
    frame_dir = root / "JPEGImages" / "480p" / "schoolgirls"
    mask_dir = root / "Annotations" / "480p" / "schoolgirls"
    frame_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    frames = (
        VideoReader(str(shared_data / "davis_schoolgirls" / "schoolgirls.mp4")).get_batch(range(6)).asnumpy()
    )
    for t, frame in enumerate(frames):
        cv2.imwrite(str(frame_dir / f"{t:05d}.jpg"), frame[..., ::-1])
        shutil.copy(shared_data / "davis_schoolgirls" / "masks" / f"{t:05d}.png", mask_dir / f"{t:05d}.png")
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("schoolgirls\n")
    return root


def _write_tiny_davis(root: Path, sequences: dict[str, int], size: tuple[int, int] = (24, 32)) -> Path:
    """A DAVIS 2016 layout with ``sequences`` {name: frame count} of plain frames and binary masks."""
    height, width = size
    for name, count in sequences.items():
        (root / "JPEGImages" / "480p" / name).mkdir(parents=True)
        (root / "Annotations" / "480p" / name).mkdir(parents=True)
        for t in range(count):
            frame = np.full((height, width, 3), 10 * t, np.uint8)
            mask = np.zeros((height, width), np.uint8)
            mask[4:12, 6 + t : 14 + t] = 255
            cv2.imwrite(str(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg"), frame)
            cv2.imwrite(str(root / "Annotations" / "480p" / name / f"{t:05d}.png"), mask)
    return root


@pytest.fixture
def palette_png():
    """``palette_png(path, ids)`` writes instance ids as a palette PNG."""
    return _palette_png


@pytest.fixture
def tiny_davis():
    """``tiny_davis(root, {name: frame count})`` writes a small DAVIS 2016 layout."""
    return _write_tiny_davis


@pytest.fixture
def synthetic_writer():
    """``synthetic_writer(root, fmt, num_frames, width)`` writes the synthetic layout."""
    return write_synthetic
