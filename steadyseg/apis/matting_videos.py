"""What streaming inference writes for a matting model: alpha, foreground and a composite over a new background.

The composite is ``alpha * fgr + (1 - alpha) * background`` per pixel, the matting equation read backwards. The
background is a colour (green screen by default), an image, or a video (looped when shorter than the input, only
its first frames used when longer); images and video frames of another size are scaled to cover the frame and
centre-cropped, so nothing is stretched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import IMAGE_EXTENSIONS, read_image_rgb

from .video_frames import iter_video_frames
from .video_outputs import VideoOutputs

# Pure green: what chroma keyers expect by default.
GREEN_SCREEN = (0, 255, 0)

Background = tuple[int, int, int] | str | Path


class MattingVideos(VideoOutputs):
    """``alpha [1, H, W]`` and ``fgr [3, H, W]`` (in [0, 1], at the frame's size) -> the ``alpha`` (grey),
    ``fgr`` and ``composite`` videos.

    ``background``: an RGB colour (three integers in 0..255), or the path of an image, a video file or a folder of
    frames. A path is checked here, before any frame runs.
    """

    reads = ("alpha", "fgr")
    videos = ("alpha", "fgr", "composite")
    options = ("background",)

    def __init__(self, background: Background = GREEN_SCREEN):
        self.background = check_background(background)
        self._backgrounds: Iterator[np.ndarray] | None = None
        self._alpha_sum = 0.0
        self.frames = 0

    def render(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """One frame's ``(alpha, fgr, composite)``, RGB uint8 at the frame's size."""
        if self._backgrounds is None:
            self._backgrounds = background_frames(self.background, frame.shape[:2])
        alpha = outputs["alpha"][0]
        fgr = outputs["fgr"].transpose(1, 2, 0) * np.float32(255)
        background = next(self._backgrounds)
        composite = background + alpha[..., None] * (fgr - background)
        self._alpha_sum += float(alpha.mean())
        self.frames += 1
        grey = _to_uint8(alpha * np.float32(255))
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), _to_uint8(fgr), _to_uint8(composite)

    def summary(self) -> dict:
        """``mean_foreground_fraction``: the mean alpha (the soft share of the frame that is foreground); the
        background the composite used."""
        background = list(self.background) if isinstance(self.background, tuple) else str(self.background)
        return {"mean_foreground_fraction": self._alpha_sum / max(self.frames, 1), "background": background}

    def close(self) -> None:
        """Closes the background video, if one is open."""
        if self._backgrounds is not None:
            self._backgrounds.close()


def check_background(background: Background) -> Background:
    """``background`` as :class:`MattingVideos` uses it: a colour as a tuple, a path that exists (an image that
    decodes, a video whose frames can be counted)."""
    if isinstance(background, (str, Path)):
        path = Path(background)
        if not path.exists():
            raise FileNotFoundError(f"background {path} does not exist")
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            read_image_rgb(path)
        else:
            iter_video_frames(path)
        return path
    colour = tuple(background)
    if len(colour) != 3 or not all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in colour):
        raise ValueError(f"a background colour is three integers in 0..255 (R G B), got {background!r}")
    return tuple(int(v) for v in colour)


def background_frames(background: Background, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Endless RGB uint8 background frames ``[H, W, 3]`` for frames of ``size``, read as they are taken."""
    if isinstance(background, tuple):
        canvas = np.empty((*size, 3), np.uint8)
        canvas[:] = background
        while True:
            yield canvas
    if background.suffix.lower() in IMAGE_EXTENSIONS:
        image = cover(read_image_rgb(background), size)
        while True:
            yield image
    while True:
        frames, _, _ = iter_video_frames(background)
        with contextlib.closing(frames):
            count = 0
            for frame in frames:
                count += 1
                yield cover(frame, size)
        if count == 0:
            raise VideoDataError(f"{background}: the background video has no frame that decodes")


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled (aspect ratio kept) to the smallest size that covers ``size``, centre-cropped to it."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    scale = max(height / image.shape[0], width / image.shape[1])
    scaled = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, scaled, interpolation=interpolation)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Values in [0, 255] rounded to uint8."""
    return np.rint(values).astype(np.uint8)
