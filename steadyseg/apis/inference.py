"""Streaming video inference: frames are decoded, segmented through ``model.step`` and encoded one at a time.

:func:`infer_video` runs three threads joined by small bounded queues, so decoding, the model and encoding
overlap while only a few frames are ever in memory:

- decode: PyAV decodes the next frame and OpenCV resizes it (still uint8) to the model's scale;
- the caller's thread: ``model.step`` with the recurrent state carried; logits stay at the model's resolution;
- encode: labels are upsampled from those logits with OpenCV, coloured through the palette and both videos
  are encoded (x264 ``veryfast``).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from tqdm import tqdm

from steadyseg.apis.checkpoint import load_weights, read_checkpoint
from steadyseg.config import load_config, naming_config_errors
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import IMAGE_EXTENSIONS, open_video, read_image_rgb
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json
from steadyseg.registry import MODELS
from steadyseg.visualization import VideoWriter, colorize_labels, overlay_labels

# The stages of the video pipeline, in the order a frame passes them (the keys of the summary's ms_per_frame).
STAGES = ("decode", "preprocess", "model", "postprocess", "encode")
# Frames each queue holds: enough to absorb one slow frame of a stage, few enough that memory stays flat.
QUEUE_FRAMES = 4
# How often a thread blocked on a queue checks whether the other side has stopped.
_POLL_S = 0.1
_END = object()


def load_model(config: str | Path, checkpoint: str | Path | None, device: str = "cpu") -> torch.nn.Module:
    """Builds the config's model, loads ``checkpoint`` (if given; every weight must fit) and returns it in eval
    mode."""
    cfg = load_config(config)
    weights = None if checkpoint is None else read_checkpoint(checkpoint)
    init_default_scope(cfg.get("default_scope", "steadyseg"))
    with naming_config_errors(cfg):
        model = MODELS.build(cfg.model)
    if weights is not None:
        load_weights(model, weights, checkpoint, config)
    return model.to(device).eval()


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


def labels_from_logits(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Logits ``[C, h, w]`` -> uint8 labels ``[H, W]`` at ``size``: the arg-max of the bilinearly upsampled logits
    (``logit > 0``, i.e. ``sigmoid > 0.5``, for a one-channel head).

    Upsampling logits instead of probabilities gives the same arg-max (softmax keeps the order of the classes).
    """
    height, width = size
    if logits.shape[0] == 1:
        upsampled = cv2.resize(logits[0], (width, height), interpolation=cv2.INTER_LINEAR)
        return (upsampled > 0).view(np.uint8)
    if logits.shape[0] == 2:
        # Bilinear interpolation is linear, so the arg-max of two upsampled channels is the sign of their
        # upsampled difference: one channel to resize. Ties go to class 0, as with arg-max.
        difference = cv2.resize(logits[1] - logits[0], (width, height), interpolation=cv2.INTER_LINEAR)
        return (difference > 0).view(np.uint8)
    channels_last = np.ascontiguousarray(logits.transpose(1, 2, 0))
    upsampled = cv2.resize(channels_last, (width, height), interpolation=cv2.INTER_LINEAR)
    return upsampled.argmax(axis=2).astype(np.uint8)


def input_size_of(model: torch.nn.Module, height: int, width: int) -> tuple[int, int]:
    """``(h, w)`` that ``model`` computes at for frames of ``height x width``: its ``input_size`` (the video models'
    input scale), or the frame's own size for a model without one."""
    input_size = getattr(model, "input_size", None)
    return (height, width) if input_size is None else tuple(input_size(height, width))


class StreamingSegmenter:
    """Runs a video model frame by frame, carrying its recurrent state.

    Frames go to the model at full resolution, normalized by its own data preprocessor; the model resizes them to
    its input scale (``input_short_side``), as it does in ``tools/test.py``. ``__call__`` resizes the logits back
    to the frame size.
    """

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.state = None

    def reset(self) -> None:
        self.state = None

    def prepare(self, frame: np.ndarray) -> torch.Tensor:
        """RGB uint8 ``[H, W, 3]`` -> the model's normalized input ``[1, 3, H, W]``; keeps no state, so another
        thread may prepare the next frame while the model runs."""
        clip = torch.from_numpy(frame).permute(2, 0, 1).contiguous()[None]
        with torch.inference_mode():
            return self.model.data_preprocessor({"inputs": [clip]})["inputs"][:, 0]

    def step(self, inputs: torch.Tensor) -> torch.Tensor:
        """A prepared frame -> its logits ``[C, h, w]`` at the resolution the model computes; advances the
        state."""
        with torch.inference_mode():
            outputs, self.state = self.model.step(inputs, self.state)
        return outputs["logits"][0]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``[H, W, 3]`` -> class probabilities ``[C, H, W]`` (float32 numpy; a one-channel head gives
        its sigmoid, the foreground probability)."""
        logits = self.step(self.prepare(frame))
        with torch.inference_mode():
            logits = F.interpolate(logits[None], size=frame.shape[:2], mode="bilinear", align_corners=False)
            probabilities = logits.sigmoid() if logits.shape[1] == 1 else logits.softmax(dim=1)
            return probabilities[0].cpu().numpy()

    def labels(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``[H, W, 3]`` -> uint8 labels ``[H, W]``, the arg-max of ``self(frame)`` computed without
        full-resolution probabilities."""
        return labels_from_logits(self.step(self.prepare(frame)).cpu().numpy(), frame.shape[:2])


