"""Data discovery benchmark: do the ground-truth-free signals find real errors, does retrieval find the same
scene, does novelty find what the reference lacks, and how fast is the pipeline (issue 13's targets).

Protocol (data: the DAVIS people clips and the people videos of ``../shared/data``; docs/discovery.md):
1. Each model is run through ``scan_video`` (the path of ``tools/discover.py``: streaming ``step``, DIS flow,
   signals, embeddings) over every DAVIS clip of ``davis_people`` and, for novelty, the first ``--video-frames``
   frames of the people videos. MediaPipe's selfie segmenter runs alone on the scored clips; the trained people
   model (``--checkpoint`` of ``--config``, the per-frame recipe by default) runs with MediaPipe as its teacher
   and is the embedder of both.
2. Failure vs error: on the scored DAVIS clips (``REAL_PEOPLE_SPLIT['eval_sequences']``), each frame's failure
   score (default weights) against ``1 - J``, J the IoU of the predicted and annotated person masks at the
   frame's original size (1 when both are empty); Spearman's rho over every frame of those clips, and each
   signal's own rho beside it (which signals carry the ranking), and per clip its rho over its own frames with
   its mean 1 - J and mean score (the target stays the pooled rho). The same on the development clips
   (``DEVELOPMENT_CLIPS``), a second annotated set to compare signals on.
3. Retrieval: every frame of every DAVIS clip queries the index of all of them (trained model's embeddings);
   frames of the query's clip within +-5 frames are left out of its ranking, and precision@10 counts the other
   frames of its clip among the first 10. Mean over queries.
4. Novelty: segments of ``--segment-length`` frames. Reference: the segments in the first half of every DAVIS
   people clip (every clip but car-shadow); like it: the segments in their second halves; unlike it: every
   segment of car-shadow (no person) and of the people videos (other cameras, indoor, surveillance). AUROC of
   novelty, unlike as positives.
5. Throughput at ``default_threads()`` torch threads: frames/s of the whole scan of each model, of decoding
   (and resizing to the model's input scale, as for the signals) alone, of each model's ``step`` alone on
   prepared full-resolution frames (the model's own resize included), and of the signal stage alone (DIS flow
   and the signals, with the teacher's disagreement for the trained model) on the first scored clip's recorded
   logits.

Without ``--checkpoint`` the trained model, retrieval and novelty are reported as not measured (random weights
would measure nothing). Targets are computed from the values in the same record.

    python benchmarks/discovery.py --checkpoint work_dirs/.../iter_800.pth    # < 10 minutes on 2 cores
    python benchmarks/discovery.py --config configs/vss/..._distill_mediapipe_synthetic_256.py --checkpoint CKPT
    python benchmarks/discovery.py --checkpoint CKPT --max-frames 12 --segment-length 4   # smoke
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from scipy.stats import mannwhitneyu, spearmanr

from steadyseg.apis.benchmarking import record_header, target
from steadyseg.apis.inference import (
    StreamingSegmenter,
    default_threads,
    input_size_of,
    iter_video_frames,
    labels_from_logits,
    load_model,
)
from steadyseg.apis.training import at_least
from steadyseg.config import shared_data_root
from steadyseg.datasets.real_people import REAL_PEOPLE_SPLIT
from steadyseg.datasets.transforms.clip_geometry import resize_image
from steadyseg.datasets.video_io import read_single_channel_png
from steadyseg.discovery import (
    DEFAULT_WEIGHTS,
    SIGNALS,
    DiscoveryModels,
    FrameEmbedder,
    SegmentIndex,
    VideoSignals,
    failure_score,
    mean_embedding,
    novelty,
    scan_video,
)
from steadyseg.discovery.signals import segment_bounds
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAINED = "trained people model"
MEDIAPIPE = "MediaPipe selfie 256"
TRAINED_CONFIG = "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
MEDIAPIPE_CONFIG = "configs/baselines/mediapipe_selfie_256.py"
# Annotated clips outside the scored ones whose masks hold every person in view (cut-out sources: the models saw
# their people pasted elsewhere), as (frames, masks) under the shared data: a second set to compare signals on.
DEVELOPMENT_CLIPS = {
    clip: (f"davis_people/JPEGImages/480p/{clip}", f"davis_people/Annotations/480p/{clip}")
    for clip in ("breakdance-flare", "rollerblade")
}
DEVELOPMENT_CLIPS["schoolgirls"] = ("davis_schoolgirls/schoolgirls.mp4", "davis_schoolgirls/masks")
# The record keys of the failure-vs-error results of each annotated set, as the table names the set.
ANNOTATED_SETS = (("scored", "failure_vs_error"), ("development", "failure_vs_error_development"))
NEIGHBOURHOOD = 5
RETRIEVED = 10
TARGET_SPEARMAN = 0.5
TARGET_PRECISION = 0.8
TARGET_AUROC = 0.8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="the trained people model's weights")
    parser.add_argument(
        "--config",
        default=TRAINED_CONFIG,
        help=f"the trained people model's config (default {TRAINED_CONFIG})",
    )
    parser.add_argument("--max-frames", type=at_least(2), help="frames per clip and video (smoke runs)")
    parser.add_argument(
        "--video-frames", type=at_least(1), default=48, help="frames of each people video (default 48)"
    )
    parser.add_argument(
        "--segment-length", type=at_least(1), default=8, help="frames per segment (default 8)"
    )
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks/results/discovery.json"))
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} does not exist")
    if not (REPO_ROOT / args.config).is_file():
        parser.error(f"--config: {args.config} does not exist")
    return args


def frames_of(max_frames: int | None, cap: int | None = None) -> int | None:
    limits = [limit for limit in (max_frames, cap) if limit is not None]
    return min(limits) if limits else None


def person_masks(folder: Path, count: int) -> list[np.ndarray]:
    paths = sorted(folder.glob("*.png"))[:count]
    return [read_single_channel_png(path) > 0 for path in paths]


def iou(predicted: np.ndarray, annotated: np.ndarray) -> float:
    union = np.count_nonzero(predicted | annotated)
    return 1.0 if union == 0 else np.count_nonzero(predicted & annotated) / union


def scan(source: Path, models: DiscoveryModels, segment_length: int, max_frames: int | None) -> dict:
    """One video's frame records, frame embeddings, logits and the scan's wall time."""
    logits = []
    started = time.perf_counter()
    records = scan_video(
        source,
        models,
        segment_length,
        progress=False,
        max_frames=max_frames,
        on_logits=lambda index, frame_logits: logits.append(frame_logits),
    )
    seconds = time.perf_counter() - started
    return dict(frames=records.frames, embeddings=records.frame_embeddings, logits=logits, seconds=seconds)


def failure_vs_error(scans: dict, annotations: dict[str, Path]) -> dict:
    """Per-frame failure score and 1 - J over the clips of ``annotations`` (clip -> its mask folder; any nonzero
    value is a person), and Spearman's rho of the two; beside it, each signal's own rho (as the failure score
    enters it: ``1 - margin``), so the signals that carry the ranking show."""
    failure, error, without_teacher, clip_of = [], [], [], []
    signals = {name: [] for name in SIGNALS}
    no_teacher = {name: weight for name, weight in DEFAULT_WEIGHTS.items() if name != "disagreement_iou"}
    for name, folder in annotations.items():
        result = scans[name]
        masks = person_masks(folder, len(result["frames"]))
        for frame, logits, mask in zip(result["frames"], result["logits"], masks, strict=True):
            predicted = labels_from_logits(logits, mask.shape) == 1
            clip_of.append(name)
            error.append(1.0 - iou(predicted, mask))
            failure.append(failure_score(frame, DEFAULT_WEIGHTS))
            without_teacher.append(failure_score(frame, no_teacher))
            for signal, values in signals.items():
                values.append(failure_score(frame, {signal: 1.0}))
    per_clip = within_clip_ranking(clip_of, failure, error)
    within = [result["spearman"] for result in per_clip.values() if result["spearman"] is not None]
    return dict(
        spearman=float(spearmanr(failure, error).statistic),
        spearman_without_teacher=float(spearmanr(without_teacher, error).statistic),
        spearman_per_signal={signal: signal_spearman(values, error) for signal, values in signals.items()},
        spearman_within_clip=float(np.mean(within)) if within else None,
        per_clip=per_clip,
        frames=len(error),
        clip=clip_of,
        failure=failure,
        one_minus_j=error,
        signals=signals,
    )


def within_clip_ranking(clip_of: list[str], failure: list[float], error: list[float]) -> dict:
    """Per clip: its frames' mean 1 - J and mean failure score, and Spearman's rho of the two over its frames.
    The pooled rho also asks the score to order whole clips by error; these separate that from ranking the frames
    of one video, and the clip means show which clips' errors the score cannot see."""
    per_clip = {}
    for clip in dict.fromkeys(clip_of):
        rows = [index for index, name in enumerate(clip_of) if name == clip]
        clip_failure, clip_error = [failure[i] for i in rows], [error[i] for i in rows]
        per_clip[clip] = dict(
            frames=len(rows),
            mean_one_minus_j=float(np.mean(clip_error)),
            mean_failure=float(np.mean(clip_failure)),
            spearman=signal_spearman(clip_failure, clip_error),
        )
    return per_clip


