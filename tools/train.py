"""Train a steadyseg model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``.

Distributed: ``torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch`` (NCCL on GPUs,
gloo on CPU). See docs/training.md.
"""

import argparse
from pathlib import Path

from steadyseg.apis.training import (
    add_runner_arguments,
    build_runner,
    last_checkpoint,
    prepare_config,
    run_cli,
)
from steadyseg.config import load_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="resume from CKPT, or without a value from the work dir's last checkpoint (an error if it has none)",
    )
    parser.add_argument(
        "--partial-load",
        action="store_true",
        help="load only the weights of load_from that fit the model (fine-tuning) and list the others; "
        "without it a checkpoint must fit exactly",
    )
    parser.add_argument("--amp", action="store_true", help="mixed-precision training (CUDA)")
    parser.add_argument("--wandb", action="store_true", default=None, help="also log to Weights & Biases")
    add_runner_arguments(parser)
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors before anything is built."""
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    if args.resume not in (None, "auto") and not Path(args.resume).is_file():
        parser.error(f"--resume: checkpoint {args.resume} does not exist")
    if args.resume and args.partial_load:
        parser.error("--partial-load is for fine-tuning from load_from; resuming continues the same model")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    cfg = load_config(args.config, args.cfg_options)
    cfg = prepare_config(cfg, args.config, args.work_dir, args.launcher, args.amp, args.wandb)
    if args.resume == "auto":
        try:
            cfg.load_from = str(last_checkpoint(cfg.work_dir))
        except FileNotFoundError as error:
            parser.error(f"--resume: {error}")
        cfg.resume = True
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    if args.partial_load:
        cfg.partial_load = True
    if cfg.get("load_from") and not Path(cfg.load_from).is_file():
        parser.error(f"load_from: checkpoint {cfg.load_from} does not exist")
    if cfg.get("partial_load") and not cfg.get("load_from"):
        parser.error(
            "--partial-load needs a checkpoint to fine-tune from: set load_from (--cfg-options load_from=CKPT)"
        )
    build_runner(cfg).train()


if __name__ == "__main__":
    run_cli(main)
