"""Streams the videos of a corpus through a model and records their signals and embeddings, video by video.

Per video, three threads overlap as in ``tools/infer.py``: decoding runs ahead in one, the models' ``step``
(state carried) in the caller's, and the signals (DIS flow, flicker, entropy, ...) in a third; only a few frames
are in flight, so memory does not grow with the video's length. The models get full-resolution frames and resize
them to their own input scale (``input_short_side``), as in ``tools/test.py``; the signals see the frame at the
size the model under test computes at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from steadyseg.apis.inference import (
    QUEUE_FRAMES,
    BackgroundWorker,
    Prefetcher,
    StreamingSegmenter,
    default_threads,
    input_size_of,
    iter_video_frames,
)
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.transforms.clip_geometry import resize_image

from .embedding import FrameEmbedder, mean_embedding
from .records import RecordStore, VideoRecords, video_key
from .signals import VideoSignals, segment_bounds, segment_signals


@dataclass
class DiscoveryModels:
    """The model under test, the embedder (usually on the same model) and an optional teacher."""

    model: nn.Module
    embedder: FrameEmbedder
    teacher: nn.Module | None = None


def scan_video(
    source: str | Path,
    models: DiscoveryModels,
    segment_length: int = 16,
    progress: bool = True,
    description: str | None = None,
    *,
    max_frames: int | None = None,
    on_logits: Callable[[int, np.ndarray], None] | None = None,
) -> VideoRecords:
    """The records of one video file or frame folder (see :mod:`steadyseg.discovery.records`).

    ``max_frames``: record only the first frames (benchmarks, smoke runs). ``on_logits(index, logits)`` is
    called in the caller's thread with each frame's logits ``[C, h, w]`` (numpy, the model's resolution), e.g.
    to score them against ground truth.
    """
    source = Path(source)
    frames, num_frames, fps = iter_video_frames(source)
    if max_frames is not None:
        frames, num_frames = islice(frames, max_frames), min(num_frames, max_frames)
    segmenter = StreamingSegmenter(models.model)
    teacher = None if models.teacher is None else StreamingSegmenter(models.teacher)
    embedder = models.embedder
    # The embedding reads the model's own encoder features while it runs, unless it is another model.
    shared_encoder = embedder.model is models.model
    signals = VideoSignals()
    frame_records, embeddings, shapes = [], [], []

    def decode() -> Iterator[tuple]:
        for index, frame in enumerate(frames):
            if shapes and frame.shape != shapes[0]:
                raise VideoDataError(
                    f"{source}: frame {index} is {frame.shape[1]}x{frame.shape[0]}, frame 0 was "
                    f"{shapes[0][1]}x{shapes[0][0]}"
                )
            shapes.append(frame.shape)
            height, width = input_size_of(models.model, *frame.shape[:2])
            yield (
                resize_image(frame, (width, height)),
                segmenter.prepare(frame),
                None if teacher is None else teacher.prepare(frame),
                None if shared_encoder else embedder.prepare(frame),
            )

    def measure(item: tuple) -> None:
        index, resized, logits, teacher_logits = item
        frame_records.append(dict(frame=index, **signals.add(resized, logits, teacher_logits)))

    name = source.name if source.is_dir() else source.stem
    with (
        Prefetcher(decode(), QUEUE_FRAMES, f"decode {name}") as decoded,
        BackgroundWorker(measure, QUEUE_FRAMES, f"signals {name}") as measurer,
    ):
        items = tqdm(decoded, total=num_frames, desc=description or name, disable=not progress, leave=False)
        for index, (resized, inputs, teacher_inputs, embedder_inputs) in enumerate(items):
            if shared_encoder:
                with embedder.capture() as features:
                    logits = segmenter.step(inputs)
                embeddings.append(embedder.pool(features))
            else:
                logits = segmenter.step(inputs)
                embeddings.append(embedder.embed_inputs(embedder_inputs))
            teacher_logits = None if teacher is None else teacher.step(teacher_inputs).cpu().numpy()
            logits = logits.cpu().numpy()
            if on_logits is not None:
                on_logits(index, logits)
            measurer.submit((index, resized, logits, teacher_logits))
    if not frame_records:
        raise VideoDataError(f"{source}: no frame could be decoded")
    segments, segment_embeddings = [], []
    for number, (start, end) in enumerate(segment_bounds(len(frame_records), segment_length)):
        segments.append(
            dict(segment=number, start=start, end=end, **segment_signals(frame_records[start:end]))
        )
        segment_embeddings.append(mean_embedding(np.stack(embeddings[start:end])))
    height, width = shapes[0][:2]
    header = dict(
        video=str(source.resolve()),
        frames=len(frame_records),
        fps=fps,
        height=height,
        width=width,
        segment_length=segment_length,
        embedding_dim=int(embeddings[0].shape[0]),
    )
    return VideoRecords(header, frame_records, segments, np.stack(embeddings), np.stack(segment_embeddings))


def scan_corpus(
    sources: Sequence[str | Path],
    store: RecordStore,
    models: DiscoveryModels,
    segment_length: int = 16,
    progress: bool = True,
    threads: int | None = None,
) -> dict[str, list[str]]:
    """Records every video of ``sources`` not yet complete in ``store``, writing each as it finishes.

    Returns the keys of the corpus's videos: ``scanned`` now and ``resumed`` (complete from an earlier run).
    ``threads``: torch's intra-op threads meanwhile (restored after), ``default_threads()`` when None.
    """
    keyed = {video_key(source): Path(source) for source in sources}
    done = {"scanned": [], "resumed": []}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads())
    try:
        for number, (key, source) in enumerate(keyed.items(), 1):
            if store.is_done(key):
                done["resumed"].append(key)
                continue
            description = f"[{number}/{len(keyed)}] {source.name}"
            store.write(key, scan_video(source, models, segment_length, progress, description))
            done["scanned"].append(key)
    finally:
        torch.set_num_threads(previous_threads)
    return done