def signal_spearman(values: list[float], error: list[float]) -> float | None:
    """Spearman's rho over the frames that have the signal (the first frame of a clip has no flicker); None when
    fewer than 3 frames have it (no teacher: no disagreement) or it is constant there."""
    pairs = [(value, e) for value, e in zip(values, error, strict=True) if not math.isnan(value)]
    if len(pairs) < 3 or len({value for value, _ in pairs}) < 2:
        return None
    return float(spearmanr(*zip(*pairs)).statistic)


def retrieval_precision(scans: dict) -> dict:
    """Mean precision@10 of frame queries (see the module docstring)."""
    clips = list(scans)
    embeddings = np.concatenate([scans[clip]["embeddings"] for clip in clips])
    rows = [[clip, index] for clip in clips for index in range(len(scans[clip]["embeddings"]))]
    index = SegmentIndex.build(embeddings, rows)
    _, neighbours = index.search(embeddings, RETRIEVED + 2 * NEIGHBOURHOOD + 1)
    precisions = []
    for (clip, frame), found in zip(rows, neighbours):
        ranked = [index.rows[i] for i in found if i >= 0]
        kept = [row for row in ranked if row[0] != clip or abs(row[1] - frame) > NEIGHBOURHOOD][:RETRIEVED]
        precisions.append(sum(row[0] == clip for row in kept) / RETRIEVED)
    return dict(precision_at_10=float(np.mean(precisions)), queries=len(precisions))


