"""Where a discovery run keeps its results, one video at a time, so an interrupted corpus resumes.

Layout of an output folder ``DIR``:

- ``DIR/discovery.json``: the settings the records were made with (model, checkpoint, teacher, embedder,
  the model's input_short_side, segment length). A later run into the same folder must use the same settings;
- ``DIR/videos/<key>.jsonl``: one JSON object a line: a ``video`` header, then one ``frame`` record per frame,
  then one ``segment`` record per segment (see docs/discovery.md);
- ``DIR/videos/<key>.npz``: the embeddings, ``frames [T, D]`` and ``segments [S, D]`` (float32), row ``i`` for
  frame / segment ``i``.

Each file is written atomically, the ``.npz`` first: a video whose ``.jsonl`` exists is complete.
``<key>`` is the video's name and a hash of its absolute path, so equal names in different folders differ.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steadyseg.engine import write_atomically

from .errors import DiscoveryError

RECORDS_FORMAT = "steadyseg-discovery-records"
RECORDS_VERSION = 1
SETTINGS_FILE = "discovery.json"
VIDEOS_FOLDER = "videos"


def video_key(source: str | Path) -> str:
    """``<name>-<8 hex digits of the absolute path's SHA-1>``; ``name`` is a file's stem or a folder's name."""
    source = Path(source)
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]
    return f"{source.name if source.is_dir() else source.stem}-{digest}"


@dataclass
class VideoRecords:
    """One video's records: ``header`` (video path, frame count, fps, ...), per-frame and per-segment signals
    and their embeddings (``[T, D]`` and ``[S, D]``)."""

    header: dict
    frames: list[dict]
    segments: list[dict]
    frame_embeddings: np.ndarray
    segment_embeddings: np.ndarray


class RecordStore:
    """The records under ``out_dir``. With ``settings``, the folder is opened for a run: its settings file is
    written, or checked against ``settings`` when it exists (an error names the first setting that differs).
    Without, it is opened to read (e.g. a reference collection) and must hold a settings file."""

    def __init__(self, out_dir: str | Path, settings: dict | None = None):
        self.root = Path(out_dir)
        self.videos = self.root / VIDEOS_FOLDER
        path = self.root / SETTINGS_FILE
        if settings is None:
            if not path.is_file():
                raise FileNotFoundError(f"{self.root}: not a discovery output folder (no {SETTINGS_FILE})")
            self.settings = json.loads(path.read_text())
            return
        settings = dict(settings, format=RECORDS_FORMAT, version=RECORDS_VERSION)
        if path.is_file():
            previous = json.loads(path.read_text())
            for key in sorted(settings.keys() | previous.keys()):
                if previous.get(key) != settings.get(key):
                    raise DiscoveryError(
                        f"{path}: the records here were made with {key}={previous.get(key)!r}, this run has "
                        f"{key}={settings.get(key)!r}; use another --out folder"
                    )
        else:
            write_atomically(path, (json.dumps(settings, indent=2) + "\n").encode())
        self.settings = settings

    def is_done(self, key: str) -> bool:
        return (self.videos / f"{key}.jsonl").is_file()

    def video_keys(self) -> list[str]:
        """Keys of the complete videos, sorted."""
        return sorted(path.stem for path in self.videos.glob("*.jsonl"))

    def write(self, key: str, records: VideoRecords) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, frames=records.frame_embeddings, segments=records.segment_embeddings)
        write_atomically(self.videos / f"{key}.npz", buffer.getvalue())
        lines = [dict(type="video", key=key, **records.header)]
        lines += [dict(type="frame", **frame) for frame in records.frames]
        lines += [dict(type="segment", **segment) for segment in records.segments]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        write_atomically(self.videos / f"{key}.jsonl", text.encode())

    def read(self, key: str) -> VideoRecords:
        path = self.videos / f"{key}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no records for video {key!r}")
        grouped = {"video": [], "frame": [], "segment": []}
        for number, line in enumerate(path.read_text().splitlines(), 1):
            record = json.loads(line)
            kind = record.pop("type", None)
            if kind not in grouped:
                raise DiscoveryError(f"{path}:{number}: unknown record type {kind!r}")
            grouped[kind].append(record)
        if len(grouped["video"]) != 1:
            raise DiscoveryError(f"{path}: expected one video header, found {len(grouped['video'])}")
        with np.load(self.videos / f"{key}.npz") as embeddings:
            frame_embeddings, segment_embeddings = embeddings["frames"], embeddings["segments"]
        if len(frame_embeddings) != len(grouped["frame"]) or len(segment_embeddings) != len(
            grouped["segment"]
        ):
            raise DiscoveryError(f"{path}: the embeddings in {key}.npz do not match the records")
        return VideoRecords(
            grouped["video"][0], grouped["frame"], grouped["segment"], frame_embeddings, segment_embeddings
        )


@dataclass
class SegmentTable:
    """The segments of several videos: ``rows[i]`` (``video``, ``key``, ``start``, ``end`` and the signals) and
    its embedding ``embeddings[i]``."""

    rows: list[dict]
    embeddings: np.ndarray


def load_segments(store: RecordStore, keys: list[str] | None = None) -> SegmentTable:
    """The segments of ``keys`` (default: every complete video of ``store``), video by video in key order."""
    rows, embeddings = [], []
    for key in sorted(store.video_keys() if keys is None else keys):
        records = store.read(key)
        for segment in records.segments:
            rows.append(dict(segment, video=records.header["video"], key=key))
        embeddings.append(records.segment_embeddings)
    dim = embeddings[0].shape[1] if embeddings else 0
    table = np.concatenate(embeddings) if embeddings else np.zeros((0, dim), np.float32)
    return SegmentTable(rows, table.astype(np.float32))
