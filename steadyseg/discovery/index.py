"""A faiss vector index over segment embeddings: nearest segments of a query, and novelty.

Embeddings are L2-normalized, so inner product is cosine similarity. Below ``exact_below`` vectors the index is
exact (``IndexFlatIP``); from there on it is approximate: an HNSW graph (``IndexHNSWFlat`` with inner product),
which needs no training and answers in time logarithmic in the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

from steadyseg.engine import write_atomically

from .errors import DiscoveryError

EXACT_BELOW = 20_000
# HNSW: neighbours per node, and the candidate list when building and searching (recall vs time).
HNSW_NEIGHBOURS = 32
HNSW_BUILD_CANDIDATES = 80
HNSW_SEARCH_CANDIDATES = 128
INDEX_FILE = "segments.faiss"
ROWS_FILE = "segments.json"


def normalized(embeddings: np.ndarray) -> np.ndarray:
    """``[N, D]`` rows scaled to unit L2 norm (zero rows stay zero), float32 and contiguous (faiss's input)."""
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be [N, D], got shape {embeddings.shape}")
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return np.ascontiguousarray(embeddings / np.where(norms > 0, norms, 1.0), dtype=np.float32)


class SegmentIndex:
    """Cosine-similarity search over ``[N, D]`` embeddings; ``rows`` (any JSON values) name the ``N`` items.

    ``kind``: ``'exact'`` or ``'hnsw'``, chosen by :meth:`build` from the number of embeddings.
    """

    def __init__(self, index: faiss.Index, rows: list, kind: str):
        if index.ntotal != len(rows):
            raise ValueError(f"the index holds {index.ntotal} vectors but {len(rows)} rows name them")
        self.index, self.rows, self.kind = index, rows, kind

    @classmethod
    def build(cls, embeddings: np.ndarray, rows: list, exact_below: int = EXACT_BELOW) -> SegmentIndex:
        vectors = normalized(embeddings)
        dim = vectors.shape[1]
        if len(vectors) < exact_below:
            index, kind = faiss.IndexFlatIP(dim), "exact"
        else:
            index, kind = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT), "hnsw"
            index.hnsw.efConstruction = HNSW_BUILD_CANDIDATES
        index.add(vectors)
        return cls(index, list(rows), kind)

    @property
    def dim(self) -> int:
        return self.index.d

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(similarities [Q, k'], ids [Q, k'])`` of the ``k' = min(k, N)`` nearest items of each query, most
        similar first."""
        queries = normalized(np.atleast_2d(queries))
        if queries.shape[1] != self.dim:
            raise DiscoveryError(f"queries have {queries.shape[1]} dimensions, the index {self.dim}")
        k = min(k, len(self))
        if k == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(HNSW_SEARCH_CANDIDATES, k)
        return self.index.search(queries, k)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        write_atomically(folder / INDEX_FILE, faiss.serialize_index(self.index).tobytes())
        text = json.dumps(dict(kind=self.kind, rows=self.rows)) + "\n"
        write_atomically(folder / ROWS_FILE, text.encode())

    @classmethod
    def load(cls, folder: str | Path) -> SegmentIndex:
        folder = Path(folder)
        for name in (INDEX_FILE, ROWS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name}: no segment index here")
        index = faiss.deserialize_index(np.frombuffer((folder / INDEX_FILE).read_bytes(), dtype=np.uint8))
        meta = json.loads((folder / ROWS_FILE).read_text())
        return cls(index, meta["rows"], meta["kind"])


def novelty(embeddings: np.ndarray, reference: np.ndarray, exact_below: int = EXACT_BELOW) -> np.ndarray:
    """Each embedding's cosine distance to its nearest reference embedding, ``1 - max cos``, in [0, 2]: high
    for content unlike anything in the reference collection."""
    reference = np.asarray(reference)
    if reference.ndim != 2 or len(reference) == 0:
        raise DiscoveryError(
            f"the reference collection must hold [N, D] embeddings, N >= 1; got {reference.shape}"
        )
    if len(embeddings) == 0:
        return np.zeros(0, np.float32)
    index = SegmentIndex.build(reference, list(range(len(reference))), exact_below)
    similarities, _ = index.search(embeddings, 1)
    return 1.0 - similarities[:, 0]
