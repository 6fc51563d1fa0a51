"""Frame-by-frame mp4 writing with PyAV (H.264, yuv420p), so no video is ever held in memory whole."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


class VideoWriter:
    """``with VideoWriter(path, fps) as writer: writer.write(rgb_uint8_frame)``.

    yuv420p needs even dimensions; odd-sized frames are padded by one pixel (edge-replicated).
    The file is written under a temporary name and renamed on a clean close, so a crashed run never
    leaves a truncated video that looks finished.

    ``preset``: x264's speed preset. At 768x576 ``veryfast`` encoded 2.4x faster than x264's default
    ``medium`` and, at the same ``crf``, into a smaller file; its look-ahead buffers 10 frames instead of 40.
    """

    def __init__(
        self, path: str | Path, fps: float, codec: str = "libx264", crf: int = 20, preset: str = "veryfast"
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._container = av.open(str(self._partial), mode="w")
        self._stream = self._container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": str(crf), "preset": preset}
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
        if frame.shape[0] % 2 or frame.shape[1] % 2:
            frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
        # OpenCV's BT.601 conversion matches FFmpeg's default (luma within 1 level) and took 0.4 ms per 768x576
        # frame where FFmpeg's swscale took 2.5 ms.
        yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
        try:
            for packet in self._stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                self._container.mux(packet)
        except av.FFmpegError as error:
            raise OSError(f"{self.path}: cannot write frame {self.frames_written} ({error})") from error
        self.frames_written += 1

    def close(self, finished: bool = True) -> None:
        if self._container is None:
            return
        container, self._container = self._container, None
        keep = finished and self.frames_written > 0
        try:
            try:
                if keep:
                    for packet in self._stream.encode():
                        container.mux(packet)
            finally:
                container.close()
        except BaseException as error:
            # Whatever stopped the flush (a full disk, Ctrl-C), the half-written file must not stay behind.
            self._partial.unlink(missing_ok=True)
            if isinstance(error, av.FFmpegError):
                raise OSError(f"{self.path}: cannot finish the video ({error})") from error
            raise
        if keep:
            self._partial.replace(self.path)
        else:
            self._partial.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(finished=exc_type is None)
