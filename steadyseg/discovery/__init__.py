"""Data discovery over a video corpus: ground-truth-free failure signals, embeddings, retrieval and
collections of segments (``tools/discover.py``; docs/discovery.md).

``scan_corpus_ray`` (the scan on Ray Data) is here too, imported on first use: Ray is an optional extra, and
importing this package never imports it.
"""

from .collection import collection_entry, write_collection
from .embedding import FrameEmbedder, PooledBackboneEmbedding, encoder_of, mean_embedding
from .errors import DiscoveryError
from .index import SegmentIndex, novelty
from .ranking import DEFAULT_WEIGHTS, config_weights, failure_score, parse_weights, top_k
from .records import RecordStore, SegmentTable, VideoRecords, load_segments, video_key
from .report import write_report
from .scan import DiscoveryModels, scan_corpus, scan_video
from .signals import SIGNALS, VideoSignals, segment_signals

__all__ = [
    "DEFAULT_WEIGHTS",
    "SIGNALS",
    "DiscoveryError",
    "DiscoveryModels",
    "FrameEmbedder",
    "PooledBackboneEmbedding",
    "RecordStore",
    "SegmentIndex",
    "SegmentTable",
    "VideoRecords",
    "VideoSignals",
    "collection_entry",
    "config_weights",
    "encoder_of",
    "failure_score",
    "load_segments",
    "mean_embedding",
    "novelty",
    "parse_weights",
    "scan_corpus",
    "scan_video",
    "segment_signals",
    "top_k",
    "video_key",
    "write_collection",
    "write_report",
]


def __getattr__(name: str):
    if name == "scan_corpus_ray":
        from .ray_scan import scan_corpus_ray

        return scan_corpus_ray
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
