"""Video instance segmentation benchmark: people tracked online by query embeddings, against IoU-only linking.

Protocol (the real clips' split lives in ``steadyseg.datasets.real_people``):
1. Training set: synthetic people clips (procedural figures and real cut-outs of the DAVIS clips and COCO over
   real backgrounds, ``tools/make_synthetic.py``) made without the schoolgirls' cut-outs, since the schoolgirls clip
   judges; beside them the recipe's own COCO people pseudo-clips. Held-out synthetic clips: another seed,
   procedural people only (nobody seen in training), longer than the training clips so that identities have time
   to switch.
2. The mobile recipe (``configs/vis/mobilenetv3_query_vis_synthetic_256.py``, MinVIS's per-frame training) trains
   once per seed (``--seeds``); a comparison counts only when the difference of the means exceeds both standard
   deviations over at least 3 seeds, and the tables say so.
3. Each checkpoint is scored twice as ``tools/test.py`` scores it: with the recipe's ``EmbeddingTracker`` and with
   the IoU-only linking config (``MaskIoUTracker``: the same weights, masks linked frame to frame by their IoU, no
   embeddings). YouTube-VIS AP, AP50 and AR10, and HOTA, IDF1, ID switches and MOTA on the held-out synthetic
   clips and on the real schoolgirls clip (each girl merged with her backpack).
4. Backpacks: on the schoolgirls clip, the share of each backpack's pixels (over the clip) inside the predicted mask
   of its owner's track (the predicted track matched to the owner by tube IoU).
5. Memory: ``tools/infer.py`` streams ``people_videos/opencv_vtest.avi`` for 100 and for all 795 frames, each run
   in a fresh process; peak RSS of each.
6. Latency of the per-frame head (the exported graph; the tracker runs after it on the host): 256x256 and 384x384,
   1 thread, torch and ONNX Runtime, one model after the other in this process.

    python benchmarks/vis_people.py                 # default budget, < 45 CPU minutes on 2 cores
    python benchmarks/vis_people.py --gpu --iters 8000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.registry import init_default_scope
from PIL import Image
from scipy.optimize import linear_sum_assignment

from steadyseg.apis.benchmarking import (
    MIN_SEEDS,
    exceeds_spread,
    format_cell,
    format_targets,
    make_synthetic_set,
    record_header,
    seed_runs,
    shared_data,
    summarize_seeds,
    target,
)
from steadyseg.apis.checkpoint import read_checkpoint
from steadyseg.apis.inference import StreamingSegmenter, load_model
from steadyseg.apis.training import at_least, evaluate_checkpoint, prepare_config
from steadyseg.apis.video_frames import iter_video_frames
from steadyseg.config import load_config
from steadyseg.datasets.real_people import generator_arguments
from steadyseg.deploy.profiler import profile_model
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json
from steadyseg.registry import MODELS

REPO_ROOT = Path(__file__).resolve().parents[1]
EMBEDDING, IOU = "embedding association", "IoU-only linking"
CONFIGS = {
    EMBEDDING: "configs/vis/mobilenetv3_query_vis_synthetic_256.py",
    IOU: "configs/vis/mobilenetv3_query_vis_iou_linking_synthetic_256.py",
}
SCHOOLGIRLS_TEST_SET = "configs/_base_/datasets/schoolgirls_instances_test.py"
BUDGETS = {
    # Sized for 45 CPU minutes on 2 cores: a training step (8 frames at 256 px) takes about 0.5 s, so the recipe's
    # own 800 iterations take about 7 minutes a seed; scoring both trackers, the memory runs and the latency take
    # the rest.
    "default": dict(iters=800, num_train=48, num_held_out=8, held_out_frames=48),
}
# Training clips as the recipe's synthetic set (tools/make_synthetic.py's defaults).
SYNTHETIC_FRAMES, SYNTHETIC_SIZE = 16, 256
# The schoolgirls' backpacks and the girls who carry them (the shared data's README).
BACKPACK_OWNERS = {2: 3, 4: 5, 6: 7}
GIRLS = (1, 3, 5, 7)
MEMORY_VIDEO = "people_videos/opencv_vtest.avi"
MEMORY_FRAMES = (100, 795)
LATENCY_SIDES = (256, 384)
LATENCY_RUNTIMES = ("torch", "onnxruntime")
# Targets of the video instance segmentation issue.
TARGET_MAX_ID_SWITCHES = 2
TARGET_MIN_IDF1 = 0.8
TARGET_MIN_BACKPACK_INSIDE = 0.5
TARGET_MAX_MEMORY_GROWTH = 0.10
# The record's name of each metric the scoring computes (the evaluators' prefix/key).
SCORED_SETS = ("synthetic", "schoolgirls")
SCORED_KEYS = ("AP", "AP50", "AR10", "HOTA", "IDF1", "IDSW", "MOTA")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=list(BUDGETS), default="default")
    parser.add_argument("--iters", type=at_least(1), help="training iterations per seed (default: budget's)")
    parser.add_argument("--num-train", type=at_least(1), help="synthetic training videos (default: budget's)")
    parser.add_argument(
        "--num-held-out", type=at_least(1), help="held-out synthetic videos (default: budget's)"
    )
    parser.add_argument(
        "--held-out-frames", type=at_least(2), help="frames of each held-out video (default: budget's)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--memory-frames",
        type=at_least(1),
        nargs=2,
        default=list(MEMORY_FRAMES),
        metavar=("SHORT", "LONG"),
        help="frames of the two streaming runs whose peak memory is compared",
    )
    parser.add_argument(
        "--latency-runs", type=at_least(1), default=50, help="timed steps per latency setting"
    )
    parser.add_argument("--work-dir", help="default: work_dirs/benchmarks/vis_people_<budget>")
    parser.add_argument("--out", help="default: benchmarks/results/vis_people.json (default budget)")
    parser.add_argument("--gpu", action="store_true", help="train and score on CUDA (latency stays on CPU)")
    args = parser.parse_args(argv)
    for key, value in BUDGETS[args.budget].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    short, long = args.memory_frames
    if short >= long:
        parser.error(f"--memory-frames: the first run ({short}) must be shorter than the second ({long})")
    args.work_dir = args.work_dir or f"work_dirs/benchmarks/vis_people_{args.budget}"
    suffix = "" if args.budget == "default" else f"_{args.budget}"
    args.out = args.out or str(REPO_ROOT / f"benchmarks/results/vis_people{suffix}.json")
    return args


# --- Data -----------------------------------------------------------------------------------------------------


def make_sets(
    work: Path, num_train: int, num_held_out: int, held_out_frames: int, data: Path
) -> tuple[Path, Path]:
    """The training set (real cut-outs but the schoolgirls', and procedural people) and the held-out clips
    (procedural people only, another seed) under ``work``."""
    size = ["--size", str(SYNTHETIC_SIZE), str(SYNTHETIC_SIZE)]
    train_set, held_out = work / "synthetic_people_instances", work / "held_out_instances"
    options = [
        "--seed",
        "0",
        "--num-train",
        str(num_train),
        "--num-val",
        "1",
        "--frames",
        str(SYNTHETIC_FRAMES),
    ]
    make_synthetic_set(train_set, options + size + generator_arguments(data, instance_cutouts=False))
    options = [
        "--seed",
        "1",
        "--num-train",
        "0",
        "--num-val",
        str(num_held_out),
        "--frames",
        str(held_out_frames),
    ]
    make_synthetic_set(held_out, options + size + ["--backgrounds", str(data / "backgrounds")])
    return train_set, held_out


def schoolgirls_test_set() -> dict:
    """The schoolgirls clip as the VIS recipes' extra test set (girls merged with their backpacks)."""
    (test_set,) = load_config(REPO_ROOT / SCHOOLGIRLS_TEST_SET).extra_test_sets
    return test_set


# --- Scoring --------------------------------------------------------------------------------------------------


def score(checkpoint: Path, work_dir: Path, held_out: Path, data: Path) -> dict:
    """Both trackers' metrics of ``checkpoint`` (``<tracker>|<set>/<metric>``) as tools/test.py scores it, and
    the backpacks' share inside their owners' tracks (``<tracker>|backpacks_inside``, the least of the three)."""
    metrics = {}
    for tracker, config in CONFIGS.items():
        cfg = prepare_config(load_config(REPO_ROOT / config), str(REPO_ROOT / config), str(work_dir / "test"))
        cfg.test_dataloader.dataset.data_root = str(held_out)
        cfg.extra_test_sets = [schoolgirls_test_set()]
        scored = evaluate_checkpoint(cfg, str(checkpoint))
        for prefix in SCORED_SETS:
            for key in SCORED_KEYS:
                metrics[f"{tracker}|{prefix}/{key}"] = scored[f"{prefix}/{key}"]
        inside = backpacks_inside(config, checkpoint, data)
        metrics[f"{tracker}|backpacks_inside"] = min(inside.values())
    return metrics


def read_instance_ids(path: Path) -> np.ndarray:
    """The instance ids of a palette PNG, as stored."""
    return np.array(Image.open(path))


def predicted_tracks(config: str, checkpoint: Path, video: Path) -> dict[int, np.ndarray]:
    """Streams ``video`` through the model with its tracker: ``{track id: masks [T, H, W] bool}`` at the frames'
    size (a track's mask is empty in the frames it is not detected in)."""
    model = load_model(REPO_ROOT / config, checkpoint)
    segmenter = StreamingSegmenter(model)
    frames, num_frames, _ = iter_video_frames(video)
    tracks: dict[int, np.ndarray] = {}
    for t, frame in enumerate(frames):
        outputs = segmenter.outputs(segmenter.prepare(frame))
        height, width = frame.shape[:2]
        for query in torch.nonzero(outputs["track_ids"] >= 0).flatten().tolist():
            track_id = int(outputs["track_ids"][query])
            logits = cv2.resize(outputs["masks"][query].float().numpy(), (width, height), cv2.INTER_LINEAR)
            masks = tracks.setdefault(track_id, np.zeros((num_frames, height, width), bool))
            masks[t] |= logits > 0
    return tracks


def tube_iou(first: np.ndarray, second: np.ndarray) -> float:
    """YouTube-VIS tube IoU: intersections summed over frames over unions summed over frames."""
    union = np.logical_or(first, second).sum()
    return float(np.logical_and(first, second).sum() / union) if union else 0.0


def backpacks_inside(config: str, checkpoint: Path, data: Path) -> dict[int, float]:
    """``{backpack id: share of its pixels over the clip inside its owner's predicted track}``; the owner's track
    is the predicted track matched to her (girl and backpack together) by tube IoU, Hungarian over the four girls;
    a girl matched to no track covers nothing."""
    clip = data / "davis_schoolgirls"
    ids = np.stack([read_instance_ids(path) for path in sorted((clip / "masks").glob("*.png"))])
    tracks = predicted_tracks(config, checkpoint, clip / "schoolgirls.mp4")
    owners = {
        girl: np.isin(ids, [girl, *[b for b, o in BACKPACK_OWNERS.items() if o == girl]]) for girl in GIRLS
    }
    track_ids = list(tracks)
    owner_track = {}
    if track_ids:
        gain = np.array([[tube_iou(owners[girl], tracks[t]) for t in track_ids] for girl in GIRLS])
        for row, col in zip(*linear_sum_assignment(gain, maximize=True)):
            if gain[row, col] > 0:
                owner_track[GIRLS[row]] = tracks[track_ids[col]]
    inside = {}
    for backpack, owner in BACKPACK_OWNERS.items():
        pixels = ids == backpack
        covered = owner_track.get(owner)
        inside[backpack] = float((pixels & covered).sum() / pixels.sum()) if covered is not None else 0.0
    return inside


def split_trackers(per_seed: list[dict]) -> dict[str, dict]:
    """Per-seed metrics keyed ``<tracker>|<metric>`` -> ``{tracker: summarize_seeds of its metrics}``."""
    results = {}
    for tracker in CONFIGS:
        runs = [
            {key.split("|", 1)[1]: v for key, v in run.items() if key.startswith(f"{tracker}|")}
            for run in per_seed
        ]
        results[tracker] = summarize_seeds(runs)
    return results


# --- Memory and latency ---------------------------------------------------------------------------------------


# Runs a script as its own __main__ and, however it ends, reports the process's peak resident memory. VmHWM belongs
# to the process's own address space, which exec starts afresh; the resource usage a parent reads for a child
# (ru_maxrss) keeps the high-water mark of the forked copy of the parent, so it would report this benchmark's memory.
PEAK_MEMORY_RUNNER = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    print("peak", int(peak.split()[1]), file=sys.stderr)
"""


def streaming_peak_memory(config: str, checkpoint: Path, video: Path, frames: int, out_dir: Path) -> float:
    """Peak resident memory (MiB) of ``tools/infer.py`` streaming the first ``frames`` of ``video``, in a fresh
    process so nothing of this one counts (Linux: read from ``/proc``)."""
    command = [
        sys.executable,
        "-c",
        PEAK_MEMORY_RUNNER,
        str(REPO_ROOT / "tools/infer.py"),
        str(REPO_ROOT / config),
    ]
    command += [str(checkpoint), str(video), "--out", str(out_dir), "--max-frames", str(frames)]
    run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        raise RuntimeError(f"tools/infer.py failed on {video}:\n{run.stderr[-4000:]}")
    return reported_peak_mib(run.stderr)


def reported_peak_mib(stderr: str) -> float:
    """The peak :data:`PEAK_MEMORY_RUNNER` reported, in MiB: its line is the last, after anything the script wrote;
    VmHWM is in kibibytes."""
    return int(stderr.strip().splitlines()[-1].split()[1]) / 1024


def latency(checkpoint: Path, runs: int) -> dict:
    """Median milliseconds of the per-frame head at each side, 1 thread, per runtime."""
    init_default_scope("steadyseg")
    record = {}
    for side in LATENCY_SIDES:
        cfg = load_config(REPO_ROOT / CONFIGS[EMBEDDING])
        cfg.model.input_short_side = side
        model = MODELS.build(cfg.model)
        model.load_state_dict(read_checkpoint(checkpoint)["state_dict"])
        profile = profile_model(
            model.eval(), (side, side), threads=(1,), runtimes=LATENCY_RUNTIMES, runs=runs
        )
        record[f"{side}x{side}"] = {entry["runtime"]: entry["median_ms"] for entry in profile["latency"]}
        print(f"head latency {side}x{side}: {record[f'{side}x{side}']}")
    return record


# --- Comparisons, targets, tables --------------------------------------------------------------------------


def compare(results: dict) -> dict:
    """Embedding association minus IoU-only linking, per scored metric: the difference of the means and whether it
    exceeds both spreads (the same checkpoints under both trackers)."""
    embedding, iou = results[EMBEDDING], results[IOU]
    return {
        key: {
            "change": embedding[key]["mean"] - iou[key]["mean"],
            "counts": exceeds_spread(embedding[key], iou[key]),
        }
        for key in embedding
    }


def compute_targets(results: dict, comparisons: dict, memory: dict) -> list[dict]:
    """The issue's targets, each from the measured values in this record."""
    embedding = results[EMBEDDING]
    targets = [
        target(
            "schoolgirls: ID switches of the four girls, mean over seeds (<=)",
            embedding["schoolgirls/IDSW"]["mean"],
            TARGET_MAX_ID_SWITCHES,
            higher_is_better=False,
        ),
        target(
            "schoolgirls: IDF1, mean over seeds (>=)",
            embedding["schoolgirls/IDF1"]["mean"],
            TARGET_MIN_IDF1,
            higher_is_better=True,
        ),
        target(
            "schoolgirls: least share of a backpack inside its owner's track, mean over seeds (>=)",
            embedding["backpacks_inside"]["mean"],
            TARGET_MIN_BACKPACK_INSIDE,
            higher_is_better=True,
        ),
    ]
    for key, wanted in (("synthetic/AP", "more"), ("synthetic/IDSW", "fewer")):
        comparison = comparisons[key]
        targets.append(
            target(
                f"held-out synthetic: {key.split('/')[1]} of embedding association minus IoU-only linking "
                f"({wanted}; counts over >= {MIN_SEEDS} seeds beyond both spreads)",
                comparison["change"],
                0.0,
                higher_is_better=wanted == "more",
                counts=comparison["counts"] and comparison["change"] != 0,
            )
        )
    short, long = sorted(memory["peak_mib"], key=int)
    targets.append(
        target(
            f"streaming memory: peak RSS at {long} frames over peak RSS at {short}, minus 1 (<=)",
            memory["peak_mib"][long] / memory["peak_mib"][short] - 1,
            TARGET_MAX_MEMORY_GROWTH,
            higher_is_better=False,
        )
    )
    return targets


def format_results(results: dict) -> str:
    columns = [f"{prefix}/{key}" for prefix in SCORED_SETS for key in SCORED_KEYS] + ["backpacks_inside"]
    lines = ["| tracker | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for tracker, metrics in results.items():
        cells = [format_cell(metrics[key], 1 if key.endswith("IDSW") else 3) for key in columns]
        lines.append(f"| {tracker} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_comparisons(comparisons: dict) -> str:
    lines = ["| metric | embedding - IoU-only | counts |", "|---|---|---|"]
    for key, comparison in comparisons.items():
        verdict = "yes" if comparison["counts"] else "no (within seed spread)"
        lines.append(f"| {key} | {comparison['change']:+.3f} | {verdict} |")
    return "\n".join(lines)


def format_memory(memory: dict) -> str:
    lines = ["| frames streamed | peak RSS MiB |", "|---|---|"]
    lines += [f"| {frames} | {mib:.0f} |" for frames, mib in memory["peak_mib"].items()]
    return "\n".join(lines)


def format_latency(timing: dict) -> str:
    lines = ["| input | " + " | ".join(f"{runtime}/1 ms" for runtime in LATENCY_RUNTIMES) + " |"]
    lines.append("|---" * (len(LATENCY_RUNTIMES) + 1) + "|")
    for setting, times in timing.items():
        lines.append(f"| {setting} | " + " | ".join(f"{times[r]:.1f}" for r in LATENCY_RUNTIMES) + " |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    device = "cuda" if args.gpu else "cpu"
    data = shared_data()
    work = Path(args.work_dir)
    started = time.time()
    train_set, held_out = make_sets(work, args.num_train, args.num_held_out, args.held_out_frames, data)
    config = REPO_ROOT / CONFIGS[EMBEDDING]

    def scoring(checkpoint: Path, work_dir: Path) -> dict:
        return score(checkpoint, work_dir, held_out, data)

    runs = seed_runs(EMBEDDING, config, train_set, args.iters, args.seeds, device, work, scoring)
    results = split_trackers([metrics for _, metrics in runs])
    checkpoint = runs[0][0]
    video = data / MEMORY_VIDEO
    memory = {
        "video": MEMORY_VIDEO,
        "peak_mib": {
            str(frames): streaming_peak_memory(CONFIGS[EMBEDDING], checkpoint, video, frames, work / "memory")
            for frames in args.memory_frames
        },
    }
    timing = latency(checkpoint, args.latency_runs)
    comparisons = compare(results)
    targets = compute_targets(results, comparisons, memory)
    table = "\n\n".join(
        [
            format_results(results),
            format_comparisons(comparisons),
            format_memory(memory),
            format_latency(timing),
            format_targets(targets),
        ]
    )
    print(table)
    record = {
        **record_header("vis_people", argv, started, gpu=args.gpu),
        "budget": args.budget,
        "iters": args.iters,
        "seeds": args.seeds,
        "results": results,
        "comparisons": comparisons,
        "memory": memory,
        "latency_ms": timing,
        "targets": targets,
        "table": table,
    }
    write_atomically(Path(args.out), metrics_json(record).encode())


if __name__ == "__main__":
    main()
