"""Video matting benchmark: RVM's temporal coherence terms, the mobile recipe against the RVM-equivalent one.

Protocol (the real clips' split lives in ``steadyseg.datasets.real_people`` and is printed with the table):
1. Training set: the synthetic people set that ``benchmarks/vss_people.py`` trains on (procedural figures and
   real cut-outs over real backgrounds, with alpha and foreground), composited the RVM way by each recipe's
   pipeline. Held-out composites: a second synthetic set of procedural people only, drawn with another seed, so
   no person of it was seen in training; its alpha and foreground are exact.
2. Each model trains for the budget's iterations once per seed (``--seeds``; a comparison counts only when the
   difference of the means exceeds both standard deviations, and the tables say so): the mobile recipe
   (MobileNetV3-Small) with and without the coherence terms, the RVM-equivalent recipe (MobileNetV3-Large), and
   the per-frame people segmenter of ``benchmarks/vss_people.py`` as the segmentation reference, all at the same
   budget, crop, batch and seeds.
3. Scoring as ``tools/test.py`` scores a checkpoint (``evaluate_checkpoint``): the held-out composites through
   each matting config's own test set (MAD, MSE, Grad, Conn, dtSSD, foreground MSE, RVM's definitions and
   averaging); the real DAVIS evaluation clips (person J of alpha > 0.5, of the segmenters' masks); the
   person-free clip (predicted person area); the people videos without ground truth (soft flicker, mean
   |p_t - warp(p_{t-1})| with DIS flow, of alpha and of MediaPipe's and the segmenter's person probability).
4. Latency of the streaming step, mobile and RVM-equivalent side by side in one run: 512x288 at downsample
   ratio 1 (the recipes as trained, no refiner) and 1920x1080 at ratio 0.25 (with the deep guided filter refiner,
   untrained: timing only), 1 and 2 threads, torch and ONNX Runtime.
5. Grad and Conn as ``steadyseg.evaluation.functional`` computes them against the straightforward per-pixel and
   per-threshold loops below, on a 512x288 matte: time and agreement.

    python benchmarks/matting.py                 # default budget, < 45 CPU minutes on 2 cores
    python benchmarks/matting.py --gpu --iters 4000
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from collections import deque
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from mmengine.registry import init_default_scope

from steadyseg.apis.benchmarking import (
    config_test_pipeline,
    exceeds_spread,
    format_cell,
    format_targets,
    make_synthetic_set,
    real_people_test_sets,
    record_header,
    seed_runs,
    shared_data,
    slug,
    summarize_seeds,
    target,
)
from steadyseg.apis.checkpoint import read_checkpoint
from steadyseg.apis.training import at_least, evaluate_checkpoint, prepare_config
from steadyseg.config import load_config
from steadyseg.datasets.real_people import describe_split, generator_arguments
from steadyseg.deploy.profiler import profile_model
from steadyseg.engine import write_atomically
from steadyseg.evaluation import functional, metrics_json
from steadyseg.registry import MODELS

REPO_ROOT = Path(__file__).resolve().parents[1]
MOBILE, WITHOUT_COHERENCE, RVM = "mobile", "mobile, no coherence terms", "RVM-equivalent"
MATTING_CONFIGS = {
    MOBILE: "configs/matting/mobilenetv3_small_matting_synthetic_256.py",
    WITHOUT_COHERENCE: "configs/matting/mobilenetv3_small_matting_notc_synthetic_256.py",
    RVM: "configs/matting/rvm_mobilenetv3_large_matting_synthetic_256.py",
}
SEGMENTER = "per-frame segmenter"
SEGMENTER_CONFIG = "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
BASELINE = "MediaPipe selfie 256"
BASELINE_CONFIG = "configs/baselines/mediapipe_selfie_256.py"
BUDGETS = {
    # Sized for 45 CPU minutes on 2 cores: 4 recipes x 3 seeds. A training step of a matting recipe costs 3-10x
    # the segmenter's (its decoder and losses run at the full crop), so the recipes' own 256 px crops would allow
    # about 60 iterations here; 160 px crops (0.4x the pixels) allow 200.
    "default": dict(iters=200, crop=160, num_train=48, num_held_out=6, max_frames=24, flicker_frames=24),
}
# Held-out composites: as many frames as the training videos, at the synthetic set's size.
SYNTHETIC_FRAMES, SYNTHETIC_SIZE = 16, 256
# Step latency settings: (name, frame (H, W), downsample ratio, refiner).
REFINER = dict(type="DeepGuidedFilter", channels=16)
LATENCY_SETTINGS = (
    ("512x288", (288, 512), 1.0, None),
    ("1920x1080 at ratio 0.25", (1080, 1920), 0.25, REFINER),
)
LATENCY_THREADS = (1, 2)
LATENCY_RUNTIMES = ("torch", "onnxruntime")
# Targets of the matting issue.
TARGET_DTSSD_CUT = 0.20
TARGET_MAX_MAD_INCREASE = 0.05
TARGET_MAX_STEP_RATIO = 0.67
TARGET_METRIC_SPEEDUP = 5.0
# The record's name of each metric the scoring computes (the evaluators' prefix/key).
HELD_OUT_KEYS = {
    "synthetic/MAD": "MAD",
    "synthetic/MSE": "MSE",
    "synthetic/Grad": "Grad",
    "synthetic/Conn": "Conn",
    "synthetic/dtSSD": "dtSSD",
    "synthetic/fgr_MSE": "fgr_MSE",
}
REAL_KEYS = {
    "davis_people/J": "J",
    "person_free/foreground_area": "negative_person_area",
    "people_videos/soft_flicker": "video_soft_flicker",
    "people_videos/soft_flicker_flow": "video_soft_flicker_flow",
}
REAL_EVALUATORS = {
    "davis_people": [dict(type="DAVISMetric")],
    "people_videos": [dict(type="SoftFlickerMetric", flow_source="dis")],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=list(BUDGETS), default="default")
    parser.add_argument(
        "--iters", type=at_least(1), help="training iterations per model and seed (default: budget's)"
    )
    parser.add_argument("--crop", type=at_least(1), help="training crop side in pixels (default: budget's)")
    parser.add_argument("--num-train", type=at_least(1), help="synthetic training videos (default: budget's)")
    parser.add_argument(
        "--num-held-out", type=at_least(1), help="held-out composite videos (default: budget's)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--gpu", action="store_true", help="train and evaluate on CUDA")
    parser.add_argument("--work-dir", help="default: work_dirs/benchmarks/matting_<budget>")
    parser.add_argument(
        "--max-frames", type=at_least(1), help="frames of each real clip scored (default: budget's)"
    )
    parser.add_argument(
        "--flicker-frames", type=at_least(1), help="frames of each people video (default: budget's)"
    )
    parser.add_argument("--latency-runs", type=at_least(1), default=30)
    parser.add_argument(
        "--metric-runs", type=at_least(1), default=5, help="timed runs of vectorized Grad and Conn"
    )
    parser.add_argument("--out", help="default: benchmarks/results/matting.json")
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    for key in ("iters", "crop", "num_train", "num_held_out", "max_frames", "flicker_frames"):
        if getattr(args, key) is None:
            setattr(args, key, budget[key])
    args.work_dir = args.work_dir or f"work_dirs/benchmarks/matting_{args.budget}"
    suffix = "" if args.budget == "default" else f"_{args.budget}"
    args.out = args.out or str(REPO_ROOT / f"benchmarks/results/matting{suffix}.json")
    return args


# --- The straightforward loops the vectorized Grad and Conn are timed against (and tested against) ----------


def loop_gradient_filter(sigma: float = 1.4) -> np.ndarray:
    """The 2-D x-derivative filter ``G(y) G'(x)``, tap by tap, scaled to unit L2 norm."""
    half_size = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))
    size = 2 * half_size + 1

    def gaussian(x):
        return math.exp(-(x**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))

    taps = np.zeros((size, size))
    for row in range(size):
        for col in range(size):
            y, x = row - half_size, col - half_size
            taps[row, col] = gaussian(y) * (-x * gaussian(x) / sigma**2)
    return taps / math.sqrt((taps**2).sum())


