"""Streaming inference benchmark: where the time and the memory of ``tools/infer.py`` go, on one video.

Protocol:
1. The config's model is built (untrained weights unless ``--checkpoint``: the time does not depend on them);
   torch gets ``--threads`` threads (default: every core but one, as ``tools/infer.py``).
2. Model alone: the video's first frames are prepared as the pipeline prepares them, and the model's streaming
   ``step`` (which resizes the full frame to the model's input scale inside) is timed on one of them with the
   state it carries after 3 frames: ``--warmup`` untimed calls, then ``--runs`` calls each timed alone, median
   and IQR (same threads).
3. Pipeline: ``infer_video`` on the video's first ``--max-frames`` frames (default: all) into a temporary
   folder, both videos encoded. Mean ms per frame of each stage (decode, preprocess, model step, postprocess,
   encode), each timed in the thread that runs it (they overlap, so they add up to more than the whole), and
   end to end (wall time over frames) with frames/s. Resident memory (psutil) after the model step of every
   frame; the process's peak (``ru_maxrss``, which also covers imports and step 2).
4. Targets, computed from those values: pipeline ms per frame <= 2x the model-alone step median; peak RSS
   <= 800 MB; RSS growth from frame 100 (or the last frame, in a shorter run) to the last frame <= 50 MB.

Prints a markdown table and writes a JSON record (commit, machine, versions, protocol, numbers, targets).

    python benchmarks/inference.py                                  # opencv_vtest.avi, all 795 frames
    python benchmarks/inference.py --max-frames 200 --checkpoint work_dirs/x/iter_800.pth --out /tmp/inf.json
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch

from steadyseg.apis.benchmarking import target
from steadyseg.apis.inference import (
    STAGES,
    StreamingSegmenter,
    default_threads,
    infer_video,
    iter_video_frames,
    load_model,
)
from steadyseg.apis.training import at_least
from steadyseg.config import shared_data_root
from steadyseg.deploy.profiler import environment, summarize_times
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
DEFAULT_VIDEO = "people_videos/opencv_vtest.avi"
# Frames streamed before the model is timed alone, so a recurrent model carries its mid-video state.
STATE_FRAMES = 3
# Memory is compared from this frame on: by then every buffer of the pipeline has reached its size.
REFERENCE_FRAME = 100
MAX_PIPELINE_TO_STEP = 2.0
MAX_PEAK_RSS_MB = 800.0
MAX_RSS_GROWTH_MB = 50.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--video", help=f"video file or frame folder (default: shared data's {DEFAULT_VIDEO})"
    )
    parser.add_argument("--config", default=str(REPO_ROOT / DEFAULT_CONFIG))
    parser.add_argument("--checkpoint", help="weights (default: untrained; the time does not depend on them)")
    parser.add_argument("--max-frames", type=at_least(1), help="stop after this many frames (default: all)")
    parser.add_argument("--threads", type=at_least(1), help="torch threads (default: every core but one)")
    parser.add_argument("--runs", type=at_least(1), default=100, help="timed model-alone steps")
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed model-alone steps first")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks/results/inference.json"))
    args = parser.parse_args(argv)
    args.video = args.video or str(shared_data_root() / DEFAULT_VIDEO)
    if not Path(args.video).exists():
        parser.error(f"video {args.video} does not exist (set STEADYSEG_SHARED_DATA or pass --video)")
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")
    args.threads = args.threads or default_threads()
    return args


def time_model_alone(model, video: str, threads: int, runs: int, warmup: int) -> dict:
    """The pipeline's model stage alone: ``StreamingSegmenter.step`` on a full frame of ``video`` prepared as the
    pipeline prepares it (the model resizes it to its input scale inside), carrying the state of 3 frames."""
    frames, _, _ = iter_video_frames(video)
    segmenter = StreamingSegmenter(model)
    prepared = [segmenter.prepare(frame) for _, frame in zip(range(STATE_FRAMES + 1), frames)]
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for inputs in prepared[:-1]:
            segmenter.step(inputs)
        for _ in range(warmup):
            segmenter.step(prepared[-1])
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            segmenter.step(prepared[-1])
            seconds.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous_threads)
    return summarize_times(seconds)


def run_pipeline(model, video: str, threads: int, max_frames: int | None) -> dict:
    """``infer_video``'s summary, with the resident memory (MB) after every frame's model step."""
    process = psutil.Process()
    rss_mb = []
    with tempfile.TemporaryDirectory(prefix="inference_benchmark_") as out_dir:
        summary = infer_video(
            model,
            video,
            out_dir,
            max_frames,
            progress=False,
            threads=threads,
            on_frame=lambda _: rss_mb.append(process.memory_info().rss / 2**20),
        )
    return {**summary, "rss_mb": rss_mb}


def compute_targets(record: dict) -> list[dict]:
    memory = record["memory_mb"]
    return [
        target(
            "pipeline ms per frame / model-alone step ms (<=)",
            record["pipeline_to_step_ratio"],
            MAX_PIPELINE_TO_STEP,
            higher_is_better=False,
        ),
        target("peak RSS MB (<=)", memory["peak"], MAX_PEAK_RSS_MB, higher_is_better=False),
        target(
            f"RSS growth MB from frame {memory['reference_frame']} to the last frame (<=)",
            memory["growth"],
            MAX_RSS_GROWTH_MB,
            higher_is_better=False,
        ),
    ]


def build_record(args: argparse.Namespace, alone: dict, pipeline: dict, peak_rss_mb: float) -> dict:
    ms = pipeline["ms_per_frame"]
    rss = pipeline["rss_mb"]
    reference = min(REFERENCE_FRAME, len(rss))
    record = {
        "benchmark": "inference",
        **environment(),
        "protocol": {
            "video": str(args.video),
            "config": str(args.config),
            "checkpoint": args.checkpoint,
            "frames": pipeline["frames"],
            "input_short_side": args.input_short_side,
            "threads": args.threads,
            "model_alone_runs": args.runs,
            "model_alone_warmup": args.warmup,
        },
        "model_alone_step_ms": alone,
        "pipeline_ms_per_frame": {stage: ms[stage] for stage in STAGES} | {"end_to_end": ms["total"]},
        "pipeline_frames_per_second": 1e3 / ms["total"],
        "pipeline_to_step_ratio": ms["total"] / alone["median_ms"],
        "memory_mb": {
            "reference_frame": reference,
            "at_reference_frame": rss[reference - 1],
            "at_last_frame": rss[-1],
            "growth": rss[-1] - rss[reference - 1],
            "peak": peak_rss_mb,
            "every_50_frames": [round(value, 1) for value in rss[::50]],
        },
    }
    record["targets"] = compute_targets(record)
    return record


def format_table(record: dict) -> str:
    ms = record["pipeline_ms_per_frame"]
    alone = record["model_alone_step_ms"]
    memory = record["memory_mb"]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {stage} ms per frame | {ms[stage]:.2f} |" for stage in STAGES]
    lines += [
        f"| pipeline ms per frame, end to end | {ms['end_to_end']:.2f} |",
        f"| pipeline frames/s | {record['pipeline_frames_per_second']:.1f} |",
        f"| model step alone ms, median (IQR) | {alone['median_ms']:.2f} ({alone['iqr_ms']:.2f}) |",
        f"| RSS MB at frame {memory['reference_frame']} | {memory['at_reference_frame']:.0f} |",
        f"| RSS MB at the last frame | {memory['at_last_frame']:.0f} |",
        f"| peak RSS MB | {memory['peak']:.0f} |",
        "",
        "| target | value | threshold | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['name']} | {t['value']:.2f} | {t['threshold']:.2f} | {t['met']} |" for t in record["targets"]
    ]
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    model = load_model(args.config, args.checkpoint)
    args.input_short_side = getattr(model, "input_short_side", None)
    alone = time_model_alone(model, args.video, args.threads, args.runs, args.warmup)
    pipeline = run_pipeline(model, args.video, args.threads, args.max_frames)
    # ru_maxrss is in KiB on Linux; the kernel updates it lazily, so it can trail the last psutil sample a little.
    peak_rss_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, *pipeline["rss_mb"])
    record = build_record(args, alone, pipeline, peak_rss_mb)
    record["command"] = " ".join(
        ["python benchmarks/inference.py", *(argv if argv is not None else sys.argv[1:])]
    )
    record["table"] = format_table(record)
    print(record["table"])
    write_atomically(Path(args.out), (metrics_json(record) + "\n").encode())
    return record


if __name__ == "__main__":
    main()
