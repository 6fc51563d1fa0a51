"""Reading a video one frame at a time: what streaming inference decodes, and its background videos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import IMAGE_EXTENSIONS, open_video, read_image_rgb


def iter_video_frames(path: str | Path, folder_fps: float = 24.0) -> tuple[Iterator[np.ndarray], int, float]:
    """A lazy iterator over RGB uint8 frames of a video file or a folder of frames, its frame count and fps.

    Frame folders (e.g. DAVIS ``JPEGImages/480p/<seq>``) are read in file-name order at ``folder_fps``.
    """
    path = Path(path)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not paths:
            raise VideoDataError(f"{path}: frame folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        return (read_image_rgb(p) for p in paths), len(paths), folder_fps
    # decord checks the file and counts its frames without decoding them (the datasets' errors, naming the
    # file); the frames themselves are decoded by PyAV, see _decode_frames.
    reader = open_video(path)
    num_frames, fps = len(reader), float(reader.get_avg_fps()) or folder_fps
    del reader
    return _decode_frames(path), num_frames, fps


def _decode_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames decoded one at a time by PyAV (the same pixels as decord's).

    decord's reader keeps decoding ahead in a thread of its own without a bound: while a model ran, it held
    0.3-0.9 GB of decoded 768x576 frames.
    """
    index = 0
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
                index += 1
    except av.FFmpegError as error:
        raise VideoDataError(f"{path}: cannot decode frame {index} ({error})") from error
