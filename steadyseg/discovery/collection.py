"""Writes the segments a discovery run selects (top failures, novel, retrieved) as a collection file, which
``CollectionDataset`` reads (format: :mod:`steadyseg.datasets.collection_dataset`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from steadyseg.datasets.collection_dataset import COLLECTION_FORMAT, COLLECTION_VERSION
from steadyseg.engine import write_atomically


def collection_entry(row: Mapping, scores: Mapping[str, float | None]) -> dict:
    """A collection segment from a segment row (``video``, ``start``, ``end``) and its scores (JSON has no NaN:
    missing and NaN scores become null)."""
    clean = {
        name: None if value is None or math.isnan(value) else float(value) for name, value in scores.items()
    }
    return dict(video=str(row["video"]), start=int(row["start"]), end=int(row["end"]), scores=clean)


def write_collection(path: str | Path, name: str, description: str, segments: Sequence[dict]) -> Path:
    """Writes ``segments`` (from :func:`collection_entry`) atomically to ``path`` and returns it."""
    path = Path(path)
    data = dict(
        format=COLLECTION_FORMAT,
        version=COLLECTION_VERSION,
        name=name,
        description=description,
        segments=list(segments),
    )
    write_atomically(path, (json.dumps(data, indent=1) + "\n").encode())
    return path
