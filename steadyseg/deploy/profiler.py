"""Latency, FLOPs, parameters and peak activation memory of a video model's streaming step, on CPU.

Everything is measured on one call of the streaming step (``StreamingStep``: ``(frame, *state) ->
(logits, *next_state)``) at batch 1, after :func:`steadyseg.deploy.reparameterize` (the deployed form, not the
multi-branch training form). The frame is the normalized frame the data preprocessor produces (the
normalization is part of the step only with ``include_normalization``). Recurrent models run ``state_frames``
frames from their initial state first, so the state is the non-empty one they carry mid-video; the timed calls
feed each returned state back into the next call. The step is what an exported graph computes
(``model.graph_step``): parts that run outside the graph (``in_graph = False``, e.g. the instance model's tracker)
are not measured, and the record names them under ``outside_graph``.

Protocol (see docs/deploy.md): per runtime and thread count, ``warmup`` untimed calls, then ``runs`` timed
calls, each timed alone with ``time.perf_counter``; reported are the median and the interquartile range.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from steadyseg.deploy.export import (
    StreamingStep,
    check_shape,
    export_checked_onnx,
    outside_graph,
    prepare_for_deploy,
    random_frames,
    runs_in_torch,
    steady_state,
)
from steadyseg.evaluation.metrics_json import UNDEFINED_KEY

RUNTIMES = ("torch", "torch-cl", "onnxruntime")
FLOP_CONVENTION = (
    "torch.utils.flop_counter.FlopCounterMode: FLOPs = 2 x MACs (one multiply-add counts as 2 FLOPs); "
    "only convolution, matrix-multiply and attention ops have formulas, see uncounted_ops"
)
MEMORY_METHOD = (
    "torch.profiler CPU allocator events (profile_memory=True) of one step after a warm-up step, 1 thread: "
    "the peak of bytes allocated minus bytes freed since the step began. It covers intermediate tensors, "
    "kernel workspaces (e.g. im2col buffers) and the outputs (logits, next state); weights and the input "
    "frame and state exist before the step and are not counted. Measured in eager torch, not in ONNX Runtime."
)
VERSIONED_PACKAGES = ("torch", "onnxruntime", "onnx", "onnxscript", "coremltools", "numpy", "mmsegmentation")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def summarize_times(seconds: Sequence[float]) -> dict:
    """Median, quartiles (linear interpolation), IQR, mean, min and max in milliseconds."""
    if len(seconds) == 0:
        raise ValueError("no timings to summarize (runs must be >= 1)")
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    p25, median, p75 = np.percentile(ms, [25, 50, 75])
    return {
        "runs": len(ms),
        "median_ms": float(median),
        "iqr_ms": float(p75 - p25),
        "p25_ms": float(p25),
        "p75_ms": float(p75),
        "mean_ms": float(ms.mean()),
        "min_ms": float(ms.min()),
        "max_ms": float(ms.max()),
    }


class _OpCalls(TorchDispatchMode):
    """Counts the aten ops that run as kernels, seeing through composite ops as FlopCounterMode does."""

    def __init__(self):
        super().__init__()
        self.calls = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # Under inference mode composite ops (conv2d, batch_norm, ...) reach the mode whole; decomposing them
        # with the mode active records the kernels that do the work, the ops FlopCounterMode has formulas for.
        with self:
            result = func.decompose(*args, **kwargs)
        if result is not NotImplemented:
            return result
        self.calls[func.overloadpacket] += 1
        return func(*args, **kwargs)


def count_flops(fn: Callable, *args) -> dict:
    """FLOPs and MACs of ``fn(*args)`` with FlopCounterMode, per op, and the ops it has no formula for.

    ``uncounted_ops`` maps every op without a FLOP formula to its number of calls, except views (which
    compute nothing): element-wise activations, normalization, pooling, interpolation, concatenation...
    """
    counter = FlopCounterMode(display=False)
    recorder = _OpCalls()
    # The counter's module tracker hooks the gradients of every module input that requires grad, and a parameter
    # handed as-is to a submodule (a query head's learned queries) has no autograd node under inference mode:
    # counting needs no gradients, so parameters stop requiring them while it runs.
    trainable = [p for p in fn.parameters() if p.requires_grad] if isinstance(fn, nn.Module) else []
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        with torch.inference_mode():
            with counter:
                fn(*args)
            with recorder:
                fn(*args)
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)
    flops = int(counter.get_total_flops())
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    uncounted = {
        str(op): calls
        for op, calls in sorted(recorder.calls.items(), key=lambda item: str(item[0]))
        if op not in flop_registry and not _is_view(op)
    }
    return {"flops": flops, "macs": flops // 2, "flops_by_op": by_op, "uncounted_ops": uncounted}


def _is_view(packet) -> bool:
    overloads = [getattr(packet, name) for name in packet.overloads()]
    return bool(overloads) and all(op.is_view for op in overloads)


def peak_activation_bytes(fn: Callable, *args) -> int:
    """Peak CPU bytes allocated during ``fn(*args)`` beyond what existed before (see ``MEMORY_METHOD``)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            fn(*args)
            with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
            ) as prof:
                outputs = fn(*args)
            del outputs
    finally:
        torch.set_num_threads(previous_threads)
    events = [
        event
        for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU
    ]
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def time_torch(
    step: nn.Module,
    frame: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    threads: int,
    runs: int,
    warmup: int,
    channels_last: bool = False,
) -> dict:
    """Times ``step`` in eager torch with ``torch.set_num_threads(threads)``, feeding the state back."""
    if channels_last:
        # Module.to(memory_format=...) refuses models holding any non-4-D tensor (e.g. the preprocessor's mean).
        step = copy.deepcopy(step)
        for tensor in [*step.parameters(), *step.buffers()]:
            tensor.data = _channels_last(tensor.data)
        frame = frame.contiguous(memory_format=torch.channels_last)
        state = tuple(_channels_last(t) for t in state)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                state = step.next_state(step(frame, *state))
            seconds = []
            for _ in range(runs):
                start = time.perf_counter()
                outputs = step(frame, *state)
                seconds.append(time.perf_counter() - start)
                state = step.next_state(outputs)
    finally:
        torch.set_num_threads(previous_threads)
    return summarize_times(seconds)


