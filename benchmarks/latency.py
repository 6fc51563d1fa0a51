"""Mobile latency benchmark: our people segmenters against MediaPipe's selfie segmenter, in one run, on one machine.

Protocol (MobileOne / CoreNet style; the timing itself is :mod:`steadyseg.deploy.profiler`'s):
1. Every config's model is built (untrained weights: latency does not depend on them) and re-parameterized, and
   its streaming ``step`` is timed at batch 1 for each shape, runtime (eager ``torch``, ``onnxruntime`` on the
   checked ONNX export) and thread count: ``--warmup`` untimed calls, then ``--runs`` calls each timed alone;
   median and IQR in ms. Recurrent models are timed with the state they carry mid-video (3 frames streamed
   first, each call's state fed into the next). A model whose export fails the check is timed in torch only.
   Work that the step does outside torch (OpenCV DIS flow of the flow-propagation model) is part of its time;
   OpenCV then gets the same thread count as torch.
2. In the same run, MediaPipe's selfie segmenter: ``Interpreter(num_threads=n).invoke()`` of ai-edge-litert
   (XNNPACK) on a fixed random input, with the same warm-up, runs and statistics. Its TFLite models have a fixed
   input (the XNNPACK delegate refuses to resize them), so each shape is compared with the model of the nearest
   aspect ratio at its own input size: the 256x256 model for 256x256, the landscape model for 144x256.
3. Ratio = our median / MediaPipe's median at the same shape and thread count (> 1: slower than MediaPipe).
4. Quality: J&F from ``benchmarks/results/vss_people.json`` (written by ``benchmarks/vss_people.py``) for the
   configs it scored, "not scored" otherwise.

Prints a markdown table and writes a JSON record (commit, machine, versions, load average, protocol, numbers).

    python benchmarks/latency.py                                   # every mobile config, 256x256 + 144x256, 1 + 2 threads
    python benchmarks/latency.py --configs configs/mobile/mobileone_s0_lraspp_per_frame_synthetic_256.py \\
        --shapes 64x64 --threads 1 --runs 5 --warmup 2 --out /tmp/latency.json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from steadyseg.apis.inference import load_model
from steadyseg.config import load_config
from steadyseg.deploy.export import ExportError
from steadyseg.deploy.profiler import RUNTIMES, environment, profile_model, time_torch
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json

REPO_ROOT = Path(__file__).resolve().parents[1]
MEDIAPIPE_CONFIGS = (
    "configs/baselines/mediapipe_selfie_256.py",
    "configs/baselines/mediapipe_selfie_landscape_144x256.py",
)
DEFAULT_SHAPES = ((256, 256), (144, 256))
DEFAULT_THREADS = (1, 2)
DEFAULT_RUNTIMES = ("torch", "onnxruntime")
STATE_FRAMES = 3
VSS_RESULTS = REPO_ROOT / "benchmarks/results/vss_people.json"
QUALITY_KEY = "J&F"
NOT_SCORED = "not scored"


def default_configs() -> list[str]:
    """What benchmarks/vss_people.py trains and scores (quality stands beside latency), then configs/mobile/*."""
    trained = list(_vss_people_configs(baselines=False).values())
    mobile = sorted((REPO_ROOT / "configs/mobile").glob("*.py"))
    return [repo_relative(p) for p in (*trained, *mobile)]


def repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository (how vss_people.json names configs) when it is inside, else as given."""
    resolved = (REPO_ROOT / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def parse_shape(text: str) -> tuple[int, int]:
    """``"144x256"`` -> ``(144, 256)`` (height x width)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) >= 2 for p in parts):
        raise argparse.ArgumentTypeError(f"shape {text!r} must be HxW with sizes >= 2, e.g. 144x256")
    return int(parts[0]), int(parts[1])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", nargs="+", default=default_configs(), help="model configs (default: mobile)"
    )
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=list(DEFAULT_SHAPES), metavar="HxW")
    parser.add_argument("--threads", nargs="+", type=int, default=list(DEFAULT_THREADS))
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(DEFAULT_RUNTIMES))
    parser.add_argument("--runs", type=int, default=100, help="timed calls per setting (protocol: >= 100)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before timing")
    parser.add_argument("--quality", default=str(VSS_RESULTS), help="vss_people.json with J&F per model")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks/results/latency.json"))
    parser.add_argument("--markdown", help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.threads) or args.runs < 1 or args.warmup < 0:
        parser.error(
            f"need threads >= 1, runs >= 1, warmup >= 0; got {args.threads}, {args.runs}, {args.warmup}"
        )
    return args


class TFLiteInvoke(nn.Module):
    """``Interpreter(num_threads).invoke()`` on a fixed random input, callable as a streaming step.

    Shaped like :class:`steadyseg.deploy.export.StreamingStep` so that the profiler's ``time_torch`` times it with
    the protocol our models get. ``forward`` ignores the frame it is given and returns no outputs (so no state):
    the input is set once and only ``invoke()`` is timed, the call MediaPipe's graph makes per frame.
    """

    def __init__(self, model_path: str | Path, num_threads: int, seed: int = 0):
        super().__init__()
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: MediaPipe TFLite model not found (set STEADYSEG_SHARED_DATA)")
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        detail = self.interpreter.get_input_details()[0]
        self.input_shape = (int(detail["shape"][1]), int(detail["shape"][2]))
        image = np.random.default_rng(seed).random(tuple(detail["shape"]), dtype=np.float32)
        self.interpreter.set_tensor(detail["index"], image)

    def forward(self, frame: torch.Tensor) -> tuple:
        self.interpreter.invoke()
        return ()

    def next_state(self, results: tuple) -> tuple:
        return ()


def mediapipe_models() -> list[dict]:
    """Name, config, model file and fixed input size ``[H, W]`` of each MediaPipe selfie model."""
    models = []
    for config in MEDIAPIPE_CONFIGS:
        model_path = Path(load_config(REPO_ROOT / config).model.model_path)
        if not model_path.is_absolute():
            model_path = REPO_ROOT / model_path
        shape = TFLiteInvoke(model_path, num_threads=1).input_shape
        models.append(
            {
                "name": "MediaPipe " + Path(config).stem.removeprefix("mediapipe_").replace("_", " "),
                "config": config,
                "model_path": str(model_path.resolve()),
                "input_shape": list(shape),
            }
        )
    return models


def mediapipe_for(shape: Sequence[int], models: Sequence[dict]) -> dict:
    """The model whose input has the aspect ratio nearest to ``shape`` (first one on a tie)."""
    aspect = math.log(shape[1] / shape[0])
    return min(models, key=lambda m: abs(math.log(m["input_shape"][1] / m["input_shape"][0]) - aspect))


def time_mediapipe(model: dict, shape: Sequence[int], threads: int, runs: int, warmup: int) -> dict:
    invoke = TFLiteInvoke(model["model_path"], threads)
    timing = time_torch(invoke, torch.empty(0), (), threads, runs, warmup)
    return {
        **model,
        "shape": list(shape),
        "same_shape": list(shape) == model["input_shape"],
        "runtime": "ai-edge-litert",
        "threads": threads,
        "warmup": warmup,
        **timing,
    }


def runs_opencv_flow(model: nn.Module) -> bool:
    """Whether the step estimates OpenCV DIS flow itself (the flow-propagation model's fallback)."""
    return any(getattr(module, "flow_fallback", None) == "dis" for module in model.modules())


@contextlib.contextmanager
def opencv_threads(count: int | None):
    """OpenCV's thread pool size inside the block (unchanged for ``None``)."""
    import cv2

    previous = cv2.getNumThreads()
    if count is not None:
        cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def profile_shape(
    model: nn.Module,
    shape: tuple[int, int],
    threads: Sequence[int],
    runtimes: Sequence[str],
    runs: int,
    warmup: int,
) -> tuple[dict, list[str]]:
    """``profile_model`` at one shape, all thread counts and runtimes; returns the record and notes.

    ONNX Runtime is profiled first, so that a failing export (which ends ``profile_model``) costs no torch timing
    before the model is profiled again in the other runtimes alone.
    """
    opencv = runs_opencv_flow(model)
    notes = (
        ["its step runs OpenCV DIS optical flow per frame (timed; OpenCV threads = torch threads)"]
        if opencv
        else []
    )
    ordered = sorted(runtimes, key=lambda r: r != "onnxruntime")
    # OpenCV's thread pool is not torch's: a step running OpenCV is profiled one thread count at a time with
    # OpenCV set to that count, so "1 thread" means one thread for all of the step.
    groups = [[n] for n in threads] if opencv else [list(threads)]
    record = None
    for group in groups:
        with opencv_threads(group[0] if opencv else None):
            try:
                part = _profile(model, shape, group, ordered, runs, warmup)
            except ExportError as error:
                if "onnxruntime" not in ordered:
                    raise
                ordered = [r for r in ordered if r != "onnxruntime"] or ["torch"]
                # Export errors read "<temporary file>: <what differs>; <why>": the first clause is the news.
                reason = str(error).splitlines()[0].split(": ", 1)[-1].split("; ")[0]
                notes.append(
                    f"ONNX export failed at {shape[0]}x{shape[1]}, timed in {', '.join(ordered)} only: {reason}"
                )
                part = _profile(model, shape, group, ordered, runs, warmup)
        if record is None:
            record = part
        else:
            record["latency"] += part["latency"]
    return record, notes


def _profile(model, shape, threads, runtimes, runs, warmup) -> dict:
    return profile_model(
        model,
        shape=shape,
        threads=threads,
        runtimes=runtimes,
        runs=runs,
        warmup=warmup,
        state_frames=STATE_FRAMES,
    )


def vss_quality(path: str | Path) -> dict[str, dict]:
    """``{config path: {"key", "value", "name", "file"}}`` of the J&F that ``vss_people.json`` reports.

    Its results are keyed by model name; names map to configs through a result's own ``config`` entry when it
    has one, else through the benchmark's ``CONFIGS`` and ``BASELINES`` tables.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
        results = record["results"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a vss_people.json record with 'results' ({error!r})") from error
    names = _vss_people_configs()
    quality = {}
    for name, result in results.items():
        config = result.get("config") or names.get(name)
        if config is None or QUALITY_KEY not in result:
            continue
        # Records over seeds hold {mean, std, values}; single-run records the value itself.
        value = result[QUALITY_KEY]["mean"] if isinstance(result[QUALITY_KEY], dict) else result[QUALITY_KEY]
        if value is None:
            # A metric with nothing to score is written as null (see steadyseg.evaluation.metrics_json).
            raise ValueError(
                f"{path}: {name}'s {QUALITY_KEY} is null: the record has no quality to plot for it"
            )
        quality[repo_relative(config)] = {
            "key": QUALITY_KEY,
            "value": float(value),
            "name": name,
            "file": repo_relative(path),
        }
    return quality


def _vss_people_configs(baselines: bool = True) -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("vss_people", REPO_ROOT / "benchmarks/vss_people.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {**getattr(module, "CONFIGS", {}), **(getattr(module, "BASELINES", {}) if baselines else {})}


def run_benchmark(
    configs: Sequence[str],
    shapes: Sequence[tuple[int, int]] = DEFAULT_SHAPES,
    threads: Sequence[int] = DEFAULT_THREADS,
    runtimes: Sequence[str] = DEFAULT_RUNTIMES,
    runs: int = 100,
    warmup: int = 20,
    quality_path: str | Path | None = VSS_RESULTS,
    log=print,
) -> dict:
    """Times every config and MediaPipe, shape by shape, and returns the record (see the module doc)."""
    quality = vss_quality(quality_path) if quality_path else {}
    mediapipe = mediapipe_models()
    load_start = list(os.getloadavg())
    models = []
    for config in configs:
        path = repo_relative(config)
        entry = {
            "config": path,
            "name": Path(path).stem,
            "quality": quality.get(path),
            "notes": [],
            "profiles": [],
        }
        models.append((load_model(REPO_ROOT / path, None), entry))
    timed_mediapipe = []
    for shape in shapes:
        reference = mediapipe_for(shape, mediapipe)
        for count in threads:
            timed_mediapipe.append(time_mediapipe(reference, shape, count, runs, warmup))
            log(
                f"{reference['name']} for {shape[0]}x{shape[1]}, {count} thread(s): {timed_mediapipe[-1]['median_ms']:.2f} ms"
            )
        for model, entry in models:
            profile, notes = profile_shape(model, shape, threads, runtimes, runs, warmup)
            entry["notes"] += [n for n in notes if n not in entry["notes"]]
            entry["profiles"].append({"shape": list(shape), **profile})
            times = ", ".join(
                f"{r['runtime']} {r['threads']}t {r['median_ms']:.2f} ms" for r in profile["latency"]
            )
            log(f"{entry['name']} at {shape[0]}x{shape[1]}: {times}")
    mediapipe_quality = {m["config"]: quality.get(m["config"]) for m in mediapipe}
    record = {
        "benchmark": "latency",
        **environment(),
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
        "protocol": {
            "shapes": [list(s) for s in shapes],
            "threads": list(threads),
            "runtimes": list(runtimes),
            "runs": runs,
            "warmup": warmup,
            "state_frames_before_timing": STATE_FRAMES,
            "batch": 1,
            "statistic": "median and interquartile range of per-call wall time (time.perf_counter), ms",
            "ours": "re-parameterized model, streaming step (frame, *state) -> (logits, *state), normalized "
            "random frame; onnxruntime: the checked ONNX export, CPU provider, intra_op_num_threads = threads",
            "mediapipe": "ai-edge-litert Interpreter(num_threads=threads) with its default XNNPACK delegate, "
            "invoke() only, fixed random input at the model's fixed input size; per shape the model of the "
            "nearest aspect ratio",
            "ratio": "our median / MediaPipe's median at the same shape and thread count",
            "quality": f"{QUALITY_KEY} from {repo_relative(quality_path)}" if quality else NOT_SCORED,
        },
        "mediapipe": [{**m, "quality": mediapipe_quality[m["config"]]} for m in timed_mediapipe],
        "models": [entry for _, entry in models],
    }
    record["versions"].update(_extra_versions())
    record["rows"] = table_rows(record)
    record["table"] = format_markdown(record)
    return record


def _extra_versions() -> dict:
    import cv2

    try:
        litert = importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        litert = None
    return {"ai-edge-litert": litert, "opencv": cv2.__version__}


def table_rows(record: dict) -> list[dict]:
    """One row per shape, thread count, model and runtime (MediaPipe first in each group), with the ratio."""
    rows = []
    for shape in record["protocol"]["shapes"]:
        for count in record["protocol"]["threads"]:
            reference = next(m for m in record["mediapipe"] if m["shape"] == shape and m["threads"] == count)
            rows.append(
                _row(
                    reference["name"], reference["config"], shape, reference, reference, reference["quality"]
                )
            )
            for entry in record["models"]:
                profile = next(p for p in entry["profiles"] if p["shape"] == shape)
                latencies = sorted(profile["latency"], key=lambda lat: RUNTIMES.index(lat["runtime"]))
                for latency in latencies:
                    if latency["threads"] == count:
                        rows.append(
                            _row(entry["name"], entry["config"], shape, latency, reference, entry["quality"])
                        )
    return rows


def _row(name, config, shape, latency, reference, quality) -> dict:
    return {
        "name": name,
        "config": config,
        "shape": shape,
        "runtime": latency["runtime"],
        "threads": latency["threads"],
        "median_ms": latency["median_ms"],
        "iqr_ms": latency["iqr_ms"],
        "mediapipe": reference["name"],
        "mediapipe_median_ms": reference["median_ms"],
        "ratio": latency["median_ms"] / reference["median_ms"],
        QUALITY_KEY: quality["value"] if quality else None,
    }


def format_markdown(record: dict) -> str:
    lines = [
        f"| shape | threads | model | runtime | {QUALITY_KEY} | median ms | IQR ms | ratio vs MediaPipe |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        quality = f"{row[QUALITY_KEY]:.3f}" if row[QUALITY_KEY] is not None else NOT_SCORED
        lines.append(
            f"| {row['shape'][0]}x{row['shape'][1]} | {row['threads']} | {row['name']} | {row['runtime']} | "
            f"{quality} | {row['median_ms']:.2f} | {row['iqr_ms']:.2f} | {row['ratio']:.2f} |"
        )
    notes = [f"- {entry['name']}: {note}" for entry in record["models"] for note in entry["notes"]]
    for reference in record["mediapipe"]:
        if not reference["same_shape"]:
            size = "x".join(map(str, reference["input_shape"]))
            note = (
                f"- {reference['name']} has a fixed {size} input: the ratios at "
                f"{reference['shape'][0]}x{reference['shape'][1]} compare with it at {size}"
            )
            if note not in notes:
                notes.append(note)
    return "\n".join(lines + ([""] + notes if notes else []))


def plot_records(record: dict, shape: Sequence[int] | None = None, threads: int = 1) -> list[dict]:
    """The record as ``plot_latency_vs_quality`` records: one per model and one per MediaPipe model, at ``shape``.

    ``shape`` defaults to the first one measured; quality is the J&F, empty where the model was not scored.
    """
    shape = list(shape or record["protocol"]["shapes"][0])
    records = []
    for entry in record["models"]:
        profile = next((p for p in entry["profiles"] if p["shape"] == shape), None)
        if profile is None:
            continue
        latency = [lat for lat in profile["latency"] if lat["threads"] == threads]
        records.append(
            {"config": entry["config"], "latency": latency, "quality": _quality_list(entry["quality"])}
        )
    for reference in record["mediapipe"]:
        if reference["shape"] == shape and reference["threads"] == threads:
            records.append(
                {
                    "config": reference["config"],
                    "latency": [reference],
                    "quality": _quality_list(reference["quality"]),
                }
            )
    return records


def _quality_list(quality: dict | None) -> list[dict]:
    return [{"key": quality["key"], "value": quality["value"], "file": quality["file"]}] if quality else []


def main(argv=None) -> dict:
    args = parse_args(argv)
    record = run_benchmark(
        args.configs,
        args.shapes,
        args.threads,
        args.runtimes,
        args.runs,
        args.warmup,
        args.quality,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    record["command"] = " ".join(
        ["python benchmarks/latency.py", *(argv if argv is not None else sys.argv[1:])]
    )
    print(record["table"])
    write_atomically(Path(args.out), metrics_json(record).encode())
    if args.markdown:
        write_atomically(Path(args.markdown), (record["table"] + "\n").encode())
    return record


if __name__ == "__main__":
    main()
