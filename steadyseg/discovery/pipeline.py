"""The steps of ``tools/discover.py`` as functions: load the models, index the records, and select segments
into collections (top failures, novel, retrieved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch.nn as nn

from steadyseg.apis.inference import load_model
from steadyseg.config import ConfigError

from .collection import collection_entry
from .embedding import FrameEmbedder
from .errors import DiscoveryError
from .index import EXACT_BELOW, SegmentIndex, novelty
from .ranking import failure_score, top_k
from .records import RecordStore, SegmentTable, load_segments
from .scan import DiscoveryModels

INDEX_FOLDER = "index"


def load_checked_model(config: str | Path, checkpoint: str | Path | None, device: str) -> nn.Module:
    """``load_model``, refusing to run a model with learned parameters without its checkpoint (it would be its
    random initialization)."""
    model = load_model(config, checkpoint, device)
    if checkpoint is None and any(True for _ in model.parameters()):
        raise ConfigError(
            f"{config}: the model has learned parameters, so it needs a checkpoint ('none' is only for models "
            "without parameters, such as configs/baselines/)"
        )
    return model


def load_models(
    model: tuple[str, str | None],
    teacher: tuple[str, str | None] | None = None,
    embedder: tuple[str, str | None] | None = None,
    device: str = "cpu",
) -> DiscoveryModels:
    """The models of a run, each given as ``(config, checkpoint or None)``; the embedder defaults to the
    model itself."""
    segmenter = load_checked_model(*model, device)
    teacher_model = None if teacher is None else load_checked_model(*teacher, device)
    embedding_model = segmenter if embedder is None else load_checked_model(*embedder, device)
    return DiscoveryModels(segmenter, FrameEmbedder(embedding_model), teacher_model)


def index_segments(store: RecordStore, table: SegmentTable, exact_below: int = EXACT_BELOW) -> SegmentIndex:
    """The index of ``table``'s segments, saved in ``<records>/index``; its rows are ``[key, start, end]``."""
    rows = [[row["key"], row["start"], row["end"]] for row in table.rows]
    index = SegmentIndex.build(table.embeddings, rows, exact_below)
    index.save(store.root / INDEX_FOLDER)
    return index


def load_reference(path: str | Path) -> np.ndarray:
    """A reference collection's embeddings ``[N, D]``: every segment of a discovery output folder, or an
    ``.npy`` file."""
    path = Path(path)
    if path.suffix == ".npy":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: reference embeddings file not found")
        return np.load(path)
    table = load_segments(RecordStore(path))
    if not len(table.embeddings):
        raise DiscoveryError(f"{path}: the reference folder holds no segments")
    return table.embeddings


def segment_scores(
    table: SegmentTable, weights: dict[str, float], reference: np.ndarray | None = None
) -> list[dict[str, float | None]]:
    """Each segment's signals with ``novelty`` (with a reference) and ``failure`` added."""
    if reference is not None and reference.shape[1:] != table.embeddings.shape[1:]:
        raise DiscoveryError(
            f"reference embeddings have {reference.shape[1]} dimensions, the corpus's {table.embeddings.shape[1]}"
            " (embed both with the same model)"
        )
    distances = None if reference is None else novelty(table.embeddings, reference)
    scores = []
    for number, row in enumerate(table.rows):
        signals = {
            name: row.get(name) for name in row if name not in ("video", "key", "start", "end", "segment")
        }
        if distances is not None:
            signals["novelty"] = float(distances[number])
        signals["failure"] = failure_score(signals, weights)
        scores.append(signals)
    return scores


def ranked_entries(table: SegmentTable, scores: list[dict], by: str, k: int) -> list[dict]:
    """Collection entries of the ``k`` segments with the highest ``scores[i][by]``."""
    values = [np.nan if score.get(by) is None else score[by] for score in scores]
    return [collection_entry(table.rows[i], scores[i]) for i in top_k(values, k)]


def retrieved_entries(
    index: SegmentIndex, table: SegmentTable, query: np.ndarray, k: int, scores: list[dict]
) -> list[dict]:
    """Collection entries of the ``k`` segments nearest ``query``, with its ``similarity`` among their
    scores."""
    similarities, ids = index.search(query, k)
    return [
        collection_entry(table.rows[i], dict(scores[i], similarity=float(s)))
        for s, i in zip(similarities[0], ids[0])
        if i >= 0
    ]
