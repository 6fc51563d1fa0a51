"""Loading configs: ``_base_`` depth is limited, unknown top-level keys are errors, overrides reach every use.

mmengine's Runner silently ignores top-level keys it does not know, so a typo such as
``trian_dataloader`` would train with a default. Every top-level key must be a Runner argument, a
steadyseg key, a conventional helper variable, or a private helper starting with ``_``.
Unknown keys inside components fail when the registry builds them; :func:`naming_config_errors` turns
that failure into an error naming the config file, the component's ``type`` and the key.

A config file is Python: ``train_cfg = dict(max_iters=max_iters)`` copies the value of ``max_iters``
when the file is evaluated, so merging ``max_iters=2`` into the loaded config afterwards would change
nothing that trains. An override of a top-level variable that the config files read is therefore
injected into the files themselves (right after every statement that binds it) and the config is
evaluated again; an override of a helper variable that nothing reads is refused.

Configs name the real data as ``{{$STEADYSEG_SHARED_DATA:../shared/data}}``; :func:`load_config` points that
variable at the folder beside the checkout when it is unset, so a config reads the same data from any working
directory.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mmengine.config import Config

from steadyseg.registry import MODELS

SHARED_DATA_VARIABLE = "STEADYSEG_SHARED_DATA"


def shared_data_root() -> Path:
    """``$STEADYSEG_SHARED_DATA``, else ``../shared/data`` beside the checkout (read in place, never copied)."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get(SHARED_DATA_VARIABLE, default))


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
STEADYSEG_KEYS = {"wandb", "extra_test_sets", "partial_load", "discovery"}
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


@dataclass
class _ConfigFile:
    """One file of a config's ``_base_`` tree, parsed once."""

    path: Path
    tree: ast.Module

    @property
    def bound(self) -> set[str]:
        return {name for stmt in self.tree.body for name in _bound_names(stmt)}

    @property
    def read(self) -> set[str]:
        names = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
            # ``_base_.x`` and mmengine's ``{{_base_.x}}`` read a variable of a base file.
            elif isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "_base_":
                names.add(node.attr)
        return names


def _bound_names(stmt: ast.stmt) -> set[str]:
    return {
        node.id for node in ast.walk(stmt) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def _base_files(config: _ConfigFile) -> list[Path]:
    for node in config.tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(config.path.parent / name).resolve() for name in names]
    return []


def _parse(path: Path) -> _ConfigFile:
    return _ConfigFile(path, ast.parse(path.read_text(), filename=str(path)))


def _config_files(leaf: Path) -> list[_ConfigFile]:
    """The leaf config and every file of its ``_base_`` tree; errors name the leaf and the chain."""
    files = []

    def visit(chain: list[Path]) -> None:
        if len(chain) - 1 > MAX_BASE_DEPTH:
            names = " -> ".join(p.name for p in chain)
            raise ConfigError(f"{leaf}: _base_ inheritance is deeper than {MAX_BASE_DEPTH} levels ({names})")
        config = _parse(chain[-1])
        files.append(config)
        for base in _base_files(config):
            if not base.is_file():
                raise ConfigError(f"{leaf}: {base} does not exist (a _base_ of {chain[-1]})")
            visit([*chain, base])

    visit([leaf.resolve()])
    return files


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


def _override_statement(key: str, value, source: Path) -> ast.stmt:
    """``name = value`` for ``key`` 'name', ``name.setdefault('a', {})[0]['b'] = value`` for 'name.a.0.b'."""
    text = repr(value)
    try:
        literal = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        literal = False
    if not literal:
        raise ConfigError(
            f"{source}: --cfg-options {key}: {text} cannot be written into the config as a literal"
        )
    name, *parts = key.split(".")
    target: ast.expr = ast.Name(name, ast.Store())
    if parts:
        target = ast.Name(name, ast.Load())
        for part in parts[:-1]:
            # Child configs hold partial dicts (merged into their bases' later), so a level may be missing.
            target = (
                ast.Subscript(target, ast.Constant(int(part)), ast.Load())
                if part.isdigit()
                else ast.Call(
                    ast.Attribute(target, "setdefault", ast.Load()),
                    [ast.Constant(part), ast.Dict([], [])],
                    [],
                )
            )
        last = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
        target = ast.Subscript(target, ast.Constant(last), ast.Store())
    return ast.Assign([target], ast.parse(text, mode="eval").body)


def _with_file_variables(text: str, path: Path) -> str:
    """mmengine's ``{{ fileDirname }}``-style variables filled in for ``path``: the copy that is evaluated lives
    in a temporary folder, and a path built from them (a teacher's config, say) must point where the original
    does."""
    values = {
        "fileDirname": str(path.parent),
        "fileBasename": path.name,
        "fileBasenameNoExtension": path.stem,
        "fileExtname": path.suffix,
    }
    for name, value in values.items():
        text = re.sub(r"\{\{\s*" + name + r"\s*\}\}", value.replace("\\", "/"), text)
    return text


def _load_with_overrides(leaf: Path, files: list[_ConfigFile], overrides: dict) -> Config:
    """Evaluates the config with every override applied right after each top-level statement binding its name."""
    root = Path(os.path.commonpath([config.path.parent for config in files]))
    with tempfile.TemporaryDirectory(prefix="steadyseg_config_") as temp:
        for config in files:
            body = []
            for stmt in config.tree.body:
                body.append(stmt)
                bound = _bound_names(stmt)
                body += [
                    _override_statement(key, value, leaf)
                    for key, value in overrides.items()
                    if key.split(".")[0] in bound
                ]
            copy = Path(temp) / config.path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if len(body) == len(config.tree.body):
                text = config.path.read_text()
            else:
                # unparse needs line numbers on the inserted statements, though it prints none.
                text = ast.unparse(ast.fix_missing_locations(ast.Module(body, [])))
            copy.write_text(_with_file_variables(text, config.path))
        try:
            evaluated = Config.fromfile(str(Path(temp) / files[0].path.relative_to(root)))
        except Exception as error:  # whatever the override broke, name the real file and the overrides
            raise ConfigError(f"{leaf} with --cfg-options {', '.join(overrides)}: {error}") from error
    # Named after the real file: the Runner names its config dump and experiment after it.
    return Config(evaluated.to_dict(), filename=str(leaf))


