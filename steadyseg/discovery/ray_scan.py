"""The discovery scan of :func:`~steadyseg.discovery.scan.scan_corpus` on Ray Data, for corpora that need a
cluster (``tools/discover.py --ray``; docs/discovery.md, "Scaling out with Ray").

The videos still to scan are a Ray dataset of one row per video. An actor pool maps it: each actor loads the
models once and scans whole videos with :func:`~steadyseg.discovery.scan.scan_video`, so a video's recurrent
state is carried across all its frames on one actor and never split. The records come back to the driver as
the actors finish, and the driver writes each video as it arrives: Parquet under ``<out>/parquet`` and the same
:class:`~steadyseg.discovery.records.RecordStore` the single-process path writes, so index, ranking,
collections, report and resume work unchanged. The output folder lives on the driver's machine; the videos
(and the model files) must be readable at the same paths on every node.

Ray and pyarrow come with the optional extra: ``pip install 'steadyseg[ray]'``.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from steadyseg.datasets.errors import VideoDataError
from steadyseg.engine import write_atomically

from .errors import DiscoveryError
from .pipeline import load_models
from .records import RecordStore, VideoRecords, video_key
from .scan import scan_video
from .signals import SIGNALS

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray
except ImportError as error:
    raise ImportError(
        f"scanning with Ray needs Ray Data, which is not installed ({error}): pip install 'steadyseg[ray]'"
    ) from error

PARQUET_FOLDER = "parquet"
ModelFiles = tuple[str, str | None]


class VideoScanner:
    """The actor of the pool: loads the models from their ``(config, checkpoint)`` files once, then scans each
    video of a batch of rows ``{"key": [...], "source": [path, ...]}`` whole.

    A video that cannot be read comes back as an ``error`` row naming it, so the other videos of the corpus are
    still scanned and written; any other exception fails the run.
    """

    def __init__(
        self,
        model: ModelFiles,
        teacher: ModelFiles | None,
        embedder: ModelFiles | None,
        segment_length: int,
        threads: int,
        device: str,
    ):
        # Each actor is given `threads` CPUs by Ray; more torch threads would contend with the other actors.
        torch.set_num_threads(threads)
        self.models = load_models(model, teacher, embedder, device)
        self.segment_length = segment_length

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = {"key": [], "error": [], "records": []}
        for key, source in zip(batch["key"], batch["source"]):
            rows["key"].append(key)
            try:
                records = scan_video(source, self.models, self.segment_length, progress=False)
            except VideoDataError as error:
                rows["error"].append(str(error))
                rows["records"].append(b"")
                continue
            rows["error"].append("")
            # Ray Data's blocks are Arrow tables: a video's nested records and arrays travel as one bytes cell.
            rows["records"].append(pickle.dumps(records))
        return rows


def frame_table(key: str, records: VideoRecords) -> pa.Table:
    """One row per frame: ``key``, ``frame``, the signals (null where undefined) and ``embedding``."""
    columns = {"key": pa.array([key] * len(records.frames), pa.string())}
    columns["frame"] = pa.array([frame["frame"] for frame in records.frames], pa.int64())
    return with_signals_and_embeddings(columns, records.frames, records.frame_embeddings)


def segment_table(key: str, records: VideoRecords) -> pa.Table:
    """One row per segment: ``key``, ``segment``, ``start``, ``end`` (excluded), the signals and ``embedding``."""
    columns = {"key": pa.array([key] * len(records.segments), pa.string())}
    for name in ("segment", "start", "end"):
        columns[name] = pa.array([segment[name] for segment in records.segments], pa.int64())
    return with_signals_and_embeddings(columns, records.segments, records.segment_embeddings)


def with_signals_and_embeddings(columns: dict, rows: list[dict], embeddings: np.ndarray) -> pa.Table:
    # Explicit types: a signal null in every row of a video (no teacher) is still float64, so the files of a
    # corpus share one schema and read as one table.
    for name in SIGNALS:
        columns[name] = pa.array([row.get(name) for row in rows], pa.float64())
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    offsets = np.arange(len(embeddings) + 1, dtype=np.int32) * embeddings.shape[1]
    columns["embedding"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(embeddings.ravel()))
    return pa.table(columns)


def video_table(key: str, records: VideoRecords) -> pa.Table:
    """One row: ``key`` and the video's header (path, frames, fps, size, segment length, embedding size)."""
    # A header read back from the store holds the key already; a fresh scan's does not.
    return pa.Table.from_pylist([{"key": key, **records.header}])


