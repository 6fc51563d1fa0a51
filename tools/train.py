"""Train a steadyseg model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``.

Distributed: ``torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch`` (NCCL on GPUs,
gloo on CPU).
"""

import argparse

from steadyseg.apis.training import add_runner_arguments, build_runner, prepare_config
from steadyseg.config import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="resume from CKPT, or without a value from the last checkpoint in the work dir",
    )
    parser.add_argument("--amp", action="store_true", help="mixed-precision training (CUDA)")
    parser.add_argument("--wandb", action="store_true", default=None, help="also log to Weights & Biases")
    add_runner_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg = prepare_config(cfg, args.config, args.work_dir, args.launcher, args.amp, args.wandb)
    if args.resume == "auto":
        cfg.resume = True
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    build_runner(cfg).train()


if __name__ == "__main__":
    main()
