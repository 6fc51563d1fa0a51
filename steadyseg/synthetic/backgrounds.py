"""Backgrounds of synthetic videos: a texture fixed in world coordinates, filmed by the moving camera.

The texture is a random crop of a real photo or of a real person-free video (``--backgrounds``), or procedural
(gradient, ground plane, low-frequency noise, soft random shapes, fine grain). It covers everything the camera
sees over the whole video, so no frame samples past its border and the camera's flow is exact everywhere.

A video background plays its frames (one per synthetic frame, back and forth when it is shorter than the
video) under the camera motion, always through the same crop. Its flow is the camera's only: what moves in
the video itself (leaves in the wind) is not in it, so there the flow is not exact (``Background.moves``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import cv2
import numpy as np

from steadyseg.datasets.video_io import VIDEO_EXTENSIONS

from . import geometry as geo
from .camera import Camera
from .playback import back_and_forth

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# People in ../shared/data/backgrounds would be unlabelled "background": 0002.png shows two, and in tree.avi a
# hand reaches into the picture from frame 53 on. ``NAME`` leaves a file out, ``NAME@N`` a video's frames from
# N on (fnmatch patterns on file names).
DEFAULT_EXCLUDE = ("0002.png", "tree.avi@53")
# A video background is decoded whole, once per worker process: this bounds its memory (300 frames of
# 1920x1080 are 1.9 GB).
MAX_VIDEO_FRAMES = 300


@dataclass(frozen=True)
class BackgroundFile:
    """A background photo or video; of a video only the first ``frames`` are shown (``None``: all)."""

    path: Path
    frames: int | None = None


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _readable(path: Path) -> bool:
    if not is_video(path):
        return path.suffix.lower() in IMAGE_SUFFIXES and cv2.haveImageReader(str(path))
    capture = cv2.VideoCapture(str(path))
    try:
        return capture.read()[0]
    finally:
        capture.release()


def _parse_exclude(exclude: Sequence[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """File-name patterns, and ``(pattern, first left-out frame)`` of the ``NAME@N`` ones."""
    names, cuts = [], []
    for item in exclude:
        pattern, at, first = item.partition("@")
        if not at:
            names.append(pattern)
        elif first.isdigit() and int(first) > 0:
            cuts.append((pattern, int(first)))
        else:
            raise ValueError(f"{item}: bad background exclusion; expected NAME or NAME@N with N >= 1")
    return names, cuts


def list_backgrounds(
    paths: str | Path | Sequence[str | Path], exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> list[BackgroundFile]:
    """Background photos and videos: each of ``paths`` is one, or a folder whose readable photos and videos
    are taken (sorted). Names matching an ``exclude`` pattern are left out; ``NAME@N`` keeps a video's first
    N frames only."""
    names, cuts = _parse_exclude(exclude)
    found = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if not path.exists():
            raise ValueError(f"{path}: background file or folder does not exist")
        if path.is_dir():
            listed = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_EXTENSIONS
            )
            listed = [p for p in listed if not any(fnmatch(p.name, pattern) for pattern in names)]
            readable = [p for p in listed if _readable(p)]
            if not readable:
                raise ValueError(
                    f"{path}: no readable background images or videos "
                    f"({', '.join(IMAGE_SUFFIXES + VIDEO_EXTENSIONS)}"
                    + (f"; excluded: {', '.join(exclude)})" if exclude else ")")
                )
        elif any(fnmatch(path.name, pattern) for pattern in names):
            raise ValueError(f"{path}: background excluded by {', '.join(exclude)}")
        elif not _readable(path):
            raise ValueError(f"{path}: not a readable background image or video")
        else:
            readable = [path]
        for p in readable:
            limits = [first for pattern, first in cuts if is_video(p) and fnmatch(p.name, pattern)]
            found.append(BackgroundFile(p, min(limits, default=None)))
    return found


@functools.lru_cache(maxsize=8)
def load_image(path: str) -> np.ndarray:
    """A background photo as uint8 BGR, cached because every video of a worker may reuse it."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read background image")
    return image


@functools.lru_cache(maxsize=4)
def load_video(path: str) -> tuple[np.ndarray, ...]:
    """The frames OpenCV decodes from a background video (at most ``MAX_VIDEO_FRAMES``), uint8 BGR, cached.

    Decoding stops at the first frame that fails: a file may announce more frames than its decoder gives
    (../shared/data/backgrounds/tree.avi: 444 announced, 68 decoded), and the frames read are the video."""
    capture = cv2.VideoCapture(path)
    frames = []
    try:
        while len(frames) < MAX_VIDEO_FRAMES:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path}: cannot read background video")
    return tuple(frames)


