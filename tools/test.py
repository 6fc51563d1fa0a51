"""Evaluate a checkpoint: ``python tools/test.py CONFIG [CKPT] [--out metrics.json]``.

Runs the config's test set and every ``extra_test_sets`` entry; metrics are keyed by the evaluators'
prefixes (e.g. ``synthetic/mIoU``, ``davis_people/J&F``) and written as JSON with ``--out`` (a metric with
nothing to score is ``null``, and ``undefined_metrics`` says why). CKPT is left out only for models without
learned parameters (the fixed baselines in configs/baselines/); its weights must fit the config's model
exactly.
"""

import argparse
from pathlib import Path

from steadyseg.apis.training import add_runner_arguments, evaluate_checkpoint, prepare_config, run_cli
from steadyseg.config import load_config
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument(
        "checkpoint", nargs="?", help="checkpoint file (omit it for models without learned parameters)"
    )
    parser.add_argument("--out", help="write the metrics to this JSON file")
    add_runner_arguments(parser)
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors before anything is built."""
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    cfg = load_config(args.config, args.cfg_options)
    cfg = prepare_config(cfg, args.config, args.work_dir, args.launcher)
    metrics = evaluate_checkpoint(cfg, args.checkpoint)
    text = metrics_json(metrics)
    print(text)
    if args.out:
        write_atomically(Path(args.out), text.encode())
    return metrics


if __name__ == "__main__":
    run_cli(main)