def segment_embeddings(embeddings: np.ndarray, length: int, part: str = "all") -> np.ndarray:
    """Segment embeddings of a video's frames; ``part``: the segments inside its first or second half, or all."""
    half = len(embeddings) // 2
    bounds = {
        "all": segment_bounds(len(embeddings), length),
        "first": [(start, end) for start, end in segment_bounds(half, length) if end - start == length],
        "second": [
            (half + s, half + e) for s, e in segment_bounds(len(embeddings) - half, length) if e - s == length
        ],
    }[part]
    return np.stack([mean_embedding(embeddings[start:end]) for start, end in bounds]) if bounds else None


def novelty_auroc(davis: dict, videos: dict, length: int) -> dict:
    negative_clip = REAL_PEOPLE_SPLIT["negative_sequence"]
    people = [clip for clip in davis if clip != negative_clip]
    parts = {
        part: [segment_embeddings(davis[c]["embeddings"], length, part) for c in people]
        for part in ("first", "second")
    }
    reference = np.concatenate([e for e in parts["first"] if e is not None])
    like = novelty(np.concatenate([e for e in parts["second"] if e is not None]), reference)
    person_free = novelty(segment_embeddings(davis[negative_clip]["embeddings"], length), reference)
    other = novelty(
        np.concatenate([segment_embeddings(result["embeddings"], length) for result in videos.values()]),
        reference,
    )

    def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
        # Mann-Whitney's U over n+ n- is the probability that a positive outranks a negative (ties count half).
        return float(mannwhitneyu(positives, negatives).statistic / (len(positives) * len(negatives)))

    unlike = np.concatenate([person_free, other])
    return dict(
        auroc=auroc(unlike, like),
        auroc_person_free=auroc(person_free, like),
        auroc_other_videos=auroc(other, like),
        segments=dict(
            reference=len(reference), like=len(like), person_free=len(person_free), other=len(other)
        ),
        mean_novelty=dict(
            like=float(like.mean()), person_free=float(person_free.mean()), other=float(other.mean())
        ),
    )


