"""Find where a model fails on a video corpus without ground truth: ``python tools/discover.py CONFIG CKPT CORPUS
--out DIR``.

Streams every video of CORPUS (a folder, a glob pattern or a .txt list of video files and frame folders) through
the model's ``step`` and writes, per video as it finishes, per-frame and per-segment ground-truth-free signals
(flicker with and without flow, uncertainty, disagreement with --teacher, person area) and embeddings under
DIR/videos; a rerun into DIR skips the videos already done. Then it indexes the segments' embeddings
(DIR/index) and writes collection files of segments (DIR/collections): the top failures, with --reference the
most novel, and with a --query-* option the nearest to the query; and a report to look at (DIR/report.html: the
top segments' frames with their predicted masks, signal timelines, the strongest flicker; DIR/report/segments.csv).
With --ray the videos are scanned on Ray Data by a pool of actors (a local Ray instance, or the cluster at
--ray-address) and their records also written as Parquet (DIR/parquet); everything else is the same.
See docs/discovery.md.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

from steadyseg.apis.training import at_least, run_cli
from steadyseg.config import load_config
from steadyseg.datasets.video_folder import list_video_sources
from steadyseg.discovery import (
    DEFAULT_WEIGHTS,
    DiscoveryError,
    RecordStore,
    config_weights,
    load_segments,
    parse_weights,
    scan_corpus,
)
from steadyseg.discovery.collection import write_collection
from steadyseg.discovery.index import EXACT_BELOW
from steadyseg.discovery.pipeline import (
    index_segments,
    load_models,
    load_reference,
    ranked_entries,
    retrieved_entries,
    segment_scores,
)
from steadyseg.discovery.query import embed_image, embed_video_frames
from steadyseg.discovery.report import write_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint", help="checkpoint file ('none' for models without learned weights)")
    parser.add_argument("corpus", help="folder, glob pattern or .txt list of video files and frame folders")
    parser.add_argument("--out", required=True, help="output folder (records, index, collections)")
    parser.add_argument(
        "--segment-length", type=at_least(1), default=16, help="frames per segment (default 16)"
    )
    parser.add_argument(
        "--teacher", nargs="+", metavar="CONFIG [CKPT]", help="teacher model to measure disagreement with"
    )
    parser.add_argument(
        "--embedder",
        nargs="+",
        metavar="CONFIG [CKPT]",
        help="embed frames with this model (default: the model)",
    )
    parser.add_argument("--top-k", type=at_least(1), default=20, help="segments per collection (default 20)")
    parser.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="SIGNAL=VALUE",
        help="failure-score weight of a signal, repeatable (0 drops one), over the config's "
        "discovery = dict(weights=dict(...)) and the defaults: "
        + ", ".join(f"{name} = {weight:g}" for name, weight in DEFAULT_WEIGHTS.items()),
    )
    parser.add_argument(
        "--reference",
        help="reference collection for novelty: a discovery output folder or an .npy of embeddings",
    )
    query = parser.add_mutually_exclusive_group()
    query.add_argument("--query-image", metavar="IMAGE", help="retrieve the segments nearest this image")
    query.add_argument(
        "--query-frame",
        nargs=2,
        metavar=("VIDEO", "INDEX"),
        help="retrieve the segments nearest a video frame",
    )
    query.add_argument(
        "--query-segment",
        nargs=3,
        metavar=("VIDEO", "START", "END"),
        help="retrieve the segments nearest frames START..END-1 of a video",
    )
    parser.add_argument(
        "--exact-below",
        type=at_least(1),
        default=EXACT_BELOW,
        help=f"exact index below this many segments, approximate (HNSW) from there (default {EXACT_BELOW})",
    )
    parser.add_argument(
        "--threads",
        type=at_least(1),
        help="torch threads (default: every core but one; with --ray, per actor, default 1)",
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="scan on Ray Data with a pool of actors (pip install 'steadyseg[ray]')",
    )
    parser.add_argument(
        "--ray-actors", type=at_least(1), help="with --ray: actors, each holding the models (default 2)"
    )
    parser.add_argument(
        "--ray-address", help="with --ray: address of a Ray cluster (default: start a local instance)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--no-report", action="store_true", help="skip report.html and report/")
    return parser


def model_files(parser: argparse.ArgumentParser, option: str, values: list[str]) -> tuple[str, str | None]:
    """``(config, checkpoint or None)`` from a model given as ``CONFIG [CKPT]``; usage errors name ``option``."""
    if len(values) > 2:
        parser.error(f"{option} takes CONFIG [CKPT], got {len(values)} values")
    config, checkpoint = values[0], (values[1] if len(values) == 2 else "none")
    if not Path(config).is_file():
        parser.error(f"{option}: config file {config} does not exist")
    if checkpoint != "none" and not Path(checkpoint).is_file():
        parser.error(f"{option}: checkpoint {checkpoint} does not exist")
    return config, None if checkpoint == "none" else checkpoint


def frame_numbers(parser: argparse.ArgumentParser, option: str, values: list[str]) -> list[int]:
    try:
        numbers = [int(value) for value in values]
    except ValueError:
        parser.error(f"{option}: frame numbers must be integers, got {' '.join(values)}")
    if any(number < 0 for number in numbers):
        parser.error(f"{option}: frame numbers must be >= 0, got {' '.join(values)}")
    return numbers


def absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def absolute_files(files: tuple[str, str | None] | None) -> tuple[str, str | None] | None:
    return None if files is None else tuple(absolute(path) for path in files)


def ray_scanner():
    """``steadyseg.discovery.ray_scan``, imported only for --ray: the default path runs without Ray."""
    try:
        return importlib.import_module("steadyseg.discovery.ray_scan")
    except ImportError as error:
        raise DiscoveryError(f"--ray: {error}") from error


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    model = model_files(parser, "CONFIG CKPT", [args.config, args.checkpoint])
    teacher = None if args.teacher is None else model_files(parser, "--teacher", args.teacher)
    embedder = None if args.embedder is None else model_files(parser, "--embedder", args.embedder)
    for option, path in (("--query-image", args.query_image), ("--reference", args.reference)):
        if path is not None and not Path(path).exists():
            parser.error(f"{option}: {path} does not exist")
    query_frames = None
    if args.query_frame or args.query_segment:
        option, (video, *numbers) = (
            ("--query-frame", args.query_frame)
            if args.query_frame
            else ("--query-segment", args.query_segment)
        )
        numbers = frame_numbers(parser, option, numbers)
        start, end = (numbers[0], numbers[0] + 1) if len(numbers) == 1 else numbers
        if end <= start:
            parser.error(f"{option}: END must be greater than START, got {start} {end}")
        if not Path(video).exists():
            parser.error(f"{option}: video {video} does not exist")
        query_frames = (video, start, end)
    # The config's weights (discovery = dict(weights=...)) over the defaults, the --weight options over both.
    config_defaults = config_weights(load_config(args.config).get("discovery"), args.config)
    try:
        weights = parse_weights(args.weight, config_defaults)
    except DiscoveryError as error:
        parser.error(str(error))
    for option, value in (("--ray-actors", args.ray_actors), ("--ray-address", args.ray_address)):
        if value is not None and not args.ray:
            parser.error(f"{option} needs --ray")
    ray_scan = ray_scanner() if args.ray else None
    sources = list_video_sources("", args.corpus)
    models = load_models(model, teacher, embedder, args.device)
    model, teacher, embedder = (absolute_files(files) for files in (model, teacher, embedder))
    settings = dict(
        model=list(model),
        teacher=None if teacher is None else list(teacher),
        embedder=None if embedder is None else list(embedder),
        # The scale the signals are computed at, as the loaded model has it: records of the same config at
        # another scale (an edited config, or records made before models owned their scale) are not mixed.
        input_short_side=models.model.input_short_side,
        segment_length=args.segment_length,
    )
    store = RecordStore(args.out, settings)
    if ray_scan is None:
        done = scan_corpus(sources, store, models, args.segment_length, not args.no_progress, args.threads)
    else:
        with ray_scan.ray_session(args.ray_address):
            done = ray_scan.scan_corpus_ray(
                sources,
                store,
                model,
                teacher,
                embedder,
                args.segment_length,
                num_actors=args.ray_actors or 2,
                threads=args.threads or 1,
                device=args.device,
                progress=not args.no_progress,
            )
    table = load_segments(store, done["scanned"] + done["resumed"])
    index = index_segments(store, table, args.exact_below)
    reference = None if args.reference is None else load_reference(args.reference)
    scores = segment_scores(table, weights, reference)
    collections = Path(args.out) / "collections"
    written = {}
    failures = ranked_entries(table, scores, "failure", args.top_k)
    written["failures"] = write_collection(
        collections / "failures.json", "failures", f"top {args.top_k} segments by failure score", failures
    )
    if reference is not None:
        novel = ranked_entries(table, scores, "novelty", args.top_k)
        description = f"top {args.top_k} segments by novelty against {absolute(args.reference)}"
        written["novel"] = write_collection(collections / "novel.json", "novel", description, novel)
    if args.query_image or query_frames:
        if args.query_image:
            query, described = embed_image(models.embedder, args.query_image), args.query_image
        else:
            query, described = (
                embed_video_frames(models.embedder, *query_frames),
                f"{query_frames[0]} frames {query_frames[1]}..{query_frames[2] - 1}",
            )
        retrieved = retrieved_entries(index, table, query, args.top_k, scores)
        description = f"{len(retrieved)} segments nearest {described}"
        written["retrieved"] = write_collection(
            collections / "retrieved.json", "retrieved", description, retrieved
        )
    report = None
    if not args.no_report:
        report = write_report(store, table, scores, models.model, weights, args.top_k)
    summary = dict(
        videos=len(done["scanned"]) + len(done["resumed"]),
        scanned=len(done["scanned"]),
        resumed=len(done["resumed"]),
        segments=len(table.rows),
        index=index.kind,
        weights=weights,
        collections={name: str(path) for name, path in written.items()},
        report=None if report is None else str(report),
        top_failures=failures[:5],
    )
    print(json.dumps(summary, indent=2))
    return summary


def run(argv=None):
    try:
        return main(argv)
    except DiscoveryError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    run_cli(run)
