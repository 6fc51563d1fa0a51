"""Frame-by-frame mp4 writing with PyAV (H.264, yuv420p), so no video is ever held in memory whole."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


class VideoWriter:
    """``with VideoWriter(path, fps) as writer: writer.write(rgb_uint8_frame)``.

    yuv420p needs even dimensions; odd-sized frames are padded by one pixel (edge-replicated).
    The file is written under a temporary name and renamed on a clean close, so a crashed run never
    leaves a truncated video that looks finished.
    """

    def __init__(self, path: str | Path, fps: float, codec: str = "libx264", crf: int = 20):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._container = av.open(str(self._partial), mode="w")
        self._stream = self._container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": str(crf)}
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"{self.path}: frames must be uint8 [H, W, 3] RGB, got {frame.dtype} {frame.shape}"
            )
        if self._size is None:
            self._size = frame.shape[:2]
            self._stream.height = frame.shape[0] + frame.shape[0] % 2
            self._stream.width = frame.shape[1] + frame.shape[1] % 2
        elif frame.shape[:2] != self._size:
            raise ValueError(f"{self.path}: frame size changed from {self._size} to {frame.shape[:2]}")
        pad = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
        video_frame = av.VideoFrame.from_ndarray(np.pad(frame, pad, mode="edge"), format="rgb24")
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self, finished: bool = True) -> None:
        if self._container is None:
            return
        if finished and self.frames_written:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()
        self._container = None
        if finished and self.frames_written:
            self._partial.replace(self.path)
        else:
            self._partial.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(finished=exc_type is None)