def loop_grad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Grad written out pixel by pixel: min-max normalization, gradient magnitude with replicated borders."""
    filter_x = loop_gradient_filter()
    filter_y = filter_x.T
    half_size = len(filter_x) // 2

    def normalized(alpha):
        low, high = alpha.min(), alpha.max()
        if high - low <= np.finfo(np.float64).eps:
            return np.zeros_like(alpha, dtype=np.float64)
        return (alpha - low) / (high - low)

    def magnitude(alpha):
        padded = np.pad(alpha, half_size, mode="edge")
        result = np.zeros(alpha.shape)
        for y in range(alpha.shape[0]):
            for x in range(alpha.shape[1]):
                window = padded[y : y + len(filter_x), x : x + len(filter_x)]
                result[y, x] = math.hypot((filter_x * window).sum(), (filter_y * window).sum())
        return result

    pred_gradient = magnitude(normalized(np.float64(pred)))
    gt_gradient = magnitude(normalized(np.float64(gt)))
    return ((pred_gradient - gt_gradient) ** 2).sum() / 1000


def loop_largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of ``mask`` by breadth-first search from each unvisited pixel in
    row-major order; of two equally large, the one found first."""
    height, width = mask.shape
    visited = np.zeros_like(mask, dtype=bool)
    largest = []
    for start_y in range(height):
        for start_x in range(width):
            if not mask[start_y, start_x] or visited[start_y, start_x]:
                continue
            component, queue = [], deque([(start_y, start_x)])
            visited[start_y, start_x] = True
            while queue:
                y, x = queue.popleft()
                component.append((y, x))
                for next_y, next_x in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if (
                        0 <= next_y < height
                        and 0 <= next_x < width
                        and mask[next_y, next_x]
                        and not visited[next_y, next_x]
                    ):
                        visited[next_y, next_x] = True
                        queue.append((next_y, next_x))
            if len(component) > len(largest):
                largest = component
    omega = np.zeros_like(mask, dtype=bool)
    for y, x in largest:
        omega[y, x] = True
    return omega