def _channels_last(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.ndim == 4 else tensor


def time_onnxruntime(
    step: StreamingStep,
    path: str | Path,
    frame: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    threads: int,
    runs: int,
    warmup: int,
) -> dict:
    """Times an ONNX Runtime CPU session (``intra_op_num_threads=threads``, sequential), feeding the state back."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {name: t.numpy() for name, t in zip(step.input_names, (frame, *state))}
    state_names = step.state_graph_names

    def call():
        outputs = session.run(None, feeds)
        feeds.update(zip(state_names, outputs[step.num_outputs :]))

    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return summarize_times(seconds)


def profile_model(
    model: nn.Module,
    shape: tuple[int, int] = (256, 256),
    threads: Sequence[int] = (1,),
    runtimes: Sequence[str] = ("torch",),
    runs: int = 100,
    warmup: int = 20,
    state_frames: int = 3,
    include_normalization: bool = False,
) -> dict:
    """Re-parameterizes ``model`` (in place) and measures its streaming step; returns the numbers as a dict.

    Keys: ``input`` (shapes, state), ``params``, ``flops`` (see :func:`count_flops`), ``peak_activation_bytes``,
    ``latency`` (one entry per runtime and thread count, see :func:`summarize_times`), and the methods used.
    """
    _check_settings(threads, runtimes, runs, warmup, state_frames)
    shape = check_shape(shape)
    model = prepare_for_deploy(model)
    step = StreamingStep(model, include_normalization).eval()
    frames = random_frames(state_frames + 1, shape, include_normalization)
    state = steady_state(step, frames[:-1])
    frame = frames[-1]
    in_torch = runs_in_torch(model)
    if not in_torch and set(runtimes) - {"torch"}:
        raise ValueError(
            f"{type(model).__name__} has no torch parameters (an inference-only wrapper such as a TFLite baseline): "
            "only the 'torch' runtime can time it"
        )
    record = {
        "input": {
            "frame": list(frame.shape),
            "frame_normalized": not include_normalization,
            "state": [list(t.shape) for t in state],
            "state_frames_before_timing": state_frames,
            "recurrent": bool(state),
        },
        "params": count_parameters(model),
        "flops_method": FLOP_CONVENTION,
        "flops": count_flops(step, frame, *state) if in_torch else None,
        "peak_activation_method": MEMORY_METHOD,
        "peak_activation_bytes": peak_activation_bytes(step, frame, *state),
        "latency": [],
    }
    if not in_torch:
        record["note"] = "no torch parameters: step runs outside torch, so FLOPs are not counted"
    host = outside_graph(model)
    if host is not None:
        record["outside_graph"] = {**host, "note": "not measured: these parts run outside the graph"}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = None
        for runtime in runtimes:
            extra = {}
            if runtime == "onnxruntime" and onnx_path is None:
                onnx_path = Path(tmp) / "model.onnx"
                exported, check = export_checked_onnx(step, onnx_path, frame, state, check_frames=3)
                extra = {"exporter": exported.exporter, "check_max_abs_diff": check["max_abs_diff"]}
            for count in threads:
                if runtime == "onnxruntime":
                    timing = time_onnxruntime(step, onnx_path, frame, state, count, runs, warmup)
                else:
                    timing = time_torch(
                        step, frame, state, count, runs, warmup, channels_last=runtime == "torch-cl"
                    )
                record["latency"].append(
                    {"runtime": runtime, "threads": count, "warmup": warmup, **timing, **extra}
                )
    return record


def _check_settings(threads, runtimes, runs, warmup, state_frames) -> None:
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise ValueError(f"unknown runtime(s) {unknown}; choose from {list(RUNTIMES)}")
    if not threads or any(n < 1 for n in threads):
        raise ValueError(f"thread counts must be >= 1, got {list(threads)}")
    if runs < 1 or warmup < 0 or state_frames < 1:
        raise ValueError(
            f"need runs >= 1, warmup >= 0 and state_frames >= 1; got {runs}, {warmup}, {state_frames}"
        )


def environment() -> dict:
    """Commit (``git rev-parse HEAD`` of the checkout, when it is one), machine and library versions."""
    return {"commit": _git_commit(), "machine": _machine(), "versions": _versions()}


def _git_commit() -> dict | None:
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return {"sha": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch_default_threads": torch.get_num_threads(),
        # Other jobs on the machine distort multi-thread timings (OpenMP threads spin-wait for each other).
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ},
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _versions() -> dict:
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def load_quality(paths: Sequence[str | Path], key: str) -> list[dict]:
    """``[{"file", "key", "value"}]`` from metrics JSON files as written by ``tools/test.py --out``.

    A metric written as ``null`` (undefined, e.g. VC_n of videos too short) is an error that gives the reason
    the file records under ``undefined_metrics``: a point without a quality cannot be plotted.
    """
    quality = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: metrics file does not exist")
        try:
            metrics = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not a JSON metrics file ({error})") from error
        if not isinstance(metrics, dict) or key not in metrics:
            available = sorted(set(metrics) - {UNDEFINED_KEY}) if isinstance(metrics, dict) else []
            raise KeyError(f"{path}: no metric {key!r}; it has {available} (choose one with --metric-key)")
        value = metrics[key]
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            reasons = metrics.get(UNDEFINED_KEY)
            reason = reasons.get(key) if isinstance(reasons, dict) else None
            raise ValueError(
                f"{path}: metric {key!r} has no value ({value}): "
                f"{reason or f'the file gives no reason under {UNDEFINED_KEY!r}'}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{path}: metric {key!r} is {value!r}, not a number")
        quality.append({"file": str(path), "key": key, "value": float(value)})
    return quality


def plot_latency_vs_quality(records: Sequence[dict], path: str | Path) -> None:
    """Scatter of median latency (x) against quality (y): one point per record, quality file, runtime and threads.

    Colour tells the config apart, the marker the runtime; each point is labelled with its thread count.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(r, q, lat) for r in records for q in r.get("quality") or [] for lat in r["latency"]]
    if not points:
        raise ValueError("nothing to plot: no profile record has both latency and quality (give --metrics)")
    markers = dict(zip(RUNTIMES, "os^"))
    colours = {}
    figure, axes = plt.subplots(figsize=(7, 5))
    for record, quality, latency in points:
        name = Path(record.get("config", "model")).stem
        colour = colours.setdefault(name, f"C{len(colours) % 10}")
        axes.scatter(
            latency["median_ms"],
            quality["value"],
            color=colour,
            marker=markers.get(latency["runtime"], "x"),
            label=f"{name} ({latency['runtime']})",
        )
        axes.annotate(
            f"{latency['threads']}t",
            (latency["median_ms"], quality["value"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes.legend(unique.values(), unique.keys(), fontsize=7)
    keys = sorted({quality["key"] for _, quality, _ in points})
    axes.set_xlabel("median latency per frame (ms, batch 1, CPU)")
    axes.set_ylabel(", ".join(keys))
    axes.set_title("latency vs quality (t = threads)")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(str(path), dpi=120)
    plt.close(figure)


def format_table(record: dict) -> str:
    """The record as a short human-readable report (the JSON holds everything)."""
    lines = [f"config: {record.get('config', '-')}"]
    state = record["input"]["state"]
    lines.append(
        f"frame {record['input']['frame']}, state: {state if state else 'none (per-frame model)'}"
        + (f" after {record['input']['state_frames_before_timing']} frames" if state else "")
    )
    flops = record["flops"]
    counted = (
        f"MACs {flops['macs'] / 1e9:.3f} G | FLOPs {flops['flops'] / 1e9:.3f} G (FLOPs = 2 x MACs)"
        if flops
        else "FLOPs not counted"
    )
    lines.append(
        f"params {record['params'] / 1e6:.3f} M | {counted} | "
        f"peak activations {record['peak_activation_bytes'] / 2**20:.2f} MiB"
    )
    if record.get("outside_graph"):
        parts = ", ".join(f"{path} ({kind})" for path, kind in record["outside_graph"]["parts"].items())
        lines.append(f"not measured (runs outside the graph, after it): {parts}")
    if flops and flops["uncounted_ops"]:
        ops = ", ".join(f"{op} x{n}" for op, n in flops["uncounted_ops"].items())
        lines.append(f"ops without a FLOP formula (not counted): {ops}")
    lines.append(f"{'runtime':<12} {'threads':>7} {'median ms':>10} {'IQR ms':>8} {'runs':>5}")
    for row in record["latency"]:
        lines.append(
            f"{row['runtime']:<12} {row['threads']:>7} {row['median_ms']:>10.3f} {row['iqr_ms']:>8.3f} {row['runs']:>5}"
        )
    for quality in record.get("quality") or []:
        lines.append(f"{quality['key']} = {quality['value']:.4f} ({quality['file']})")
    return "\n".join(lines)
