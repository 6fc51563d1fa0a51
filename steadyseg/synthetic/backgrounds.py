"""Backgrounds of synthetic videos: a texture fixed in world coordinates, filmed by the moving camera.

The texture is either a random crop of a real photo (``--backgrounds DIR``) or procedural (gradient, ground
plane, low-frequency noise, soft random shapes, fine grain). It covers everything the camera sees over the
whole video, so no frame samples past its border and the camera's flow is exact everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import cv2
import numpy as np

from . import geometry as geo
from .camera import Camera

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# ../shared/data/backgrounds/0002.png shows two real people, who would be unlabelled "background".
DEFAULT_EXCLUDE = ("0002.png",)


def list_background_images(directory: str | Path, exclude: Sequence[str] = DEFAULT_EXCLUDE) -> list[Path]:
    """The images in ``directory`` that OpenCV can read, less names matching an ``exclude`` pattern."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: backgrounds directory does not exist")
    paths = sorted(
        path
        for path in directory.iterdir()
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(fnmatch(path.name, pattern) for pattern in exclude)
        and cv2.haveImageReader(str(path))
    )
    if not paths:
        raise ValueError(
            f"{directory}: no readable background images ({', '.join(IMAGE_SUFFIXES)}"
            + (f"; excluded: {', '.join(exclude)})" if exclude else ")")
        )
    return paths


@functools.lru_cache(maxsize=8)
def load_image(path: str) -> np.ndarray:
    """A background photo as uint8 BGR, cached because every video of a worker may reuse it."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read background image")
    return image


@dataclass
class Background:
    texture: np.ndarray  # [h, w, 3] float32 RGB in [0, 1]
    origin: tuple[float, float]  # world coordinates of texture pixel (0, 0)

    def to_frame(self, t: int, camera: Camera) -> np.ndarray:
        return camera.world_to_frame(t) @ geo.translate(*self.origin)

    def render(self, t: int, camera: Camera) -> tuple[np.ndarray, np.ndarray | None]:
        """Frame ``t``: RGB ``[H, W, 3]`` and backward flow ``[2, H, W]`` (``None`` at ``t == 0``)."""
        to_frame = self.to_frame(t, camera)
        rgb = cv2.warpAffine(
            self.texture,
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
    rng: np.random.Generator, camera: Camera, num_frames: int, images: Sequence[Path] = ()
) -> Background:
    """A background covering every frame of ``camera``: a crop of one of ``images`` when given."""
    x0, y0, x1, y1 = camera.world_extent(num_frames)
    margin = 4
    left, top = int(np.floor(x0)) - margin, int(np.floor(y0)) - margin
    width, height = int(np.ceil(x1)) + margin - left + 1, int(np.ceil(y1)) + margin - top + 1
    if images:
        path = images[int(rng.integers(len(images)))]
        texture = image_texture(rng, load_image(str(path)), height, width)
    else:
        texture = procedural_texture(rng, height, width)
    return Background(texture, (float(left), float(top)))


def image_texture(rng: np.random.Generator, image: np.ndarray, height: int, width: int) -> np.ndarray:
    """A random crop of a BGR photo with the aspect of ``height x width``, resized to it, maybe mirrored."""
    image_h, image_w = image.shape[:2]
    fit = min(image_h / height, image_w / width)
    # Zoom in at most ~3x, and shrink rather than enlarge whenever the photo is large enough.
    ratio = max(fit * rng.uniform(0.35, 1.0), min(fit, 1.0))
    crop_h, crop_w = min(image_h, round(height * ratio)), min(image_w, round(width * ratio))
    y = int(rng.integers(image_h - crop_h + 1))
    x = int(rng.integers(image_w - crop_w + 1))
    interpolation = cv2.INTER_AREA if ratio > 1 else cv2.INTER_LINEAR
    texture = cv2.resize(image[y : y + crop_h, x : x + crop_w], (width, height), interpolation=interpolation)
    if rng.random() < 0.5:
        texture = texture[:, ::-1]
    return np.ascontiguousarray(cv2.cvtColor(texture, cv2.COLOR_BGR2RGB), dtype=np.float32) / 255.0


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