def loop_conn(pred: np.ndarray, gt: np.ndarray) -> float:
    """Conn written out threshold by threshold, with a breadth-first largest component at each."""
    thresholds = [step / 10 for step in range(11)]
    level = np.full(gt.shape, -1.0)  # -1: still in every omega so far
    for step in range(1, 11):
        omega = loop_largest_component((pred >= thresholds[step]) & (gt >= thresholds[step]))
        level[(level == -1) & ~omega] = thresholds[step - 1]
    level[level == -1] = 1.0

    def phi(alpha):
        difference = alpha - level
        return 1 - difference * (difference >= 0.15)

    return np.abs(phi(pred) - phi(gt)).sum() / 1000


def metric_speed(pred: np.ndarray, gt: np.ndarray, runs: int) -> dict:
    """Seconds of the vectorized Grad and Conn (median of ``runs``) and of the loops (once), with both values."""
    record = {}
    for name, vectorized, loop in (
        ("Grad", functional.grad, loop_grad),
        ("Conn", functional.conn, loop_conn),
    ):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            value = vectorized(pred, gt)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        loop_value = loop(pred, gt)
        loop_seconds = time.perf_counter() - started
        record[name] = {
            "vectorized_s": float(np.median(times)),
            "loop_s": loop_seconds,
            "speedup": loop_seconds / float(np.median(times)),
            "value": float(value),
            "loop_value": float(loop_value),
        }
    return record


def timing_matte(held_out: Path) -> tuple[np.ndarray, np.ndarray]:
    """A 512x288 ground-truth matte from the held-out set and a prediction-like copy of it (edges shifted and
    blurred, noise in the soft band), float32 in [0, 1]."""
    alpha_path = sorted((held_out / "val" / "alpha").rglob("*.png"))[SYNTHETIC_FRAMES // 2]
    gt = cv2.resize(
        cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE), (512, 288), interpolation=cv2.INTER_LINEAR
    )
    gt = gt.astype(np.float32) / 255
    rng = np.random.default_rng(0)
    shifted = np.roll(cv2.GaussianBlur(gt, (0, 0), 2), 2, axis=1)
    noise = rng.normal(0, 0.05, gt.shape).astype(np.float32) * (shifted > 0.02) * (shifted < 0.98)
    return np.clip(shifted + noise, 0, 1), gt


# --- Training and scoring ----------------------------------------------------------------------------------