# The Parquet tables, one folder each under <out>/parquet, one file a video in each.
PARQUET_TABLES = {"videos": video_table, "frames": frame_table, "segments": segment_table}


def write_parquet(root: Path, key: str, records: VideoRecords) -> None:
    """``root/{videos,frames,segments}/<key>.parquet``, each written atomically."""
    for folder, table in PARQUET_TABLES.items():
        buffer = pa.BufferOutputStream()
        pq.write_table(table(key, records), buffer)
        write_atomically(root / folder / f"{key}.parquet", buffer.getvalue().to_pybytes())


def has_parquet(root: Path, key: str) -> bool:
    return all((root / folder / f"{key}.parquet").is_file() for folder in PARQUET_TABLES)


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Within the block Ray is initialized: connected to the cluster at ``address`` (None: a new local
    instance with ``num_cpus``, default every core), unless it already is, in which case that session is used
    as it is. Shuts down only a session it started."""
    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False)
    except ConnectionError as error:
        raise DiscoveryError(f"Ray cluster at {address}: {error}") from error
    try:
        yield
    finally:
        ray.shutdown()


def scanned_videos(
    videos: dict[str, Path],
    scanner_args: tuple,
    num_actors: int,
    threads: int,
    device: str,
) -> ray.data.Dataset:
    """The dataset of ``videos`` (key -> path), one video a block so the actors share them out, mapped by a
    pool of up to ``num_actors`` :class:`VideoScanner` (built with ``scanner_args``) to one row a video."""
    items = [{"key": key, "source": str(source)} for key, source in videos.items()]
    actors = min(num_actors, len(items))
    return ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        VideoScanner,
        batch_size=1,
        # Grows to `actors` as the cluster has room, so a smaller cluster runs fewer instead of waiting; one
        # video at a time per actor, as a video queued behind another on a busy actor would idle the others.
        compute=ray.data.ActorPoolStrategy(
            min_size=1, max_size=actors, initial_size=actors, max_tasks_in_flight_per_actor=1
        ),
        fn_constructor_args=scanner_args,
        num_cpus=threads,
        num_gpus=1 if device.startswith("cuda") else 0,
    )


def scan_corpus_ray(
    sources: Sequence[str | Path],
    store: RecordStore,
    model: ModelFiles,
    teacher: ModelFiles | None = None,
    embedder: ModelFiles | None = None,
    segment_length: int = 16,
    num_actors: int = 2,
    threads: int = 1,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, list[str]]:
    """:func:`~steadyseg.discovery.scan.scan_corpus` on the current Ray session (see :func:`ray_session`;
    Ray Data starts a local one if there is none): records every video of ``sources`` not yet complete in
    ``store``, on a pool of up to ``num_actors`` actors of ``threads`` CPUs (and one GPU each on a CUDA
    ``device``), each holding the models given as ``(config, checkpoint or None)`` files.

    Each video is written to Parquet under ``store.root / "parquet"`` and to ``store`` as it arrives; the
    Parquet files of videos complete from an earlier run (also one without Ray) are written from ``store``
    where missing. Returns the keys ``scanned`` now and ``resumed``, in corpus order. A video that cannot be
    read ends the run, once the others are written, in a ``VideoDataError`` naming it.
    """
    keyed = {video_key(source): Path(source).resolve() for source in sources}
    parquet = store.root / PARQUET_FOLDER
    resumed = [key for key in keyed if store.is_done(key)]
    for key in resumed:
        if not has_parquet(parquet, key):
            write_parquet(parquet, key, store.read(key))
    pending = [key for key in keyed if key not in resumed]
    scanned, errors = set(), []
    if pending:
        # Ray Data reads its context when a dataset is made: the progress setting goes in first.
        context = ray.data.DataContext.get_current()
        previous_progress, context.enable_progress_bars = context.enable_progress_bars, progress
        try:
            rows = scanned_videos(
                {key: keyed[key] for key in pending},
                (model, teacher, embedder, segment_length, threads, device),
                num_actors,
                threads,
                device,
            )
            for row in rows.iter_rows():
                if row["error"]:
                    errors.append(row["error"])
                    continue
                records = pickle.loads(row["records"])
                write_parquet(parquet, row["key"], records)
                store.write(row["key"], records)
                scanned.add(row["key"])
        finally:
            context.enable_progress_bars = previous_progress
    if errors:
        raise VideoDataError("; ".join(errors))
    return {"scanned": [key for key in pending if key in scanned], "resumed": resumed}