def _lookup(cfg, key: str):
    value = cfg
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, (list, tuple)) else value[part]
    return value


def load_config(path: str | Path, cfg_options: dict | None = None) -> Config:
    """Loads ``path`` with ``cfg_options`` ({'a.b': value}) applied wherever the config uses them.

    Overrides of helper variables, and of any top-level key another one is computed from (such as
    ``test_dataloader = val_dataloader``), are evaluated into the files; the others are merged into the
    result. An override of a helper variable that changes no other value is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    # mmengine falls back to the config's relative default, which would be resolved against the working
    # directory: a benchmark or notebook started elsewhere would look for the data in the wrong place.
    os.environ.setdefault(SHARED_DATA_VARIABLE, str(shared_data_root()))
    files = _config_files(path)
    options = dict(cfg_options or {})
    bound = set().union(*(config.bound for config in files))
    read = set().union(*(config.read for config in files))
    helpers = {key: value for key, value in options.items() if _is_helper(key.split(".")[0])}
    for key in helpers:
        if key.split(".")[0] not in bound:
            raise ConfigError(
                f"{path}: --cfg-options {key}: helper variable '{key.split('.')[0]}' is not set in the config "
                "or its bases, so the override would change nothing"
            )
    injected = {key: value for key, value in options.items() if key in helpers or key.split(".")[0] in read}
    cfg = _load_with_overrides(path, files, injected) if injected else Config.fromfile(str(path))
    for key, value in injected.items():
        if _lookup(cfg, key) != value:
            raise ConfigError(
                f"{path}: --cfg-options {key}={value!r} did not take effect "
                f"(the config changes '{key.split('.')[0]}' after assigning it); set the fields that use it"
            )
    if helpers:
        _check_helpers_are_used(path, files, helpers)
    check_keys(cfg, str(path))
    merged = {key: value for key, value in options.items() if key not in injected}
    if merged:
        cfg.merge_from_dict(merged)
        check_keys(cfg, f"{path} with --cfg-options")
    return cfg


def _is_helper(name: str) -> bool:
    return name in HELPER_VARIABLES or name.startswith("_")


def _used_values(cfg: dict) -> dict:
    """The keys that reach the Runner or the tools: everything but helper variables."""
    return {key: value for key, value in cfg.items() if not _is_helper(key)}


def _check_helpers_are_used(path: Path, files: list[_ConfigFile], helpers: dict) -> None:
    """Refuses a helper override that changes no other value, e.g. a variable a child config no longer uses."""
    original = Config.fromfile(str(path)).to_dict()
    for key, value in helpers.items():
        try:
            unchanged = _lookup(original, key) == value
        except (KeyError, IndexError, TypeError):
            unchanged = False
        if unchanged:
            continue
        alone = _load_with_overrides(path, files, {key: value}).to_dict()
        if _used_values(alone) == _used_values(original):
            raise ConfigError(
                f"{path}: --cfg-options {key}: no config value uses helper variable '{key.split('.')[0]}' "
                "(a later file sets those fields itself), so the override would change nothing; override the "
                "fields themselves"
            )


@contextmanager
def naming_config_errors(cfg: Config) -> Iterator[None]:
    """Turns a misspelled component key, met while building from ``cfg``, into an error naming file and component.

    mmengine reports it as the constructor's ``unexpected keyword argument``, wrapped in the classes that built
    it: the config file and where in ``model`` the key sits are lost. Other errors pass unchanged.
    """
    try:
        yield
    except TypeError as error:
        match = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        found = [c for c in _components(cfg.get("model"), "model") if match and match.group(1) in c[1]]
        if not found:
            raise
        # Several components may take the key: prefer the one whose class raised.
        raising = [c for c in found if f"{_type_name(c[1]['type'])}.__init__()" in str(error)]
        where, component = (raising or found)[-1]
        key = match.group(1)
        raise ConfigError(
            f"{cfg.filename}: unknown key '{key}' in {where} (type={_type_name(component['type'])!r})"
            f"{_closest_argument(component['type'], key)}"
        ) from error


def _type_name(type_) -> str:
    return type_.split(".")[-1] if isinstance(type_, str) else type_.__name__


def _components(value, where: str) -> Iterator[tuple[str, dict]]:
    """(where, dict) of every dict with a ``type`` inside ``value``, outermost first."""
    if isinstance(value, dict):
        if "type" in value:
            yield where, value
        for key, item in value.items():
            yield from _components(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _components(item, f"{where}[{index}]")


def _closest_argument(type_, key: str) -> str:
    cls = MODELS.get(type_) if isinstance(type_, str) else type_
    if cls is None:
        return ""
    # Subclasses often pass **kwargs on, so the base classes' arguments are valid keys too.
    names = {
        name
        for klass in cls.__mro__
        if "__init__" in vars(klass) and inspect.isfunction(klass.__init__)
        for name, parameter in inspect.signature(klass.__init__).parameters.items()
        if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }
    close = difflib.get_close_matches(key, sorted(names), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
