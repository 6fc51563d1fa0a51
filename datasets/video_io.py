"""Readers shared by the datasets (which scan files at load time) and the loading transforms.

Every failure ends in one :class:`VideoDataError` that names the file, whatever library raised it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from decord import VideoReader, cpu
from decord._ffi.base import DECORDError
from PIL import Image, UnidentifiedImageError

from .errors import VideoDataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def open_video(path: str | Path) -> VideoReader:
    """A decord reader for ``path``: it indexes the video without decoding it; frames decode on demand."""
    path = Path(path)
    if not path.is_file():
        raise VideoDataError(f"{path}: video file not found")
    try:
        reader = VideoReader(str(path), ctx=cpu(0), num_threads=1)
    except (RuntimeError, DECORDError) as error:
        raise VideoDataError(f"{path}: cannot decode video ({str(error).splitlines()[0]})") from error
    if len(reader) == 0:
        raise VideoDataError(f"{path}: video has no frames")
    return reader


def read_video_frames(path: str | Path, indices: list[int]) -> list[np.ndarray]:
    """RGB uint8 frames at ``indices`` (only those are decoded)."""
    reader = open_video(path)
    bad = [i for i in indices if not 0 <= i < len(reader)]
    if bad:
        raise VideoDataError(f"{path}: frame indices {bad} beyond the video's {len(reader)} frames")
    try:
        batch = reader.get_batch(list(indices)).asnumpy()
    except (RuntimeError, DECORDError) as error:
        raise VideoDataError(f"{path}: cannot decode frames {list(indices)} ({error})") from error
    return list(batch)


def read_image_rgb(path: str | Path) -> np.ndarray:
    """An RGB uint8 H x W x 3 image."""
    if not Path(path).is_file():
        raise VideoDataError(f"{path}: image file not found")
    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        _check_jpeg_complete(Path(path))
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoDataError(f"{path}: cannot decode image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


JPEG_END = b"\xff\xd9"
# Bytes some writers pad a JPEG with after its end marker.
JPEG_PADDING = b"\x00\xff\r\n "


def _check_jpeg_complete(path: Path) -> None:
    """A truncated JPEG decodes "successfully" into partly grey frames (libjpeg only warns on stderr).

    A complete one ends with the EOI marker, which needs reading only the file's last bytes. Files with
    other data after the marker (camera trailers) are rare; for them PIL, which refuses truncated data,
    decides.
    """
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64))
        tail = handle.read()
    if tail.rstrip(JPEG_PADDING).endswith(JPEG_END):
        return
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise VideoDataError(f"{path}: cannot decode image: truncated or corrupt JPEG ({error})") from error


def read_single_channel_png(path: str | Path) -> np.ndarray:
    """A uint8 H x W map; palette PNGs give their indices (instance ids), not the palette colours."""
    if not Path(path).is_file():
        raise VideoDataError(f"{path}: file not found")
    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L"):
                raise VideoDataError(
                    f"{path}: expected a single-channel (L or palette) PNG, got mode {image.mode}"
                )
            return np.array(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as error:
        raise VideoDataError(f"{path}: cannot decode image ({error})") from error


def read_flow(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A float32 H x W x 2 flow (dx, dy) from a ``[2, H, W]`` .npy file; ``shape`` is the frame's (H, W)."""
    if not Path(path).is_file():
        raise VideoDataError(f"{path}: flow file not found")
    try:
        flow = np.load(path)
    except (ValueError, OSError) as error:
        raise VideoDataError(f"{path}: cannot read flow ({error})") from error
    if flow.shape != (2, *shape) or not np.issubdtype(flow.dtype, np.floating):
        raise VideoDataError(
            f"{path}: flow must be a float [2, {shape[0]}, {shape[1]}] array, got {flow.dtype} {flow.shape}"
        )
    return np.ascontiguousarray(flow.transpose(1, 2, 0), dtype=np.float32)
