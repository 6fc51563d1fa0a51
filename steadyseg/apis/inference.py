"""Streaming video inference: frames are decoded, run through ``model.step`` and encoded one at a time.

:func:`infer_video` runs three threads joined by small bounded queues, so decoding, the model and encoding
overlap while only a few frames are ever in memory:

- decode: PyAV decodes the next frame, which is normalized by the model's data preprocessor;
- the caller's thread: ``model.step`` with the recurrent state carried (the model scales the frame itself);
- encode: the model family's video outputs (:func:`video_outputs_for`) render each frame's videos from the
  outputs they read, and the videos are encoded (x264 ``veryfast``). Semantic segmentation writes a colour label
  map and an overlay (:class:`SegmentationVideos`); matting writes alpha, foreground and a composite
  (:class:`~steadyseg.apis.matting_videos.MattingVideos`); video instance segmentation an overlay of the tracked
  people, their detections streamed a line per frame (:class:`JsonLinesWriter`) and a summary of their tracks
  (:class:`~steadyseg.apis.instance_videos.InstanceVideos`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from tqdm import tqdm

from steadyseg.apis.checkpoint import load_weights, read_checkpoint
from steadyseg.config import ConfigError, load_config, naming_config_errors
from steadyseg.datasets.errors import VideoDataError
from steadyseg.engine import fsync_directory, temporary_path, write_atomically
from steadyseg.evaluation import metrics_json
from steadyseg.registry import MODELS
from steadyseg.visualization import VideoWriter, colorize_labels, overlay_labels

from .instance_videos import InstanceVideos
from .matting_videos import Background, MattingVideos
from .video_frames import iter_video_frames
from .video_outputs import VideoOutputs

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

    def outputs(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """A prepared frame -> the model's named outputs (``output_names``), batch dimension dropped, each at the
        resolution the model computes; advances the state."""
        with torch.inference_mode():
            outputs, self.state = self.model.step(inputs, self.state)
        return {name: value[0] for name, value in outputs.items()}

    def step(self, inputs: torch.Tensor) -> torch.Tensor:
        """A prepared frame -> its logits ``[C, h, w]`` at the resolution the model computes; advances the
        state."""
        return self.outputs(inputs)["logits"]

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


class SegmentationVideos(VideoOutputs):
    """``logits [C, h, w]`` -> the ``mask`` video (colour label map) and the ``overlay`` video (labels blended on
    the frame, outlined), at the frame's size."""

    reads = ("logits",)
    videos = ("mask", "overlay")

    def __init__(self):
        self._foreground: list[float] = []

    def render(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        labels = labels_from_logits(outputs["logits"], frame.shape[:2])
        mask = colorize_labels(labels)
        self._foreground.append(np.count_nonzero(labels) / labels.size)
        return mask, overlay_labels(frame, labels, colours=mask)

    def summary(self) -> dict:
        """``mean_foreground_fraction``: the mean share of pixels labelled other than 0."""
        return {"mean_foreground_fraction": float(np.mean(self._foreground))}


# Tried in order: the first family whose outputs a model gives writes its videos.
VIDEO_OUTPUT_FAMILIES: tuple[type[VideoOutputs], ...] = (SegmentationVideos, MattingVideos, InstanceVideos)


def video_outputs_for(model: torch.nn.Module, **options) -> VideoOutputs:
    """The video outputs of ``model``'s family (chosen by its ``output_names``), built with ``options``; an option
    left None takes the family's default, and one the family does not take is an error."""
    names = tuple(model.output_names)
    family = next((f for f in VIDEO_OUTPUT_FAMILIES if set(f.reads) <= set(names)), None)
    if family is None:
        known = "; ".join(
            f"{' + '.join(f.reads)} ({', '.join(f.videos)} videos)" for f in VIDEO_OUTPUT_FAMILIES
        )
        raise ConfigError(
            f"{type(model).__name__} gives the outputs {names}; video inference writes videos from {known}"
        )
    given = {key: value for key, value in options.items() if value is not None}
    foreign = sorted(set(given) - set(family.options))
    if foreign:
        raise ConfigError(
            f"{type(model).__name__} gives {' + '.join(family.reads)}, written as {', '.join(family.videos)} "
            f"videos, which take no {', '.join(foreign)} (options of other model families' videos)"
        )
    return family(**given)


def infer_video(
    model: torch.nn.Module,
    video: str | Path,
    out_dir: str | Path,
    max_frames: int | None = None,
    progress: bool = True,
    *,
    threads: int | None = None,
    on_frame: Callable[[int], None] | None = None,
    background: Background | None = None,
    crf: int | None = None,
) -> dict:
    """Writes the videos of ``model``'s family (:func:`video_outputs_for`) as ``<stem>_<name>.mp4``, at the input's
    resolution, its streamed documents as ``<stem>_<name>.jsonl`` (a line per frame, written as the frames are),
    its documents of the whole run as ``<stem>_<name>.json`` and ``<stem>_summary.json`` into ``out_dir``; an
    interrupted run (an error, Ctrl-C) leaves none of them behind. Segmentation models write ``mask`` and
    ``overlay``; matting models ``alpha``, ``fgr`` and ``composite`` (over ``background``: a colour, an image or a
    video; green screen when None); video instance models ``overlay``, ``<stem>_detections.jsonl`` and
    ``<stem>_tracks.json``.

    ``threads``: torch's intra-op threads while the video runs (restored afterwards), :func:`default_threads`
    when None. ``on_frame(index)`` is called in this thread after each frame's model step. ``crf``: x264's
    constant rate factor of the videos (0 is lossless in yuv420p; None: :class:`VideoWriter`'s default).

    Returns a summary: the number of frames, the fps, the family's entries (e.g. the mean foreground fraction),
    each video's path (``<name>_video``), streamed document's (``<name>_jsonl``) and document's (``<name>_json``),
    and ``ms_per_frame``, the mean time of each of :data:`STAGES` per frame and of the whole run (``total``: wall
    time over frames; the stages overlap, so it is less than their sum).
    """
    video_outputs = video_outputs_for(model, background=background)
    frames, num_frames, fps = iter_video_frames(video)
    num_frames = min(num_frames, max_frames or num_frames)
    out_dir = Path(out_dir)
    stem = Path(video).name if Path(video).is_dir() else Path(video).stem
    paths = {name: out_dir / f"{stem}_{name}.mp4" for name in video_outputs.videos}
    stream_paths = {name: out_dir / f"{stem}_{name}.jsonl" for name in video_outputs.streams}
    read = [
        name for name in (*video_outputs.reads, *video_outputs.optional_reads) if name in model.output_names
    ]
    writer_options = {} if crf is None else {"crf": crf}
    segmenter = StreamingSegmenter(model)
    # Seconds per frame; each list is appended to by the one thread that runs the stage.
    seconds = {stage: [] for stage in STAGES}

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
        # Left in reverse order: the encoder finishes its frames before the streams and videos close, and they
        # close before the family releases what it rendered from.
        with ExitStack() as stack:
            stack.callback(video_outputs.close)
            writers = [
                stack.enter_context(VideoWriter(path, fps, **writer_options)) for path in paths.values()
            ]
            video_outputs.stream(
                {name: stack.enter_context(JsonLinesWriter(path)) for name, path in stream_paths.items()}
            )

            def encode(item: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
                frame, outputs = item
                begun = time.perf_counter()
                rendered = video_outputs.render(frame, outputs)
                coloured = time.perf_counter()
                for writer, image in zip(writers, rendered, strict=True):
                    writer.write(image)
                seconds["postprocess"].append(coloured - begun)
                seconds["encode"].append(time.perf_counter() - coloured)

            decoded = stack.enter_context(Prefetcher(decode(), QUEUE_FRAMES, f"decode {stem}"))
            encoder = stack.enter_context(BackgroundWorker(encode, QUEUE_FRAMES, f"encode {stem}"))
            for index, (frame, inputs) in enumerate(
                tqdm(decoded, total=num_frames, desc=stem, disable=not progress)
            ):
                begun = time.perf_counter()
                outputs = segmenter.outputs(inputs)
                outputs = {name: outputs[name].cpu().numpy() for name in read}
                seconds["model"].append(time.perf_counter() - begun)
                encoder.submit((frame, outputs))
                if on_frame is not None:
                    on_frame(index)
    finally:
        torch.set_num_threads(previous_threads)
    elapsed = time.perf_counter() - started
    frames_written = len(seconds["encode"])
    if not frames_written:
        raise VideoDataError(f"{video}: no frame could be decoded")
    documents = {}
    for name, record in video_outputs.documents().items():
        path = out_dir / f"{stem}_{name}.json"
        write_atomically(path, (metrics_json(record) + "\n").encode())
        documents[f"{name}_json"] = str(path)
    ms_per_frame = {stage: 1e3 * float(np.mean(values)) for stage, values in seconds.items()}
    summary = {
        "video": str(video),
        "frames": frames_written,
        "fps": fps,
        **video_outputs.summary(),
        **{f"{name}_video": str(path) for name, path in paths.items()},
        **{f"{name}_jsonl": str(path) for name, path in stream_paths.items()},
        **documents,
        "ms_per_frame": {**ms_per_frame, "total": 1e3 * elapsed / frames_written},
    }
    write_atomically(out_dir / f"{stem}_summary.json", (metrics_json(summary) + "\n").encode())
    return summary


class JsonLinesWriter:
    """``with JsonLinesWriter(path) as lines: lines.write(record)``: a JSON Lines file, one JSON object a line,
    written as the records come so none stays in memory.

    As :class:`VideoWriter` does, the lines go to a temporary file beside ``path`` that a clean close flushes to
    disk and moves in place (as :func:`write_atomically` moves a whole file), so a reader never finds a partial
    document; leaving the ``with`` block on an error deletes it, as does closing it with no line written (a run
    without a frame writes nothing).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = temporary_path(self.path)
        # Exclusive creation: a fresh file of our own, with the mode any file of this process gets.
        self._file = self._partial.open("x", encoding="utf-8")
        self.lines_written = 0

    def write(self, record: dict) -> None:
        """Appends ``record`` as one line of strict JSON (:func:`metrics_json`)."""
        self._file.write(metrics_json(record, indent=None) + "\n")
        self.lines_written += 1

    def close(self, finished: bool = True) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        keep = finished and self.lines_written > 0
        try:
            with file:
                if keep:
                    file.flush()
                    os.fsync(file.fileno())
            if keep:
                os.replace(self._partial, self.path)
        except BaseException:
            self._partial.unlink(missing_ok=True)
            raise
        if keep:
            fsync_directory(self.path.parent)
        else:
            self._partial.unlink(missing_ok=True)

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(finished=exc_type is None)


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