def resized_frames(model: torch.nn.Module, source: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """The first ``max_frames`` frames of ``source`` (every frame when None), resized to ``model``'s input scale
    as the scan hands them to the signals."""
    iterator, _, _ = iter_video_frames(source)
    try:
        for index, frame in enumerate(iterator):
            if max_frames is not None and index >= max_frames:
                return
            height, width = input_size_of(model, *frame.shape[:2])
            yield resize_image(frame, (width, height))
    finally:
        iterator.close()


def decode_rate(model: torch.nn.Module, sources: list[Path], max_frames: int | None) -> float:
    """Frames/s of decoding and resizing to ``model``'s input scale (what the scan does for the signals)."""
    started = time.perf_counter()
    frames = sum(1 for source in sources for _ in resized_frames(model, source, max_frames))
    return frames / (time.perf_counter() - started)


def model_rate(model: torch.nn.Module, sources: list[Path], max_frames: int | None) -> float:
    """``step`` frames/s on frames prepared beforehand (the first clip's frames, state carried)."""
    segmenter = StreamingSegmenter(model)
    iterator, _, _ = iter_video_frames(sources[0])
    prepared = [segmenter.prepare(frame) for _, frame in zip(range(max_frames or 40), iterator)]
    iterator.close()
    segmenter.step(prepared[0])
    started = time.perf_counter()
    for inputs in prepared:
        segmenter.step(inputs)
    return len(prepared) / (time.perf_counter() - started)


def signals_rate(
    model: torch.nn.Module,
    source: Path,
    logits: list[np.ndarray],
    teacher_logits: list[np.ndarray] | None = None,
) -> float:
    """Frames/s of the scan's signal stage alone (DIS flow, flicker, uncertainty, and disagreement when the
    teacher's logits are given) on the logits a scan of ``source`` recorded, frames decoded and resized to
    ``model``'s input scale beforehand."""
    frames = list(resized_frames(model, source, len(logits)))
    teacher_logits = teacher_logits or [None] * len(frames)
    signals = VideoSignals()
    started = time.perf_counter()
    for frame, frame_logits, frame_teacher_logits in zip(frames, logits, teacher_logits):
        signals.add(frame, frame_logits, frame_teacher_logits)
    return len(frames) / (time.perf_counter() - started)


def compute_targets(record: dict) -> list[dict]:
    """The issue's targets, each from the measured values in ``record``."""
    targets = [
        target(
            f"{name}: Spearman(failure score, 1 - J) per frame (>=)",
            result["spearman"],
            TARGET_SPEARMAN,
            higher_is_better=True,
        )
        for name, result in record["failure_vs_error"].items()
    ]
    if record["retrieval"] is not None:
        targets.append(
            target(
                "frame retrieval precision@10, same clip outside +-5 frames (>=)",
                record["retrieval"]["precision_at_10"],
                TARGET_PRECISION,
                higher_is_better=True,
            )
        )
    if record["novelty"] is not None:
        targets.append(
            target(
                "novelty AUROC, unlike vs like the reference (>=)",
                record["novelty"]["auroc"],
                TARGET_AUROC,
                higher_is_better=True,
            )
        )
    return targets


def format_table(record: dict) -> str:
    lines = ["| target | value | threshold | met |", "|---|---|---|---|"]
    lines += [
        f"| {t['name']} | {t['value']:.3f} | {t['threshold']:.3f} | {t['met']} |" for t in record["targets"]
    ]
    lines += [f"| {name} | not measured: {why} | – | – |" for name, why in record["not_measured"].items()]
    columns = [*SIGNALS, "failure score"]
    lines += ["", "| Spearman(signal, 1 - J) per frame | clips | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    for clips, key in ANNOTATED_SETS:
        for name, result in record[key].items():
            cells = [_rho_cell(result["spearman_per_signal"][signal]) for signal in SIGNALS]
            cells.append(_rho_cell(result["spearman"]))
            lines.append(f"| {name} | {clips} ({result['frames']} frames) | " + " | ".join(cells) + " |")
    for clips, key in ANNOTATED_SETS:
        names = list(next(iter(record[key].values()))["per_clip"])
        lines += [
            "",
            f"| within each {clips} clip: Spearman (mean 1 - J / mean failure score) | "
            + " | ".join(names)
            + " | mean Spearman |",
            "|---|" + "---|" * (len(names) + 1),
        ]
        for name, result in record[key].items():
            cells = [
                f"{_rho_cell(clip['spearman'])} ({clip['mean_one_minus_j']:.2f} / {clip['mean_failure']:.2f})"
                for clip in result["per_clip"].values()
            ]
            cells.append(_rho_cell(result["spearman_within_clip"]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    rates = record["throughput"]
    lines += ["", "| frames/s | " + " | ".join(rates) + " |", "|---|" + "---|" * len(rates)]
    lines.append("| | " + " | ".join(f"{value:.1f}" for value in rates.values()) + " |")
    return "\n".join(lines)


def _rho_cell(rho: float | None) -> str:
    return "–" if rho is None else f"{rho:.3f}"


def main(argv=None) -> dict:
    args = parse_args(argv)
    root = shared_data_root()
    davis = root / "davis_people" / "JPEGImages" / "480p"
    if not davis.is_dir():
        raise SystemExit(f"{davis}: the DAVIS people clips are needed (set STEADYSEG_SHARED_DATA)")
    clips = {path.name: path for path in sorted(davis.iterdir()) if path.is_dir()}
    scored = list(REAL_PEOPLE_SPLIT["eval_sequences"])
    annotations = root / "davis_people" / "Annotations" / "480p"
    # Every clip scored against its masks, as (frames, masks): the scored clips, then the development ones.
    annotated = {clip: (clips[clip], annotations / clip) for clip in scored}
    annotated.update(
        {clip: (root / frames, root / masks) for clip, (frames, masks) in DEVELOPMENT_CLIPS.items()}
    )
    videos = {Path(video).stem: root / video for video in REAL_PEOPLE_SPLIT["flicker_videos"]}
    started = time.time()
    torch.set_num_threads(default_threads())

    mediapipe = load_model(REPO_ROOT / MEDIAPIPE_CONFIG, None)
    trained = None if args.checkpoint is None else load_model(REPO_ROOT / args.config, args.checkpoint)
    # MediaPipe's TFLite model has no encoder to embed with; its embeddings are not used below.
    embedder = FrameEmbedder(trained or load_model(REPO_ROOT / TRAINED_CONFIG, None))
    length, cap = args.segment_length, args.max_frames
    scans, throughput, not_measured = {}, {}, {}
    print(f"{MEDIAPIPE}: scanning {len(scored)} scored and {len(DEVELOPMENT_CLIPS)} development clips")
    scans[MEDIAPIPE] = {
        clip: scan(source, DiscoveryModels(mediapipe, embedder), length, cap)
        for clip, (source, _) in annotated.items()
    }
    if trained is None:
        reason = "no --checkpoint"
        not_measured = {TRAINED: reason, "retrieval": reason, "novelty": reason}
    else:
        models = DiscoveryModels(trained, embedder, teacher=mediapipe)
        print(
            f"{TRAINED} (teacher: {MEDIAPIPE}): scanning {len(clips)} DAVIS clips, the other development clips "
            f"and {len(videos)} videos"
        )
        davis_scans = {clip: scan(path, models, length, cap) for clip, path in clips.items()}
        others = {
            clip: scan(source, models, length, cap)
            for clip, (source, _) in annotated.items()
            if clip not in clips
        }
        scans[TRAINED] = {**davis_scans, **others}
        video_scans = {
            name: scan(path, models, length, frames_of(cap, args.video_frames))
            for name, path in videos.items()
        }
    masks_of = {
        part: {clip: annotated[clip][1] for clip in names}
        for part, names in (("scored", scored), ("development", DEVELOPMENT_CLIPS))
    }
    failure = {name: failure_vs_error(result, masks_of["scored"]) for name, result in scans.items()}
    failure_development = {
        name: failure_vs_error(result, masks_of["development"]) for name, result in scans.items()
    }
    for name, result in scans.items():
        scored_scans = [result[clip] for clip in scored]
        label = name if name == MEDIAPIPE else f"{name} + teacher"
        throughput[f"pipeline: {label}"] = sum(len(s["frames"]) for s in scored_scans) / sum(
            s["seconds"] for s in scored_scans
        )
    first_clip = clips[scored[0]]
    mediapipe_logits = scans[MEDIAPIPE][scored[0]]["logits"]
    throughput["decode + resize"] = decode_rate(mediapipe, [clips[clip] for clip in scored], cap)
    throughput[f"model: {MEDIAPIPE}"] = model_rate(mediapipe, [first_clip], cap)
    throughput[f"signals: {MEDIAPIPE}"] = signals_rate(mediapipe, first_clip, mediapipe_logits)
    if trained is not None:
        throughput[f"model: {TRAINED}"] = model_rate(trained, [first_clip], cap)
        # The teacher's logits in the trained model's scan are MediaPipe's own on the same frames.
        throughput[f"signals: {TRAINED} + teacher"] = signals_rate(
            trained, first_clip, scans[TRAINED][scored[0]]["logits"], mediapipe_logits
        )
    record = {
        **record_header("discovery", argv, started),
        "torch_threads": torch.get_num_threads(),
        "checkpoint": args.checkpoint,
        "config": args.config,
        "max_frames": cap,
        "segment_length": length,
        "weights": DEFAULT_WEIGHTS,
        "failure_vs_error": failure,
        "development_clips": list(DEVELOPMENT_CLIPS),
        "failure_vs_error_development": failure_development,
        "retrieval": None if trained is None else retrieval_precision(davis_scans),
        "novelty": None if trained is None else novelty_auroc(davis_scans, video_scans, length),
        "throughput": throughput,
        "not_measured": not_measured,
    }
    record["targets"] = compute_targets(record)
    record["table"] = format_table(record)
    print(record["table"])
    write_atomically(Path(args.out), metrics_json(record).encode())
    return record


if __name__ == "__main__":
    main()
