"""Profile a model's streaming step: ``python tools/profile_latency.py CONFIG [--out profile.json]``.

Re-parameterizes the model, then reports parameters, MACs/FLOPs, peak activation memory and per-frame latency
(median and IQR over ``--runs`` calls after ``--warmup``, batch 1) for each runtime (torch, torch-cl =
channels_last, onnxruntime) and thread count. Recurrent models are timed with the non-empty state they carry
mid-video. Prints a table; ``--out`` writes the JSON record (with commit, machine and versions); ``--plot``
draws latency against quality from ``--metrics`` files written by ``tools/test.py --out``. See docs/deploy.md.
"""

import argparse
import json
from pathlib import Path

from steadyseg.apis.inference import load_model
from steadyseg.deploy.profiler import (
    RUNTIMES,
    environment,
    format_table,
    load_quality,
    plot_latency_vs_quality,
    profile_model,
)
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument(
        "--checkpoint", help="checkpoint to load (default: untrained weights; latency is the same)"
    )
    parser.add_argument("--shape", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1], help="thread counts to time (default 1)"
    )
    parser.add_argument("--runtimes", nargs="+", default=["torch"], choices=RUNTIMES)
    parser.add_argument("--runs", type=int, default=100, help="timed calls per setting (protocol: >= 100)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first (default 20)")
    parser.add_argument("--state-frames", type=int, default=3, help="frames streamed before timing (state)")
    parser.add_argument(
        "--include-normalization", action="store_true", help="time (rgb - mean) / std as part of the step"
    )
    parser.add_argument("--out", help="write the JSON record here")
    parser.add_argument("--metrics", nargs="+", default=[], help="metrics JSON files (tools/test.py --out)")
    parser.add_argument("--metric-key", default="davis_people/J&F", help="quality key in --metrics files")
    parser.add_argument(
        "--compare", nargs="+", default=[], help="earlier --out records to draw in the same plot"
    )
    parser.add_argument("--plot", help="latency-vs-quality scatter (PNG) of this and the --compare records")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.plot and not (args.metrics or args.compare):
        raise SystemExit(
            "--plot needs quality: give --metrics (tools/test.py --out files) or --compare records"
        )
    quality = load_quality(args.metrics, args.metric_key)
    compared = [_load_record(path) for path in args.compare]
    model = load_model(args.config, args.checkpoint)
    record = {"config": args.config, "checkpoint": args.checkpoint, **environment()}
    record.update(
        profile_model(
            model,
            shape=tuple(args.shape),
            threads=args.threads,
            runtimes=args.runtimes,
            runs=args.runs,
            warmup=args.warmup,
            state_frames=args.state_frames,
            include_normalization=args.include_normalization,
        )
    )
    record["quality"] = quality
    print(format_table(record))
    if args.out:
        write_atomically(Path(args.out), metrics_json(record).encode())
    if args.plot:
        plot_latency_vs_quality([*compared, record], args.plot)
    return record


def _load_record(path: str) -> dict:
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"{path}: cannot read the profile record ({error})") from error
    if not isinstance(record, dict) or "latency" not in record:
        raise SystemExit(
            f"{path}: not a profile record written by tools/profile_latency.py --out (no 'latency')"
        )
    return record


if __name__ == "__main__":
    main()
