"""``metrics_json``: records of metrics as strict JSON, with the reason for every metric that has no value.

JSON has no NaN or infinity (Python's ``json`` writes them as bare ``NaN``, which other readers reject), and a
metric is NaN when there is nothing to score: VC_n of videos no longer than ``n`` frames, flow TC without a
pair of frames. Every JSON file the project writes (``tools/test.py``, ``tools/demo.py``, the benchmarks, the
latency profiler, the inference summary, the export report) goes through :func:`metrics_json`, so such a value
is written as ``null`` and the record says why.
"""

from __future__ import annotations

import json
import math
from fnmatch import fnmatchcase

from steadyseg.registry import METRICS

UNDEFINED_KEY = "undefined_metrics"
UNCLAIMED_REASON = "not a finite number"


def _claimed_reason(key: str) -> str | None:
    name = key.rsplit("/", 1)[-1]
    for metric in METRICS.module_dict.values():
        for pattern, reason in getattr(metric, "undefined_when", {}).items():
            if fnmatchcase(name, pattern):
                return f"{metric.__name__}: {reason}"
    return None


def undefined_reason(key: str) -> str:
    """Why the metric ``key`` (``prefix/name`` or ``name``) has no value, as its metric class declares it.

    A metric class declares ``undefined_when``: metric names (``fnmatch`` patterns, e.g. ``'VC*'``) mapped to
    when that metric is undefined. A key no registered metric claims gets a generic reason.
    """
    return _claimed_reason(key) or UNCLAIMED_REASON


def _nested_reason(keys: tuple[str, ...]) -> str:
    """The reason of the innermost of ``keys`` (outermost first) that a metric claims: a value kept under a
    metric's key (``{"VC8": {"mean": nan}}``, as the benchmarks summarize seeds) is undefined for its reason."""
    for key in reversed(keys):
        reason = _claimed_reason(key)
        if reason is not None:
            return reason
    return UNCLAIMED_REASON


def metrics_json(record: dict, indent: int | None = 2) -> str:
    """Strict JSON text of ``record``: a dict of metrics, or a dict holding such dicts and lists.

    A float that is not finite becomes ``null``, and the dict that holds it (for an item of a list: the dict
    that holds the list) gains an ``undefined_metrics`` entry mapping its key (``key[i]`` for a list item) to
    :func:`undefined_reason` of that key, or of the innermost enclosing key a metric claims when the key itself
    is not a metric's (``{"VC8": {"mean": nan, "values": [nan]}}``: both get VC8's reason).
    ``allow_nan=False`` guarantees the text is JSON.
    """
    if not isinstance(record, dict):
        raise TypeError(f"metrics_json: a record is a dict, got {type(record).__name__}")
    return json.dumps(_strict_dict(record, ()), indent=indent, allow_nan=False)


def _is_undefined(value) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _strict_dict(record: dict, enclosing: tuple[str, ...]) -> dict:
    if UNDEFINED_KEY in record:
        raise ValueError(
            f"metrics_json: {UNDEFINED_KEY!r} is a key of the record; it is kept for the reasons"
        )
    strict, undefined = {}, {}
    for key, value in record.items():
        keys = (*enclosing, str(key))
        if _is_undefined(value):
            strict[key], undefined[key] = None, _nested_reason(keys)
        elif isinstance(value, (list, tuple)):
            strict[key], positions = _strict_list(value, keys)
            for position in positions:
                undefined[f"{key}{position}"] = _nested_reason(keys)
        else:
            strict[key] = _strict_dict(value, keys) if isinstance(value, dict) else value
    if undefined:
        strict[UNDEFINED_KEY] = undefined
    return strict


def _strict_list(items: list | tuple, enclosing: tuple[str, ...]) -> tuple[list, list[str]]:
    """The items with non-finite floats as None, and the positions (``[i]``, ``[i][j]``) of those."""
    strict, positions = [], []
    for index, item in enumerate(items):
        if _is_undefined(item):
            strict.append(None)
            positions.append(f"[{index}]")
        elif isinstance(item, (list, tuple)):
            inner, inner_positions = _strict_list(item, enclosing)
            strict.append(inner)
            positions += [f"[{index}]{position}" for position in inner_positions]
        else:
            strict.append(_strict_dict(item, enclosing) if isinstance(item, dict) else item)
    return strict, positions
