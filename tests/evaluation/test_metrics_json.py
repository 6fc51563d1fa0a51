import json
import math
from pathlib import Path

import numpy as np
import pytest

from steadyseg.evaluation import FlowTCMetric, VideoConsistencyMetric, metrics_json, undefined_reason
from tests.evaluation.helpers import clip, evaluate
from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]

VC_REASON = (
    "VideoConsistencyMetric: VC_n has no window to average: every video has at most n frames, or no pixel "
    "keeps its ground-truth label through any n-frame window"
)


def strict_loads(text: str):
    """``json.loads`` that rejects the ``NaN`` / ``Infinity`` Python's encoder writes by default."""

    def reject(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=reject)


def short_video_metrics() -> dict:
    """VC8 of one 8-frame video: no 8-frame window is scored (VSPW scores T - n windows), so VC8 is NaN."""
    frames = np.zeros((8, 2, 2), dtype=np.int64)
    metric = VideoConsistencyMetric(clip_nums=(8,), prefix="synthetic")
    metrics = evaluate(metric, [clip("v", range(8), frames, frames)])
    return {f"synthetic/{key}": value for key, value in metrics.items()}


def test_nan_metric_is_null_and_the_record_says_why():
    metrics = short_video_metrics()
    assert math.isnan(metrics["synthetic/VC8"])
    assert "NaN" in json.dumps(metrics)  # what tools/test.py wrote before
    record = strict_loads(metrics_json({**metrics, "synthetic/mIoU": 0.75}))
    assert record == {
        "synthetic/VC8": None,
        "synthetic/mVC": None,
        "synthetic/mIoU": 0.75,
        "undefined_metrics": {
            "synthetic/VC8": VC_REASON,
            "synthetic/mVC": "VideoConsistencyMetric: the mean of the VC_n, undefined when one of them is",
        },
    }


def test_every_metric_key_has_its_own_reason():
    assert undefined_reason("davis_people/J&F") == "DAVISMetric: no video was scored"
    assert undefined_reason("IoU.person").startswith("VideoIoUMetric: the class occurs in neither")
    assert undefined_reason("flicker_flow").startswith("FlickerMetric: no video has a pair")
    assert undefined_reason("flicker") == "FlickerMetric: no video has two frames"
    assert undefined_reason("train_minutes") == "not a finite number"
    single = evaluate(
        FlowTCMetric(num_classes=2), [dict(clip("v", [0], [[[0]]], [[[0]]]), gt_flow=np.zeros((0, 2, 1, 1)))]
    )
    assert math.isnan(single["TC"])
    assert strict_loads(metrics_json(single))["undefined_metrics"]["TC"].startswith("FlowTCMetric: no pair")


def test_nested_records_and_lists_say_why_where_the_value_is():
    record = {
        "config": "a.py",
        "metrics": {"VC8": math.nan, "mIoU": 0.5},
        "per_seed": [0.25, math.inf, [1.0, -math.inf]],
    }
    assert strict_loads(metrics_json(record)) == {
        "config": "a.py",
        "metrics": {"VC8": None, "mIoU": 0.5, "undefined_metrics": {"VC8": VC_REASON}},
        "per_seed": [0.25, None, [1.0, None]],
        "undefined_metrics": {"per_seed[1]": "not a finite number", "per_seed[2][1]": "not a finite number"},
    }
    assert "undefined_metrics" not in strict_loads(metrics_json({"mIoU": 0.5}))


def test_values_under_a_metric_key_get_that_metric_s_reason():
    # The benchmarks keep each metric as {mean, std, values} over seeds, and a list of records per model.
    record = {
        "results": {"per-frame": {"VC8": {"mean": math.nan, "std": 0.0, "values": [math.nan]}}},
        "targets": [{"name": "flicker cut", "value": math.nan}],
    }
    assert strict_loads(metrics_json(record)) == {
        "results": {
            "per-frame": {
                "VC8": {
                    "mean": None,
                    "std": 0.0,
                    "values": [None],
                    "undefined_metrics": {"mean": VC_REASON, "values[0]": VC_REASON},
                }
            }
        },
        "targets": [
            {"name": "flicker cut", "value": None, "undefined_metrics": {"value": "not a finite number"}}
        ],
    }
    # A key a metric claims keeps its own reason inside another metric's key.
    nested = strict_loads(metrics_json({"VC8": {"TC": math.nan}}))
    assert nested["VC8"]["undefined_metrics"]["TC"].startswith("FlowTCMetric: no pair")


def test_bad_record():
    with pytest.raises(ValueError, match="'undefined_metrics' is a key of the record"):
        metrics_json({"undefined_metrics": {}, "VC8": math.nan})
    with pytest.raises(TypeError, match="a record is a dict, got list"):
        metrics_json([math.nan])


def test_tools_test_writes_strict_json(tmp_path, monkeypatch):
    tool = load_script("tools/test.py")
    metrics = short_video_metrics()
    monkeypatch.setattr(tool, "evaluate_checkpoint", lambda cfg, checkpoint: metrics)
    out = tmp_path / "metrics.json"
    config = str(REPO_ROOT / "configs/smoke/per_frame_tiny.py")
    tool.main([config, "--out", str(out), "--work-dir", str(tmp_path / "work")])
    record = strict_loads(out.read_text())
    assert record["synthetic/VC8"] is None
    assert record["undefined_metrics"]["synthetic/VC8"] == VC_REASON


def test_latency_benchmark_writes_strict_json(tmp_path, monkeypatch):
    """One of the writers besides tools/test.py: a NaN in its record comes out as null with a reason."""
    benchmark = load_script("benchmarks/latency.py")
    latency = {"runtime": "onnxruntime", "threads": 1, "median_ms": 2.5, "check_max_abs_diff": math.nan}
    record = {"models": [{"config": "a.py", "latency": [latency]}], "table": "| model |"}
    monkeypatch.setattr(benchmark, "run_benchmark", lambda *args, **kwargs: record)
    out = tmp_path / "latency.json"
    benchmark.main(["--configs", "a.py", "--out", str(out)])
    written = strict_loads(out.read_text())["models"][0]["latency"][0]
    assert written["check_max_abs_diff"] is None and written["median_ms"] == 2.5
    assert written["undefined_metrics"] == {"check_max_abs_diff": "not a finite number"}