def real_clip_pipeline(cfg) -> list:
    """The config's test pipeline without the matting annotations (alpha, foreground) real clips do not have."""
    pipeline = copy.deepcopy(config_test_pipeline(cfg))
    for transform in pipeline:
        if transform["type"] == "LoadClipAnnotations":
            transform.pop("with_alpha", None)
            transform.pop("with_fgr", None)
    return pipeline


def make_sets(work: Path, num_train: int, num_held_out: int, data: Path) -> tuple[Path, Path]:
    """The training set (as benchmarks/vss_people.py's: procedural people and real cut-outs) and the held-out
    composites (procedural people only, another seed: nobody in them was in the training set) under ``work``."""
    synthetic = ["--frames", str(SYNTHETIC_FRAMES), "--size", str(SYNTHETIC_SIZE), str(SYNTHETIC_SIZE)]
    train_set, held_out = work / "synthetic_cutouts", work / "held_out_composites"
    options = ["--seed", "0", "--num-train", str(num_train), "--num-val", "1", *synthetic]
    make_synthetic_set(train_set, options + generator_arguments(data))
    options = ["--seed", "1", "--num-train", "0", "--num-val", str(num_held_out), *synthetic]
    make_synthetic_set(held_out, options + ["--backgrounds", str(data / "backgrounds")])
    return train_set, held_out


def score(
    config: str,
    checkpoint: Path | None,
    data: Path,
    work_dir: Path,
    held_out: Path | None,
    max_frames: int | None = None,
    flicker_frames: int | None = None,
    real_clips: bool = True,
) -> dict:
    """The benchmark's metrics of ``checkpoint`` as tools/test.py scores it. A matting config (``held_out``
    given) is tested on the held-out composites through its own test set; every config on the real clips,
    unless ``real_clips`` is False (the held-out composites alone, for a matting config)."""
    if held_out is None and not real_clips:
        raise ValueError("score: nothing to score without the held-out composites and without the real clips")
    cfg = prepare_config(load_config(REPO_ROOT / config), str(REPO_ROOT / config), str(work_dir))
    sets = real_people_test_sets(
        real_clip_pipeline(cfg), data, max_frames, flicker_frames, evaluators=REAL_EVALUATORS
    )
    keys = dict(REAL_KEYS) if real_clips else {}
    if held_out is not None:
        cfg.test_dataloader.dataset.data_root = str(held_out)
        keys.update(HELD_OUT_KEYS)
    else:
        scored = sets.pop("davis_people")
        cfg.test_dataloader, cfg.test_evaluator = scored["dataloader"], scored["evaluator"]
    cfg.extra_test_sets = list(sets.values()) if real_clips else []
    metrics = evaluate_checkpoint(cfg, None if checkpoint is None else str(checkpoint))
    return {name: metrics[key] for key, name in keys.items()}


def with_crop(config: str, crop: int, work_dir: Path) -> Path:
    """``config`` with every training crop set to ``crop`` px, written beside the runs (the held-out and real
    clips are scored at the frames' own size, as the recipes score them)."""
    cfg = load_config(REPO_ROOT / config)
    found = 0
    for dataset in cfg.train_dataloader.dataset.get("datasets", [cfg.train_dataloader.dataset]):
        for transform in dataset.get("pipeline", []):
            if transform.get("type") == "ClipRandomResizedCrop":
                transform["size"] = (crop, crop)
                found += 1
    if not found:
        raise SystemExit(f"{config}: no ClipRandomResizedCrop in its training pipelines to set --crop on")
    path = work_dir / f"{Path(config).stem}_crop{crop}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return path


def latency(configs: dict[str, str], checkpoints: dict[str, Path], runs: int) -> dict:
    """Median step milliseconds of each model at each setting, runtime and thread count, the models timed one
    after the other in this process (ratios between them hold on this machine; absolute times only here)."""
    record = {}
    init_default_scope("steadyseg")
    for setting, shape, ratio, refiner in LATENCY_SETTINGS:
        record[setting] = {}
        for name, config in configs.items():
            cfg = load_config(REPO_ROOT / config)
            cfg.model.refiner = refiner
            model = MODELS.build(cfg.model)
            # The trained weights (settled batch-norm statistics) keep the exported graph within its check; an
            # added refiner keeps its initialization.
            missing, unexpected = model.load_state_dict(
                read_checkpoint(checkpoints[name])["state_dict"], strict=False
            )
            if unexpected or any(not key.startswith("refiner.") for key in missing):
                raise RuntimeError(
                    f"{checkpoints[name]}: weights do not fit {config}: {missing} {unexpected}"
                )
            model.downsample_ratio = ratio
            profile = profile_model(
                model.eval(), shape, threads=LATENCY_THREADS, runtimes=LATENCY_RUNTIMES, runs=runs, warmup=5
            )
            record[setting][name] = {
                f"{entry['runtime']}/{entry['threads']}": entry["median_ms"] for entry in profile["latency"]
            }
            print(f"latency {setting}, {name}: {record[setting][name]}")
    return record


