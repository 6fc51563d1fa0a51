"""Temporal VSS benchmark: per-frame vs temporal people segmenters vs MediaPipe on real DAVIS clips.

Protocol (one run, same seed and budget for every trained model):
1. A synthetic training set: procedural people plus real people cut out of DAVIS / schoolgirls clips (the cut-out
   sources), pasted over the real background photos with camera and subject motion, with exact flow.
2. Each config in ``CONFIGS`` trains for ``--iters`` iterations from the same seed.
3. Every model, and MediaPipe's selfie segmenter, runs frame by frame through its streaming ``step`` on the real
   DAVIS clips that gave no cut-outs (``--eval-sequences``): J, F, J&F (DAVIS), VC8 (VSPW), flicker without and
   with flow compensation (DIS flow of the real frames), and on car-shadow (no person) the predicted person area.
   Latency: median per-frame ``step`` time at 256x256 on one thread (warm-up first; recurrent state non-empty).
4. Prints a table and writes ``benchmarks/results/vss_people.json`` with the commit and machine.

    python benchmarks/vss_people.py                      # CPU default budget (< 30 min on 2 cores)
    python benchmarks/vss_people.py --gpu --iters 4000   # on a GPU, a longer budget
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from steadyseg.apis.inference import StreamingSegmenter, iter_video_frames, load_model
from steadyseg.apis.training import build_runner, prepare_config
from steadyseg.config import load_config
from steadyseg.deploy.export import StreamingStep, prepare_for_deploy, random_frames, steady_state
from steadyseg.deploy.profiler import time_torch
from steadyseg.engine import write_atomically
from steadyseg.evaluation import DAVISMetric, FlickerMetric, VideoConsistencyMetric
from steadyseg.flow import dis_flow

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "per-frame": "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py",
    "per-frame + TC loss": "configs/vss/mobilenetv3_lraspp_per_frame_tcloss_synthetic_256.py",
    "per-frame + flow loss": "configs/vss/mobilenetv3_lraspp_per_frame_flowloss_synthetic_256.py",
    "ConvGRU + flow loss": "configs/vss/mobilenetv3_lraspp_convgru_flowloss_synthetic_256.py",
    "flow propagation + flow loss": "configs/vss/mobilenetv3_lraspp_flowprop_flowloss_synthetic_256.py",
    "ConvGRU (stride 32) + flow loss": "configs/vss/mobilenetv3_lraspp_convgru_stride32_flowloss_synthetic_256.py",
}
# The default run (under 30 CPU minutes); the other CONFIGS are trained with --models.
DEFAULT_MODELS = (
    "per-frame",
    "per-frame + TC loss",
    "per-frame + flow loss",
    "ConvGRU (stride 32) + flow loss",
    "flow propagation + flow loss",
)
BASELINES = {"MediaPipe selfie 256": "configs/baselines/mediapipe_selfie_256.py"}
CUTOUT_SEQUENCES = ("breakdance-flare", "rollerblade", "bmx-trees")
EVAL_SEQUENCES = ("hike", "tennis")
NEGATIVE_SEQUENCE = "car-shadow"
BASELINE_MODEL = "per-frame"
# Issue target: a model with temporal machinery cuts the ground-truth-free flicker by at least this fraction
# against the per-frame baseline trained with the same budget, losing at most this much J&F.
TARGET_FLICKER_CUT = 0.30
TARGET_MAX_JF_LOSS = 0.02


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default="work_dirs/benchmarks/vss_people")
    parser.add_argument("--iters", type=int, default=800, help="training iterations per model (same for all)")
    parser.add_argument("--num-train", type=int, default=64, help="synthetic training videos")
    parser.add_argument("--gpu", action="store_true", help="train and evaluate on CUDA")
    parser.add_argument("--models", nargs="+", choices=list(CONFIGS), default=list(DEFAULT_MODELS))
    parser.add_argument("--eval-sequences", nargs="+", default=list(EVAL_SEQUENCES))
    parser.add_argument(
        "--max-frames", type=int, help="evaluate on the first N frames of each clip (smoke runs)"
    )
    parser.add_argument("--latency-runs", type=int, default=100)
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks/results/vss_people.json"))
    return parser.parse_args(argv)


def shared_data() -> Path:
    root = Path(os.environ.get("STEADYSEG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not (root / "davis_people").is_dir():
        raise SystemExit(f"{root}: the real DAVIS people clips are needed (set STEADYSEG_SHARED_DATA)")
    return root


def make_training_set(out: Path, num_train: int, data: Path) -> None:
    if (out / "meta.json").is_file():
        return
    davis = data / "davis_people"
    command = [sys.executable, str(REPO_ROOT / "tools/make_synthetic.py"), "--out", str(out), "--seed", "0"]
    command += ["--num-train", str(num_train), "--num-val", "4", "--frames", "16", "--size", "256", "256"]
    command += ["--backgrounds", str(data / "backgrounds")]
    command += ["--cutouts", f"davis:{davis}:{','.join(CUTOUT_SEQUENCES)}"]
    girls = data / "davis_schoolgirls"
    # Each girl with her backpack (ids 2+3, 4+5, 6+7; girl 1 carries none): see docs/data.md.
    command += [f"instances:{girls / 'schoolgirls.mp4'}:{girls / 'masks'}:1,2+3,4+5,6+7"]
    subprocess.run(command, check=True)


def train(name: str, config: str, data_root: Path, work_dir: Path, iters: int, device: str) -> Path:
    checkpoint = work_dir / f"iter_{iters}.pth"
    if checkpoint.is_file():
        return checkpoint
    options = {
        f"{loader}.dataset.data_root": str(data_root) for loader in ("train_dataloader", "val_dataloader")
    }
    options.update({"train_cfg.max_iters": iters, "train_cfg.val_interval": iters + 1, "extra_test_sets": []})
    options["default_hooks.checkpoint.interval"] = iters
    cfg = prepare_config(load_config(REPO_ROOT / config, options), config, str(work_dir))
    warmup = iters // 20
    cfg.param_scheduler = [
        dict(type="PolyLR", eta_min=1e-5, power=0.9, by_epoch=False, begin=warmup, end=iters)
    ]
    if warmup:
        cfg.param_scheduler.insert(
            0, dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warmup)
        )
    if device == "cpu":
        cfg.train_dataloader.num_workers = 1
    print(f"training {name} for {iters} iterations")
    build_runner(cfg).train()
    return checkpoint


def read_clip(data: Path, sequence: str, max_frames: int | None):
    frames, num_frames, _ = iter_video_frames(data / "davis_people/JPEGImages/480p" / sequence)
    frames = [frame for _, frame in zip(range(max_frames or num_frames), frames)]
    masks_dir = data / "davis_people/Annotations/480p" / sequence
    masks = [np.array(_read_mask(path)) for path in sorted(masks_dir.glob("*.png"))[: len(frames)]]
    return frames, masks


def _read_mask(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return (np.array(image.convert("L")) > 127).astype(np.int64)


def segment(model, frames, short_side: int = 256) -> list[np.ndarray]:
    segmenter = StreamingSegmenter(model, short_side)
    return [segmenter(frame).argmax(axis=0) for frame in frames]


def step_latency_ms(model, runs: int, size=(256, 256)) -> dict:
    """Median and IQR of one streaming ``step`` at ``size`` on one thread (re-parameterized, steady state)."""
    step = StreamingStep(prepare_for_deploy(model))
    frames = random_frames(4, size)
    timing = time_torch(step, frames[-1], steady_state(step, frames[:3]), threads=1, runs=runs, warmup=10)
    return {"median": timing["median_ms"], "iqr": timing["iqr_ms"]}


def score(predictions: dict, clips: dict, flows: dict) -> dict:
    """J, F, J&F, VC8, flicker (plain and flow-compensated) over the evaluation clips."""
    metrics = [DAVISMetric(), VideoConsistencyMetric(clip_nums=(8,)), FlickerMetric(flow_source="data")]
    for sequence, preds in predictions.items():
        sample = {
            "video_id": sequence,
            "frame_indices": list(range(len(preds))),
            "pred_sem_seg": torch.from_numpy(np.stack(preds)),
            "gt_sem_seg": torch.from_numpy(np.stack(clips[sequence][1])),
            "gt_flow": flows[sequence],
        }
        for metric in metrics:
            metric.process({}, [sample])
    results = {}
    for metric in metrics:
        results.update(metric.compute_metrics(metric.results))
    return {key: results[key] for key in ("J", "F", "J&F", "VC8", "flicker", "flicker_flow")}


def evaluate(name: str, model, clips: dict, flows: dict, negative: list, latency_runs: int) -> dict:
    predictions = {sequence: segment(model, frames) for sequence, (frames, _) in clips.items()}
    result = score(predictions, clips, flows)
    result["car_shadow_person_area"] = float(np.mean([p.mean() for p in segment(model, negative)]))
    result["latency_ms"] = step_latency_ms(model, latency_runs)
    print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items() if isinstance(v, float)))
    return result


def format_table(results: dict) -> str:
    header = (
        "| model | J | F | J&F | VC8 | flicker | flicker (flow) | car-shadow person area | latency ms (IQR) |"
    )
    lines = [header, "|" + "---|" * 9]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['J']:.3f} | {r['F']:.3f} | {r['J&F']:.3f} | {r['VC8']:.3f} | {r['flicker']:.4f} | "
            f"{r['flicker_flow']:.4f} | {r['car_shadow_person_area']:.3f} | "
            f"{r['latency_ms']['median']:.1f} ({r['latency_ms']['iqr']:.1f}) |"
        )
    return "\n".join(lines)


def compare_to_baseline(results: dict) -> dict:
    """Flicker cut (plain and flow-compensated) and J&F change of every trained model against the per-frame one."""
    if BASELINE_MODEL not in results:
        return {}
    base = results[BASELINE_MODEL]
    comparison = {}
    for name, r in results.items():
        if name == BASELINE_MODEL or name in BASELINES:
            continue
        cut = 1 - r["flicker"] / base["flicker"] if base["flicker"] > 0 else float("nan")
        cut_flow = 1 - r["flicker_flow"] / base["flicker_flow"] if base["flicker_flow"] > 0 else float("nan")
        delta = r["J&F"] - base["J&F"]
        comparison[name] = {
            "flicker_cut": cut,
            "flicker_flow_cut": cut_flow,
            "jf_change": delta,
            "meets_target": bool(cut >= TARGET_FLICKER_CUT and delta >= -TARGET_MAX_JF_LOSS),
        }
    return comparison


def format_comparison(comparison: dict) -> str:
    lines = [
        f"| against {BASELINE_MODEL} | flicker cut | flicker (flow) cut | J&F change | "
        f"target (cut >= {TARGET_FLICKER_CUT:.0%}, J&F >= -{TARGET_MAX_JF_LOSS}) |",
        "|" + "---|" * 5,
    ]
    for name, c in comparison.items():
        lines.append(
            f"| {name} | {c['flicker_cut']:.0%} | {c['flicker_flow_cut']:.0%} | {c['jf_change']:+.3f} | "
            f"{'met' if c['meets_target'] else 'not met'} |"
        )
    return "\n".join(lines)


def commit() -> str | None:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return result.stdout.strip() or None


def main(argv=None):
    args = parse_args(argv)
    device = "cuda" if args.gpu else "cpu"
    data = shared_data()
    work = Path(args.work_dir)
    started = time.time()
    train_set = work / "synthetic_cutouts"
    make_training_set(train_set, args.num_train, data)

    clips = {s: read_clip(data, s, args.max_frames) for s in args.eval_sequences}
    flows = {s: dis_flow(np.stack(frames)) for s, (frames, _) in clips.items()}
    negative = read_clip(data, NEGATIVE_SEQUENCE, args.max_frames)[0]

    results = {}
    for name in args.models:
        slug = name.replace(" ", "_").replace("+", "plus")
        checkpoint = train(name, CONFIGS[name], train_set, work / slug, args.iters, device)
        model = load_model(REPO_ROOT / CONFIGS[name], checkpoint, device)
        results[name] = evaluate(name, model, clips, flows, negative, args.latency_runs)
    for name, config in BASELINES.items():
        results[name] = evaluate(
            name, load_model(REPO_ROOT / config, None), clips, flows, negative, args.latency_runs
        )

    table = format_table(results)
    comparison = compare_to_baseline(results)
    if comparison:
        table += "\n\n" + format_comparison(comparison)
    print(table)
    record = {
        "benchmark": "vss_people",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "commit": commit(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "device": torch.cuda.get_device_name() if args.gpu else "cpu",
            "torch": torch.__version__,
        },
        "iters": args.iters,
        "cutout_sources": [*CUTOUT_SEQUENCES, "schoolgirls"],
        "eval_sequences": args.eval_sequences,
        "negative_sequence": NEGATIVE_SEQUENCE,
        "minutes": round((time.time() - started) / 60, 1),
        "results": results,
        "against_per_frame": comparison,
        "table": table,
    }
    write_atomically(Path(args.out), json.dumps(record, indent=2).encode())


if __name__ == "__main__":
    main()
