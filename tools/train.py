"""Train a steadyseg model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``.

Distributed: ``torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch`` (NCCL on GPUs,
gloo on CPU).
"""

import argparse

from mmengine.config import DictAction

from steadyseg.apis.training import build_runner, prepare_config
from steadyseg.config import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="resume from CKPT, or without a value from the last checkpoint in the work dir",
    )
    parser.add_argument("--amp", action="store_true", help="mixed-precision training (CUDA)")
    parser.add_argument("--wandb", action="store_true", default=None, help="also log to Weights & Biases")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=value")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)
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