# --- Comparisons, targets, tables --------------------------------------------------------------------------


def relative_change(value: dict, reference: dict) -> float:
    return value["mean"] / reference["mean"] - 1 if reference["mean"] > 0 else math.nan


def compare(results: dict) -> dict:
    """The issue's comparisons of means, each with whether it exceeds both seeds' spreads."""
    comparisons = {}
    pairs = {"coherence terms": (MOBILE, WITHOUT_COHERENCE), "mobile vs RVM-equivalent": (MOBILE, RVM)}
    for label, (name, reference) in pairs.items():
        if name in results and reference in results:
            comparisons[label] = {
                key: {
                    "change": relative_change(results[name][key], results[reference][key]),
                    "counts": exceeds_spread(results[name][key], results[reference][key]),
                }
                for key in ("MAD", "dtSSD", "Grad", "Conn", "fgr_MSE")
            }
    if MOBILE in results and SEGMENTER in results:
        comparisons["alpha J vs segmenter J"] = {
            "J": {
                "change": results[MOBILE]["J"]["mean"] - results[SEGMENTER]["J"]["mean"],
                "counts": exceeds_spread(results[MOBILE]["J"], results[SEGMENTER]["J"]),
            }
        }
    return comparisons


def compute_targets(results: dict, timing: dict, speed: dict) -> list[dict]:
    """The issue's targets, each from the measured values in this record."""
    targets = []
    if MOBILE in results and WITHOUT_COHERENCE in results:
        with_terms, without = results[MOBILE], results[WITHOUT_COHERENCE]
        targets.append(
            target(
                "coherence terms: dtSSD cut on the held-out composites (>=)",
                -relative_change(with_terms["dtSSD"], without["dtSSD"]),
                TARGET_DTSSD_CUT,
                higher_is_better=True,
            )
        )
        targets.append(
            target(
                "coherence terms: MAD change on the held-out composites (<=)",
                relative_change(with_terms["MAD"], without["MAD"]),
                TARGET_MAX_MAD_INCREASE,
                higher_is_better=False,
            )
        )
    step = timing.get(LATENCY_SETTINGS[0][0], {})
    if MOBILE in step and RVM in step:
        for threads in LATENCY_THREADS:
            key = f"onnxruntime/{threads}"
            targets.append(
                target(
                    f"mobile / RVM-equivalent step time, 512x288, ONNX Runtime, {threads} thread"
                    f"{'s' if threads > 1 else ''} (<=)",
                    step[MOBILE][key] / step[RVM][key],
                    TARGET_MAX_STEP_RATIO,
                    higher_is_better=False,
                )
            )
    if MOBILE in results and RVM in results:
        for key in ("MAD", "dtSSD"):
            targets.append(
                target(
                    f"mobile {key} / RVM-equivalent {key} on the held-out composites (<=)",
                    results[MOBILE][key]["mean"] / results[RVM][key]["mean"],
                    1.0,
                    higher_is_better=False,
                )
            )
    if MOBILE in results and SEGMENTER in results:
        targets.append(
            target(
                "mobile: person J of alpha > 0.5 on the real clips (>= the per-frame segmenter's)",
                results[MOBILE]["J"]["mean"],
                results[SEGMENTER]["J"]["mean"],
                higher_is_better=True,
            )
        )
    for name, measured in speed.items():
        targets.append(
            target(
                f"{name}: vectorized speed-up over the loop at 512x288 (>=)",
                measured["speedup"],
                TARGET_METRIC_SPEEDUP,
                higher_is_better=True,
            )
        )
    return targets


