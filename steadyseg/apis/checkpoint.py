"""Reading checkpoints and loading their weights strictly, or partially on request (fine-tuning).

mmengine loads non-strictly and only warns, so a checkpoint of another model (no key in common, or
every shape different) would be scored or run with random weights. Here a mismatch is one error that
names the checkpoint, the config and the first keys at fault; ``partial=True`` loads what fits and says
what it skipped.
"""

from __future__ import annotations

import logging
import pickle
import re
import zipfile
from pathlib import Path

import torch
from mmengine.logging import print_log

SHOWN_KEYS = 5


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or whose weights do not fit the model; names the file."""


def read_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """The checkpoint dict at ``path`` (safe loading, see steadyseg/compat.py)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        # torch's own messages ("PytorchStreamReader failed reading zip archive") name no file.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"checkpoint {path} cannot be read, truncated or not a checkpoint ({reason})"
        ) from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(checkpoint).__name__}, not a dict of weights")
    return checkpoint


def load_weights(
    model: torch.nn.Module, checkpoint: dict, path: str | Path, config: str | Path, partial: bool = False
) -> None:
    """Loads ``checkpoint``'s state dict (read from ``path``) into ``model`` (built from ``config``).

    Every key must match in name and shape unless ``partial``; then the matching ones are loaded, the
    others are listed in a warning, and a checkpoint with nothing in common is still an error.
    """
    state = checkpoint.get("state_dict", checkpoint)
    # DDP-wrapped models save their weights under "module." (mmengine strips it the same way).
    state = {re.sub(r"^module\.", "", key): value for key, value in state.items()}
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshaped = [
        f"{key} {tuple(state[key].shape)} vs {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and hasattr(state[key], "shape") and state[key].shape != value.shape
    ]
    problems = _describe(missing, unexpected, misshaped)
    if not problems:
        model.load_state_dict(state, strict=True)
        return
    fitting = {
        key: value
        for key, value in state.items()
        if key in expected and hasattr(value, "shape") and value.shape == expected[key].shape
    }
    mismatch = f"checkpoint {path} does not fit the model of {config}: {problems}"
    if not fitting:
        raise CheckpointError(f"{mismatch}; nothing in common: is it a checkpoint of this model?")
    if not partial:
        raise CheckpointError(
            f"{mismatch}; to fine-tune from the weights that fit, load it partially "
            "(tools/train.py --partial-load, or partial_load = True)"
        )
    model.load_state_dict(fitting, strict=False)
    print_log(
        f"partial load of {path}: {len(fitting)} of {len(expected)} weights loaded; skipped {problems}",
        logger="current",
        level=logging.WARNING,
    )


def _describe(missing: list[str], unexpected: list[str], misshaped: list[str]) -> str:
    parts = []
    for name, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("mis-shaped (checkpoint vs model)", misshaped),
    ):
        if keys:
            more = f", ... ({len(keys) - SHOWN_KEYS} more)" if len(keys) > SHOWN_KEYS else ""
            parts.append(f"{len(keys)} {name}: {', '.join(keys[:SHOWN_KEYS])}{more}")
    return "; ".join(parts)
