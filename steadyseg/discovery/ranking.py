"""The failure score that ranks segments: a weighted mean of their ground-truth-free signals.

``failure = sum_s w_s x_s / sum_s w_s`` over the signals ``s`` with a weight that the segment has (a segment
of one frame has no flicker; without a teacher there is no disagreement), each ``x_s`` in [0, 1] (``margin``
enters as ``1 - margin``, so every term grows with the failure; ``novelty`` in [0, 2]). A segment with none of
the weighted signals scores NaN and ranks last.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .errors import DiscoveryError
from .signals import SIGNALS

# Motion-compensated flicker, uncertainty and disagreement with the teacher (when there is one) weigh the same:
# each says on its own that a prediction is unreliable. Each enters relative to the person (``*_iou``), as the
# error it stands for is measured: the frame means rank a large, well-found person as a failure (signals.py).
# Plain flicker also counts moving people, and area is a filter rather than a failure.
DEFAULT_WEIGHTS = {"flicker_iou": 1.0, "uncertainty_iou": 1.0, "disagreement_iou": 1.0}
SCORED = (*SIGNALS, "novelty")
# Terms that fall as the failure grows enter as 1 - x.
INVERTED = ("margin",)


def _checked_weight(name: str, value, where: str) -> float:
    """``value`` as a weight of signal ``name``; an error starts with ``where``."""
    if name not in SCORED:
        raise DiscoveryError(f"{where}: unknown signal {name!r} (one of {', '.join(SCORED)})")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DiscoveryError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise DiscoveryError(f"{where}: a weight must be a finite number >= 0")
    return value


def config_weights(discovery: Mapping | None, source: str) -> dict[str, float]:
    """:data:`DEFAULT_WEIGHTS` updated by a config's ``discovery = dict(weights=dict(NAME=VALUE, ...))``, so a
    team's ranking travels with its model config (None: the defaults; a weight of 0 drops a signal). Errors name
    ``source`` (the config file) and the key at fault."""
    weights = dict(DEFAULT_WEIGHTS)
    if discovery is None:
        return weights
    if not isinstance(discovery, Mapping) or set(discovery) - {"weights"}:
        raise DiscoveryError(
            f"{source}: 'discovery' must be dict(weights=dict(NAME=VALUE, ...)), got {discovery!r}"
        )
    table = discovery.get("weights", {})
    if not isinstance(table, Mapping):
        raise DiscoveryError(f"{source}: discovery.weights must be a dict of NAME=VALUE, got {table!r}")
    for name, value in table.items():
        weights[name] = _checked_weight(name, value, f"{source}: discovery.weights.{name}")
    return weights


def parse_weights(items: Iterable[str], defaults: Mapping[str, float] = DEFAULT_WEIGHTS) -> dict[str, float]:
    """``defaults`` updated by ``NAME=VALUE`` items (a weight of 0 drops a signal); an error names a bad item."""
    weights = dict(defaults)
    for item in items:
        name, separator, text = item.partition("=")
        if not separator:
            raise DiscoveryError(f"--weight {item!r}: expected NAME=VALUE")
        weights[name] = _checked_weight(name, text, f"--weight {item!r}")
    return {name: value for name, value in weights.items() if value > 0}


def failure_score(signals: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """One segment's (or frame's) failure score from its signals (see the module docstring)."""
    total = weight_sum = 0.0
    for name, weight in weights.items():
        value = signals.get(name)
        if value is None or math.isnan(value):
            continue
        total += weight * (1.0 - value if name in INVERTED else value)
        weight_sum += weight
    return total / weight_sum if weight_sum else math.nan


def top_k(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` highest scores, highest first (ties keep their order; NaN never before a number)."""
    scores = np.asarray(scores, dtype=np.float64)
    keys = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-keys, kind="stable")
    return [int(i) for i in order[:k]]