def format_results(results: dict) -> str:
    columns = (
        ("MAD", 2),
        ("MSE", 2),
        ("Grad", 2),
        ("Conn", 2),
        ("dtSSD", 2),
        ("fgr_MSE", 2),
        ("J", 3),
        ("negative_person_area", 3),
        ("video_soft_flicker", 4),
        ("video_soft_flicker_flow", 4),
    )
    lines = [
        "| model | seeds | MAD | MSE | Grad | Conn | dtSSD | fgr MSE | person J, real clips | person area, "
        "person-free clip | people-video soft flicker | (flow) |",
        "|" + "---|" * 12,
    ]
    for name, r in results.items():
        cells = [format_cell(r[key], digits) if key in r else "–" for key, digits in columns]
        seeds = len(next(iter(r.values()))["values"])
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_comparisons(comparisons: dict) -> str:
    lines = ["| comparison | metric | change | counts (beyond both seeds' spreads) |", "|---|---|---|---|"]
    for label, metrics in comparisons.items():
        for key, c in metrics.items():
            change = f"{c['change']:+.3f}" if key == "J" else f"{c['change']:+.1%}"
            lines.append(
                f"| {label} | {key} | {change} | {'yes' if c['counts'] else 'no (within seed spread)'} |"
            )
    return "\n".join(lines)


def format_latency(timing: dict) -> str:
    keys = [f"{runtime}/{threads}" for runtime in LATENCY_RUNTIMES for threads in LATENCY_THREADS]
    lines = [
        "| setting | model | " + " | ".join(f"{k} ms" for k in keys) + " |",
        "|" + "---|" * (2 + len(keys)),
    ]
    for setting, models in timing.items():
        for name, medians in models.items():
            lines.append(f"| {setting} | {name} | " + " | ".join(f"{medians[k]:.1f}" for k in keys) + " |")
    return "\n".join(lines)


def format_speed(speed: dict) -> str:
    lines = [
        "| metric | vectorized s | loop s | speed-up | value | loop's value |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in speed.items():
        lines.append(
            f"| {name} | {s['vectorized_s']:.4f} | {s['loop_s']:.2f} | {s['speedup']:.0f}x | {s['value']:.4f} | "
            f"{s['loop_value']:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    device = "cuda" if args.gpu else "cpu"
    data = shared_data()
    work = Path(args.work_dir)
    started = time.time()
    train_set, held_out = make_sets(work, args.num_train, args.num_held_out, data)
    limits = dict(max_frames=args.max_frames, flicker_frames=args.flicker_frames)

    trained = {**MATTING_CONFIGS, SEGMENTER: SEGMENTER_CONFIG}
    results, checkpoints = {}, {}
    for name, config in trained.items():
        run_config = with_crop(config, args.crop, work / "configs")
        composites = held_out if name in MATTING_CONFIGS else None
        scoring = partial(score, config, data=data, held_out=composites, **limits)
        runs = seed_runs(name, run_config, train_set, args.iters, args.seeds, device, work, scoring)
        results[name] = summarize_seeds([metrics for _, metrics in runs])
        checkpoints[name] = runs[0][0]
    baseline = score(BASELINE_CONFIG, None, data, work / slug(BASELINE), None, **limits)
    results[BASELINE] = summarize_seeds([baseline])

    timed = {name: MATTING_CONFIGS[name] for name in (MOBILE, RVM)}
    timing = latency(timed, checkpoints, args.latency_runs)
    speed = metric_speed(*timing_matte(held_out), args.metric_runs)
    comparisons = compare(results)
    targets = compute_targets(results, timing, speed)
    table = "\n\n".join(
        [
            describe_split(),
            format_results(results),
            format_comparisons(comparisons),
            format_latency(timing),
            format_speed(speed),
            format_targets(targets),
        ]
    )
    print(table)
    record = {
        **record_header("matting", argv, started, gpu=args.gpu),
        "budget": args.budget,
        "iters": args.iters,
        "crop": args.crop,
        "seeds": args.seeds,
        "results": results,
        "comparisons": comparisons,
        "latency_ms": timing,
        "metric_speed": speed,
        "targets": targets,
        "table": table,
    }
    write_atomically(Path(args.out), metrics_json(record).encode())


if __name__ == "__main__":
    main()
