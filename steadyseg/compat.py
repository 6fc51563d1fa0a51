"""The one place that papers over gaps in the dependency stack (see DESIGN.md, "Dependencies").

* mmcv-lite ships no compiled ops, yet ``import mmseg.models`` imports ``mmcv.ops``. When the compiled
  extension is missing, ``mmcv.ops`` is replaced by a module whose every attribute is a placeholder that
  raises :class:`MissingCompiledOpError` naming the op as soon as it is called or instantiated. Nothing
  in steadyseg's own models uses those ops, so a model that does fail loudly rather than at import.
* torch >= 2.6 loads checkpoints with ``weights_only=True``. mmengine checkpoints carry a few extra
  globals (its message hub history, numpy scalars and arrays); exactly those are allowed, and safe
  loading stays on for everything else. mmengine's ``HistoryBuffer`` pickles its table of statistics
  methods, which needs ``getattr`` (never safe to allow); it is pickled from its data alone instead.
* Known, harmless messages of the stack are silenced here and nowhere else, each by its exact text, so any
  other warning still shows: Python warnings raised while mmcv / mmseg build our models
  (:data:`KNOWN_WARNINGS`), and mmengine log lines about its own deprecations and registry fallbacks
  (:data:`KNOWN_LOG_LINES`, through :func:`drop_known_log_lines`, which the Runner adds to its logger).
* mmengine runs yapf over a config's whole text each time it logs, dumps or checkpoints the config: five times
  or more per run, up to a second each for our configs on 2 cores. A text always formats the same, so each
  distinct text is formatted once per process (:func:`format_config_code`).
"""

from __future__ import annotations

import copyreg
import functools
import importlib
import logging
import sys
import types
import warnings

_applied = False

# (message regex matched at the start, module that warns). Each one is about the stack, not about a model.
KNOWN_WARNINGS = [
    # mmcv-lite has no compiled ops (handled below); we use no deformable attention.
    (r"Fail to import ``MultiScaleDeformableAttention``", r"mmcv\.cnn\.bricks\.transformer"),
    # mmcv's HSigmoid defaults changed in 2022; mmseg's MobileNetV3 relies on the new ones.
    (r"In MMCV v1\.4\.4, we modified the default value of args", r"mmcv\.cnn\.bricks\.hsigmoid"),
    # Our people models are two-class (background, person) softmax models on purpose.
    (r"For binary segmentation, we suggest using", r"mmseg\.models\.decode_heads\.decode_head"),
    # mmseg's own heads still call its deprecated build_loss.
    (r"``build_loss`` would be deprecated soon", r"mmseg\.models\.builder"),
]
KNOWN_LOG_LINES = (
    # steadyseg has no registries of these kinds; mmengine's own are the right ones.
    'Failed to search registry with scope "steadyseg" in the "optimizer wrapper constructor" registry tree',
    'Failed to search registry with scope "steadyseg" in the "weight initializer" registry tree',
    # mmengine's CheckpointHook uses its own deprecated FileClient.
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


def drop_known_log_lines(record: logging.LogRecord) -> bool:
    """A logging filter: False for the known mmengine lines."""
    return not record.getMessage().startswith(KNOWN_LOG_LINES)


def _filter_known_warnings() -> None:
    for message, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=UserWarning, module=module)


class MissingCompiledOpError(RuntimeError):
    """Raised when code calls an mmcv op that needs the compiled extension (full mmcv)."""


def _missing_op(name: str) -> type:
    message = (
        f"mmcv.ops.{name} needs mmcv's compiled extension, but the installed mmcv (probably mmcv-lite) "
        f"has none. Install full mmcv (pip install 'mmcv>=2.0.0rc4,<2.2.0', which builds from source) "
        f"to use a model that needs '{name}'."
    )

    class MissingOp:
        def __new__(cls, *args, **kwargs):
            raise MissingCompiledOpError(message)

    MissingOp.__name__ = MissingOp.__qualname__ = name
    MissingOp.__doc__ = message
    return MissingOp


def _stub_missing_mmcv_ops() -> None:
    try:
        importlib.import_module("mmcv.ops")
        return
    except ModuleNotFoundError as error:
        if error.name != "mmcv._ext":
            raise
    sys.modules.pop("mmcv.ops", None)
    stub = types.ModuleType("mmcv.ops", doc="Placeholders for mmcv ops missing from mmcv-lite.")
    stub.__path__ = []  # a package, so ``import mmcv.ops.xyz`` fails with a clear ModuleNotFoundError

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        placeholder = _missing_op(name)
        setattr(stub, name, placeholder)
        return placeholder

    stub.__getattr__ = __getattr__
    sys.modules["mmcv.ops"] = stub
    import mmcv

    mmcv.ops = stub


def _reduce_history_buffer(buffer):
    return type(buffer), (buffer._log_history, buffer._count_history, buffer.max_length)


def _allow_checkpoint_globals() -> None:
    import numpy as np
    import torch
    from mmengine.logging.history_buffer import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    # The message hub's buffers hold float64/int64 numpy arrays; meta holds numpy scalars.
    multiarray = (np._core if hasattr(np, "_core") else np.core).multiarray  # numpy 2 renamed core to _core
    numpy_globals = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    numpy_globals += [type(np.dtype(name)) for name in ("float64", "float32", "int64", "int32", "bool")]
    torch.serialization.add_safe_globals([HistoryBuffer, *numpy_globals])


@functools.lru_cache(maxsize=64)
def format_config_code(text: str, style: tuple[tuple[str, object], ...]) -> tuple[str, bool]:
    """yapf's ``FormatCode(text, style_config=dict(style))``, remembered (its result is an immutable tuple)."""
    from yapf.yapflib.yapf_api import FormatCode

    return FormatCode(text, style_config=dict(style))


def _format_each_config_text_once() -> None:
    import mmengine.config.config as config_module

    format_code = config_module.FormatCode

    def format_once(text, style_config=None, **options):
        if options or not isinstance(style_config, dict):  # old yapf's verify=True, or a style file
            return format_code(text, style_config=style_config, **options)
        return format_config_code(text, tuple(sorted(style_config.items())))

    config_module.FormatCode = format_once


def apply() -> None:
    global _applied
    if _applied:
        return
    _filter_known_warnings()  # first: importing mmcv.ops already warns
    _stub_missing_mmcv_ops()
    _allow_checkpoint_globals()
    _format_each_config_text_once()
    _applied = True
