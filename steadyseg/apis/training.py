"""Turning a loaded config into a Runner for training or testing, and running extra test sets."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from steadyseg import compat
from steadyseg.apis.checkpoint import CheckpointError, load_weights, read_checkpoint
from steadyseg.config import ConfigError, naming_config_errors
from steadyseg.datasets.errors import VideoDataError
from steadyseg.engine import POINTER, VideoTestLoop

# Errors in what the user gave (config, checkpoint, data, a missing file): each names the file at fault, so the
# tools print the message, not a traceback.
USER_ERRORS = (ConfigError, CheckpointError, VideoDataError, FileNotFoundError)


class ConfigOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser, with a usage error (not a traceback) for an item without ``=``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if "=" not in item:
                raise argparse.ArgumentError(self, f"{item!r} is not KEY=VALUE")
        super().__call__(parser, namespace, values, option_string)


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``, so a bad size or count is a usage error before any build."""

    def integer(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return integer


def positive(text: str) -> float:
    """An argparse type: a float > 0 (a tolerance, a scale)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value:g}")
    return value


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """The options tools/train.py and tools/test.py share: work dir, launcher and config overrides."""
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=ConfigOptionsAction,
        metavar="KEY=VALUE",
        help="override config keys (a.b=value); helper variables such as max_iters reach every field computed "
        "from them",
    )
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


class SteadysegRunner(Runner):
    """mmengine's Runner, loading checkpoints strictly, naming the config in build errors, quiet on the console.

    * ``load_from`` (and resuming) loads every weight or fails with one error naming the checkpoint, the config
      and the keys at fault; ``partial_load = True`` (``tools/train.py --partial-load``) loads the weights that
      fit and lists the rest (fine-tuning).
    * The environment report, the ~400-line config dump and the hook order go to the log file only, and known
      mmengine noise nowhere (steadyseg/compat.py).
    * A training shorter than a phase of its schedule is refused naming the phase (:func:`_check_schedule_fits`).
    """

    def train(self):
        _check_schedule_fits(self.cfg)
        return super().train()

    def build_model(self, model):
        with naming_config_errors(self.cfg):
            return super().build_model(model)

    def load_or_resume(self) -> None:
        # mmengine would read the pointer itself (relative to the current directory, not the work dir) and start
        # from scratch without one; ``resume = True`` with nothing to resume is an error instead.
        if self._resume and self._load_from is None:
            self._load_from = str(last_checkpoint(self.work_dir))
        super().load_or_resume()

    def load_checkpoint(self, filename: str, map_location="cpu") -> dict:
        checkpoint = read_checkpoint(filename, map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_weights(
            model, checkpoint, filename, self.cfg.filename, partial=self.cfg.get("partial_load", False)
        )
        self._has_loaded = True
        self.logger.info(f"Loaded checkpoint {filename}")
        return checkpoint

    def build_logger(self, log_level="INFO", log_file=None, **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        logger.addFilter(compat.drop_known_log_lines)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.addFilter(_file_only)
        logger.info(
            f"Environment, config and hooks: {log_file or Path(self.log_dir) / f'{self.timestamp}.log'}"
        )
        return logger


# mmengine's Runner logs these blocks (~500 lines for a config); the log file keeps them.
_FILE_ONLY_PREFIXES = ("Config:\n", "\n" + "-" * 60 + "\nSystem environment:", "Hooks will be executed")


def _file_only(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_FILE_ONLY_PREFIXES)


def build_runner(cfg: Config) -> Runner:
    return SteadysegRunner.from_cfg(cfg)


def _check_schedule_fits(cfg: Config) -> None:
    """A training shorter than a phase of its iteration-based schedule (e.g. ``--iters`` under the warm-up) would
    fail deep in mmengine ("end should be larger than begin"): refused here, naming the phase and the length."""
    schedulers = cfg.get("param_scheduler") or []
    for index, scheduler in enumerate(schedulers if isinstance(schedulers, list) else [schedulers]):
        begin, end = scheduler.get("begin", 0), scheduler.get("end")
        if not scheduler.get("by_epoch", True) and end is not None and end <= begin:
            max_iters = (cfg.get("train_cfg") or {}).get("max_iters")
            raise ConfigError(
                f"{cfg.filename}: param_scheduler[{index}] ({scheduler.get('type')}) begins at iteration {begin} "
                f"and ends at {end}: a training of {max_iters} iterations is shorter than the schedule's earlier "
                "phases (its warm-up); train for more iterations or shorten them"
            )


def last_checkpoint(work_dir: str | Path) -> Path:
    """The checkpoint ``<work_dir>/last_checkpoint`` points at.

    The pointer is relative to the work dir (steadyseg's CheckpointHook), so a copied work dir resumes from its
    own checkpoints. mmengine's absolute pointers are read too; one that names another directory is taken to
    mean the file of that name here when it exists (a copied work dir).
    """
    work_dir = Path(work_dir)
    pointer = work_dir / POINTER
    if not pointer.is_file():
        raise FileNotFoundError(f"{pointer} not found: no checkpoint to resume in work dir {work_dir}")
    text = pointer.read_text().strip()
    if not text:
        raise FileNotFoundError(f"{pointer} is empty: no checkpoint to resume in work dir {work_dir}")
    target = Path(text)
    if target.is_absolute() and (work_dir / target.name).is_file():
        target = work_dir / target.name
    elif not target.is_absolute():
        target = work_dir / target
    if not target.is_file():
        raise FileNotFoundError(f"{pointer} points at {target}, which does not exist")
    return target


def run_cli(main: Callable[[], object]) -> None:
    """Runs a tool's ``main``; an error in the user's config, checkpoint or data is one line, not a traceback."""
    try:
        main()
    except USER_ERRORS as error:
        sys.exit(f"error: {error}")


def evaluate_checkpoint(cfg: Config, checkpoint: str | None) -> dict[str, float]:
    """Test metrics of ``checkpoint`` on the config's test set and all ``extra_test_sets``.

    ``checkpoint`` may be None only for a model without parameters (a fixed baseline): anything else would be
    evaluated with its random initialization. Its weights must fit the model exactly (see SteadysegRunner).
    """
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    cfg.load_from = checkpoint
    cfg.resume = False
    # A fine-tuning config's partial loading never applies to scoring: every weight must come from the checkpoint.
    cfg.partial_load = False
    runner = build_runner(cfg)
    if checkpoint is None and any(True for _ in runner.model.parameters()):
        raise ConfigError(
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
        loop = VideoTestLoop(runner, test_set["dataloader"], test_set["evaluator"])
        metrics.update(loop.run())
    return metrics