def default_threads() -> int:
    """Torch threads for video inference: every core this process may use but one, left to decode and encode."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def infer_video(
    model: torch.nn.Module,
    video: str | Path,
    out_dir: str | Path,
    max_frames: int | None = None,
    progress: bool = True,
    *,
    threads: int | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> dict:
    """Writes ``<stem>_mask.mp4`` (colour label map), ``<stem>_overlay.mp4`` and ``<stem>_summary.json`` into
    ``out_dir``; an interrupted run (an error, Ctrl-C) leaves none of them behind.

    ``threads``: torch's intra-op threads while the video runs (restored afterwards), :func:`default_threads`
    when None. ``on_frame(index)`` is called in this thread after each frame's model step.

    Returns a summary: the number of frames, the fps, the mean foreground fraction, the videos' paths and
    ``ms_per_frame``, the mean time of each of :data:`STAGES` per frame and of the whole run (``total``: wall
    time over frames; the stages overlap, so it is less than their sum).
    """
    frames, num_frames, fps = iter_video_frames(video)
    num_frames = min(num_frames, max_frames or num_frames)
    out_dir = Path(out_dir)
    stem = Path(video).name if Path(video).is_dir() else Path(video).stem
    segmenter = StreamingSegmenter(model)
    # Seconds per frame; each list is appended to by the one thread that runs the stage.
    seconds = {stage: [] for stage in STAGES}
    foreground = []

    def decode() -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        for _ in range(num_frames):
            started = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                return
            decoded = time.perf_counter()
            inputs = segmenter.prepare(frame)
            seconds["decode"].append(decoded - started)
            seconds["preprocess"].append(time.perf_counter() - decoded)
            yield frame, inputs

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads())
    started = time.perf_counter()
    try:
        with (
            VideoWriter(out_dir / f"{stem}_mask.mp4", fps) as mask_writer,
            VideoWriter(out_dir / f"{stem}_overlay.mp4", fps) as overlay_writer,
        ):

            def encode(item: tuple[np.ndarray, np.ndarray]) -> None:
                frame, logits = item
                begun = time.perf_counter()
                labels = labels_from_logits(logits, frame.shape[:2])
                mask = colorize_labels(labels)
                overlay = overlay_labels(frame, labels, colours=mask)
                foreground.append(np.count_nonzero(labels) / labels.size)
                coloured = time.perf_counter()
                mask_writer.write(mask)
                overlay_writer.write(overlay)
                seconds["postprocess"].append(coloured - begun)
                seconds["encode"].append(time.perf_counter() - coloured)

            with (
                Prefetcher(decode(), QUEUE_FRAMES, f"decode {stem}") as decoded,
                BackgroundWorker(encode, QUEUE_FRAMES, f"encode {stem}") as encoder,
            ):
                for index, (frame, inputs) in enumerate(
                    tqdm(decoded, total=num_frames, desc=stem, disable=not progress)
                ):
                    begun = time.perf_counter()
                    logits = segmenter.step(inputs).cpu().numpy()
                    seconds["model"].append(time.perf_counter() - begun)
                    encoder.submit((frame, logits))
                    if on_frame is not None:
                        on_frame(index)
    finally:
        torch.set_num_threads(previous_threads)
    elapsed = time.perf_counter() - started
    if not foreground:
        raise VideoDataError(f"{video}: no frame could be decoded")
    ms_per_frame = {stage: 1e3 * float(np.mean(values)) for stage, values in seconds.items()}
    summary = {
        "video": str(video),
        "frames": len(foreground),
        "fps": fps,
        "mean_foreground_fraction": float(np.mean(foreground)),
        "mask_video": str(out_dir / f"{stem}_mask.mp4"),
        "overlay_video": str(out_dir / f"{stem}_overlay.mp4"),
        "ms_per_frame": {**ms_per_frame, "total": 1e3 * elapsed / len(foreground)},
    }
    write_atomically(out_dir / f"{stem}_summary.json", (metrics_json(summary) + "\n").encode())
    return summary


class Prefetcher:
    """Iterates ``items`` in a background thread, at most ``size`` items ahead of the consumer.

    An error of ``items`` is raised in the consumer's thread, where the item would have been. Leaving the
    ``with`` block stops the thread, also mid-way, and waits for it.
    """

    def __init__(self, items: Generator, size: int, name: str):
        self._queue = queue.Queue(size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _run(self, items: Generator) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
            self._put((_END, None))
        except BaseException as error:
            self._put((_END, error))
        finally:
            # Closed here, in the thread that iterated it, so its file closes before the with block ends.
            items.close()

    def _put(self, entry: tuple) -> bool:
        """Waits for room in the queue; False once the consumer has stopped listening."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._stop.set()
        self._thread.join()


class BackgroundWorker:
    """Calls ``handle(item)`` in a background thread for each submitted item, at most ``size`` items behind.

    An error of ``handle`` is raised in the submitting thread, by the next ``submit`` or on leaving the
    ``with`` block, which first waits for every item to be handled. Leaving it because of an error of the
    submitting thread stops the worker without handling the items left.
    """

    def __init__(self, handle: Callable[[object], None], size: int, name: str):
        self._handle = handle
        self._queue = queue.Queue(size)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _END:
                return
            try:
                self._handle(item)
            except BaseException as error:
                self._error = error
                return

    def submit(self, item: object) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def __enter__(self) -> BackgroundWorker:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self._stop.set()
            self._thread.join()
            return
        self.submit(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