@dataclass
class Background:
    """texture: ``[h, w, 3]`` float32 RGB in [0, 1], or ``[T, h, w, 3]``: one per frame of a video background.
    origin:  world coordinates of texture pixel (0, 0).
    source:  the photo or video it comes from (``None``: procedural)."""

    texture: np.ndarray
    origin: tuple[float, float]
    source: Path | None = None

    @property
    def moves(self) -> bool:
        """Whether it changes by itself (a video): then its flow covers only the camera's motion."""
        return self.texture.ndim == 4

    def to_frame(self, t: int, camera: Camera) -> np.ndarray:
        return camera.world_to_frame(t) @ geo.translate(*self.origin)

    def render(self, t: int, camera: Camera) -> tuple[np.ndarray, np.ndarray | None]:
        """Frame ``t``: RGB ``[H, W, 3]`` and backward flow ``[2, H, W]`` (``None`` at ``t == 0``)."""
        to_frame = self.to_frame(t, camera)
        rgb = cv2.warpAffine(
            self.texture[t] if self.moves else self.texture,
            np.linalg.inv(to_frame)[:2],
            (camera.width, camera.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        if t == 0:
            return rgb, None
        box = (0, camera.height, 0, camera.width)
        return rgb, geo.backward_flow(to_frame, self.to_frame(t - 1, camera), box)


def random_background(
    rng: np.random.Generator, camera: Camera, num_frames: int, backgrounds: Sequence[BackgroundFile] = ()
) -> Background:
    """A background covering every frame of ``camera``: a crop of one of the photos or videos
    ``backgrounds`` when given (a video from a random frame on), else procedural."""
    x0, y0, x1, y1 = camera.world_extent(num_frames)
    margin = 4
    left, top = int(np.floor(x0)) - margin, int(np.floor(y0)) - margin
    width, height = int(np.ceil(x1)) + margin - left + 1, int(np.ceil(y1)) + margin - top + 1
    origin = (float(left), float(top))
    if not backgrounds:
        return Background(procedural_texture(rng, height, width), origin)
    chosen = backgrounds[int(rng.integers(len(backgrounds)))]
    path = chosen.path
    if not is_video(path):
        return Background(image_texture(rng, [load_image(str(path))], height, width)[0], origin, path)
    video = load_video(str(path))[: chosen.frames]
    start = int(rng.integers(len(video)))
    frames = [video[back_and_forth(start + t, len(video))] for t in range(num_frames)]
    return Background(image_texture(rng, frames, height, width), origin, path)


def image_texture(
    rng: np.random.Generator, images: Sequence[np.ndarray], height: int, width: int
) -> np.ndarray:
    """``[n, height, width, 3]``: one random crop of same-sized BGR ``images`` (a photo, or frames of a video)
    with the aspect of ``height x width``, resized to it, maybe mirrored."""
    image_h, image_w = images[0].shape[:2]
    fit = min(image_h / height, image_w / width)
    # Zoom in at most ~3x, and shrink rather than enlarge whenever the photo is large enough.
    ratio = max(fit * rng.uniform(0.35, 1.0), min(fit, 1.0))
    crop_h, crop_w = min(image_h, round(height * ratio)), min(image_w, round(width * ratio))
    y = int(rng.integers(image_h - crop_h + 1))
    x = int(rng.integers(image_w - crop_w + 1))
    interpolation = cv2.INTER_AREA if ratio > 1 else cv2.INTER_LINEAR
    mirror = rng.random() < 0.5
    textures = []
    for image in images:
        texture = cv2.resize(
            image[y : y + crop_h, x : x + crop_w], (width, height), interpolation=interpolation
        )
        textures.append(cv2.cvtColor(texture[:, ::-1] if mirror else texture, cv2.COLOR_BGR2RGB))
    return np.stack(textures).astype(np.float32) / 255.0


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int, channels: int) -> np.ndarray:
    """Random values on a grid of ``cells`` along the shorter side, interpolated up; about [-1, 1]."""
    side = min(height, width)
    grid_shape = (max(2, round(cells * height / side)), max(2, round(cells * width / side)), channels)
    grid = rng.uniform(-1, 1, grid_shape).astype(np.float32)
    noise = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return noise.reshape(height, width, channels)


def _random_rgb(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


def procedural_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xs / width + np.sin(angle) * ys / height
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    first, second = _random_rgb(rng), _random_rgb(rng)
    texture = first + (second - first) * ramp[..., None]
    if rng.random() < 0.5:
        horizon = rng.uniform(0.35, 0.75) * height
        ground = 1.0 / (1.0 + np.exp(-(ys - horizon) / (0.02 * height)))
        texture += (_random_rgb(rng) - texture) * ground[..., None]
    texture += 0.12 * _smooth_noise(rng, height, width, int(rng.integers(3, 8)), 3)

    side = min(height, width)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(4, 20))):
        mask[:] = 0
        centre = (int(rng.uniform(0, width) * 16), int(rng.uniform(0, height) * 16))
        kind = rng.integers(3)
        if kind == 0:
            radius = int(rng.uniform(0.03, 0.2) * side * 16)
            cv2.circle(mask, centre, radius, 255, -1, cv2.LINE_AA, shift=4)
        elif kind == 1:
            axes = (int(rng.uniform(0.03, 0.3) * side * 16), int(rng.uniform(0.03, 0.3) * side * 16))
            cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, shift=4)
        else:
            points = rng.uniform(0, 1, (int(rng.integers(3, 6)), 2)) * [width, height] * 16
            cv2.fillPoly(mask, [points.astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        coverage = mask.astype(np.float32)[..., None] * (rng.uniform(0.3, 1.0) / 255.0)
        texture += (_random_rgb(rng) - texture) * coverage
    texture *= 1.0 + 0.05 * _smooth_noise(rng, height, width, max(2, side // 3), 1)
    return np.clip(texture, 0.0, 1.0).astype(np.float32)
