"""Turning a loaded config into a Runner for training or testing, and running extra test sets."""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner, TestLoop

from steadyseg.config import ConfigError


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """The options tools/train.py and tools/test.py share: work dir, launcher and config overrides."""
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=value")
    # torch.distributed.launch passes it; torchrun sets LOCAL_RANK instead.
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)


def wandb_backend(setting: bool | dict, work_dir: str) -> dict | None:
    """The WandbVisBackend config for a ``wandb`` config value (False, True or a dict of init kwargs).

    Without credentials (no ``WANDB_API_KEY`` and no ``WANDB_MODE``) runs are logged offline into the
    work dir and can be synced later with ``wandb sync``, so a switched-on flag never blocks on a login.
    """
    if not setting:
        return None
    init_kwargs = dict(setting) if isinstance(setting, dict) else {}
    init_kwargs.setdefault("project", "steadyseg")
    init_kwargs.setdefault("dir", work_dir)
    if "WANDB_API_KEY" not in os.environ:
        init_kwargs.setdefault("mode", os.environ.get("WANDB_MODE", "offline"))
    return dict(type="WandbVisBackend", init_kwargs=init_kwargs, save_dir=work_dir)


def prepare_config(
    cfg: Config,
    config_path: str,
    work_dir: str | None = None,
    launcher: str = "none",
    amp: bool = False,
    wandb: bool | None = None,
) -> Config:
    """Fills in what the command line decides: work dir, launcher, AMP, logging backends."""
    cfg.work_dir = work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(config_path).stem)
    cfg.launcher = launcher
    if wandb is not None:
        cfg.wandb = wandb
    backend = wandb_backend(cfg.get("wandb", False), cfg.work_dir)
    if backend is not None:
        cfg.visualizer.vis_backends = [*cfg.visualizer.get("vis_backends", []), backend]
    # mmengine keeps visualizers in a global registry by name; a unique name lets several Runners
    # (notebooks, tests, demo) live in one process without their backends colliding.
    cfg.visualizer.name = f"visualizer_{uuid.uuid4().hex[:12]}"
    if amp:
        if not torch.cuda.is_available():
            raise ConfigError(
                "--amp needs a CUDA GPU (mmengine's AmpOptimWrapper); drop --amp to train on CPU"
            )
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if launcher != "none" and not torch.cuda.is_available():
        _init_cpu_process_group(cfg)
    return cfg


def _init_cpu_process_group(cfg: Config) -> None:
    """Starts gloo before the Runner exists: mmengine's own init calls ``torch.cuda.set_device``."""
    cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "gloo"
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend="gloo")


def build_runner(cfg: Config) -> Runner:
    return Runner.from_cfg(cfg)


def evaluate_checkpoint(cfg: Config, checkpoint: str | None) -> dict[str, float]:
    """Test metrics of ``checkpoint`` on the config's test set and all ``extra_test_sets``.

    ``checkpoint`` may be None only for a model without parameters (a fixed baseline): anything else would be
    evaluated with its random initialization.
    """
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    cfg.load_from = checkpoint
    cfg.resume = False
    runner = build_runner(cfg)
    if checkpoint is None and any(True for _ in runner.model.parameters()):
        raise ValueError(
            f"{cfg.filename}: the model has learned parameters, so testing needs a checkpoint "
            "(only models without parameters, such as configs/baselines/, are tested without one)"
        )
    metrics = dict(runner.test())
    metrics.update(run_extra_test_sets(runner, cfg))
    return {key: float(value) for key, value in metrics.items()}


def run_extra_test_sets(runner: Runner, cfg: Config) -> dict:
    """Evaluates on each entry of ``extra_test_sets`` (``dataloader`` + ``evaluator``) with the loaded model.

    Metric ``prefix`` values in the evaluators key the results by dataset (e.g. ``davis_people/J&F``).
    """
    metrics = {}
    for test_set in cfg.get("extra_test_sets", []):
        loop = TestLoop(runner, test_set["dataloader"], test_set["evaluator"])
        metrics.update(loop.run())
    return metrics
