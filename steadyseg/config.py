"""Loading configs: ``_base_`` depth is limited and unknown top-level keys are errors.

mmengine's Runner silently ignores top-level keys it does not know, so a typo such as
``trian_dataloader`` would train with a default. Every top-level key must be a Runner argument, a
steadyseg key, a conventional helper variable, or a private helper starting with ``_``.
Unknown keys inside components fail when the registry builds them (the constructor names the key).
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

from mmengine.config import Config

RUNNER_KEYS = {
    "model",
    "work_dir",
    "train_dataloader",
    "val_dataloader",
    "test_dataloader",
    "train_cfg",
    "val_cfg",
    "test_cfg",
    "auto_scale_lr",
    "optim_wrapper",
    "param_scheduler",
    "val_evaluator",
    "test_evaluator",
    "default_hooks",
    "custom_hooks",
    "data_preprocessor",
    "load_from",
    "resume",
    "launcher",
    "env_cfg",
    "log_processor",
    "log_level",
    "visualizer",
    "default_scope",
    "randomness",
    "experiment_name",
    "model_wrapper_cfg",
}
STEADYSEG_KEYS = {"wandb", "extra_test_sets"}
HELPER_VARIABLES = {
    "norm_cfg",
    "crop_size",
    "data_root",
    "dataset_type",
    "num_classes",
    "clip_len",
    "train_pipeline",
    "val_pipeline",
    "test_pipeline",
    "backend_args",
    "vis_backends",
    "max_iters",
    "val_interval",
}
KNOWN_KEYS = RUNNER_KEYS | STEADYSEG_KEYS | HELPER_VARIABLES
MAX_BASE_DEPTH = 2


class ConfigError(ValueError):
    """A config that cannot be used as written; the message names the file and the key."""


def _base_files(path: Path) -> list[Path]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / name).resolve() for name in names]
    return []


def _check_base_depth(path: Path, depth: int = 0) -> None:
    if depth > MAX_BASE_DEPTH:
        raise ConfigError(f"{path}: _base_ inheritance is deeper than {MAX_BASE_DEPTH} levels")
    for base in _base_files(path):
        if not base.is_file():
            raise ConfigError(f"{path}: _base_ file {base} does not exist")
        _check_base_depth(base, depth + 1)


def check_keys(cfg: Config, source: str) -> None:
    for key in cfg:
        if key in KNOWN_KEYS or key.startswith("_"):
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"{source}: unknown config key '{key}'{hint}. Helper variables must start with '_' "
            f"or be one of: {', '.join(sorted(HELPER_VARIABLES))}"
        )


def load_config(path: str | Path, cfg_options: dict | None = None) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    _check_base_depth(path.resolve())
    cfg = Config.fromfile(str(path))
    check_keys(cfg, str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
        check_keys(cfg, f"{path} with --cfg-options")
    return cfg
