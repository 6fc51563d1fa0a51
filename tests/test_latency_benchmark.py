"""benchmarks/latency.py: the record and table of a toy run, and the pieces that build them."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[1]
PER_FRAME = "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
FLOWPROP = "configs/vss/mobilenetv3_lraspp_flowprop_synthetic_256.py"


@pytest.fixture(scope="module")
def latency():
    return load_script("benchmarks/latency.py")


def _timing(runtime, threads, median_ms):
    return {"runtime": runtime, "threads": threads, "median_ms": median_ms, "iqr_ms": 0.5}


def _toy_record(quality):
    reference = {
        "name": "MediaPipe selfie 256",
        "config": "configs/baselines/mediapipe_selfie_256.py",
        "input_shape": [256, 256],
        "shape": [256, 256],
        "same_shape": True,
        "quality": None,
        **_timing("ai-edge-litert", 1, 4.0),
    }
    model = {
        "name": "per_frame",
        "config": PER_FRAME,
        "quality": quality,
        "notes": ["a note"],
        "profiles": [
            {"shape": [256, 256], "latency": [_timing("onnxruntime", 1, 3.0), _timing("torch", 1, 6.0)]}
        ],
    }
    protocol = {"shapes": [[256, 256]], "threads": [1], "runtimes": ["torch", "onnxruntime"]}
    return {"protocol": protocol, "mediapipe": [reference], "models": [model]}


def test_rows_and_markdown_give_ratio_to_mediapipe_at_the_same_shape_and_threads(latency):
    record = _toy_record({"key": "J&F", "value": 0.6123, "file": "vss.json"})
    rows = latency.table_rows(record)
    assert [(r["name"], r["runtime"], r["ratio"]) for r in rows] == [
        ("MediaPipe selfie 256", "ai-edge-litert", 1.0),
        ("per_frame", "torch", 1.5),
        ("per_frame", "onnxruntime", 0.75),
    ]
    record["rows"] = rows
    table = latency.format_markdown(record).splitlines()
    assert table[0].startswith("| shape | threads | model | runtime | J&F | median ms | IQR ms |")
    assert (
        table[2]
        == "| 256x256 | 1 | MediaPipe selfie 256 | ai-edge-litert | not scored | 4.00 | 0.50 | 1.00 |"
    )
    assert table[3] == "| 256x256 | 1 | per_frame | torch | 0.612 | 6.00 | 0.50 | 1.50 |"
    assert table[-1] == "- per_frame: a note"


def test_plot_records_are_what_the_profiler_plot_takes(latency, tmp_path):
    from steadyseg.deploy.profiler import plot_latency_vs_quality

    record = _toy_record({"key": "J&F", "value": 0.6, "file": "vss.json"})
    records = latency.plot_records(record)
    assert [r["config"] for r in records] == [PER_FRAME, "configs/baselines/mediapipe_selfie_256.py"]
    assert [lat["median_ms"] for lat in records[0]["latency"]] == [3.0, 6.0]
    assert records[1]["quality"] == []
    plot_latency_vs_quality(records, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_parse_shape(latency):
    assert latency.parse_shape("144x256") == (144, 256)
    with pytest.raises(argparse.ArgumentTypeError, match="'256' must be HxW"):
        latency.parse_shape("256")


def test_mediapipe_reference_has_the_nearest_aspect_ratio(latency):
    models = [{"name": "square", "input_shape": [256, 256]}, {"name": "landscape", "input_shape": [144, 256]}]
    assert latency.mediapipe_for((256, 256), models)["name"] == "square"
    assert latency.mediapipe_for((64, 64), models)["name"] == "square"
    assert latency.mediapipe_for((144, 256), models)["name"] == "landscape"
    assert latency.mediapipe_for((180, 320), models)["name"] == "landscape"


def test_vss_quality_maps_model_names_to_configs(latency, tmp_path):
    path = tmp_path / "vss_people.json"
    results = {
        # Over seeds the record holds the mean, the spread and every seed's value.
        "per-frame": {"J&F": {"mean": 0.5, "std": 0.1, "values": [0.4, 0.5, 0.6]}},
        "MediaPipe selfie 256": {"J&F": 0.7},
        "renamed": {"J&F": 0.25, "config": "configs/mobile/mobileone_s0_lraspp_per_frame_synthetic_256.py"},
        "unknown": {"J&F": 0.1},
    }
    path.write_text(json.dumps({"results": results}))
    quality = latency.vss_quality(path)
    assert {config: q["value"] for config, q in quality.items()} == {
        PER_FRAME: 0.5,
        "configs/baselines/mediapipe_selfie_256.py": 0.7,
        "configs/mobile/mobileone_s0_lraspp_per_frame_synthetic_256.py": 0.25,
    }
    assert latency.vss_quality(tmp_path / "absent.json") == {}
    path.write_text("{")
    with pytest.raises(ValueError, match="vss_people.json: not a vss_people.json record"):
        latency.vss_quality(path)
    # Strict JSON writes an undefined mean as null: one error naming the model, not a TypeError.
    path.write_text(
        json.dumps({"results": {"per-frame": {"J&F": {"mean": None, "std": None, "values": []}}}})
    )
    with pytest.raises(ValueError, match="per-frame's J&F is null"):
        latency.vss_quality(path)


def test_default_configs_are_the_mobile_people_segmenters(latency):
    configs = latency.default_configs()
    assert PER_FRAME in configs
    assert "configs/vss/mobilenetv3_lraspp_convgru_flowloss_synthetic_256.py" in configs
    assert "configs/vss/mobilenetv3_lraspp_flowprop_flowloss_synthetic_256.py" in configs
    assert "configs/mobile/mobileone_s0_lraspp_per_frame_synthetic_256.py" in configs
    assert all((REPO_ROOT / c).is_file() for c in configs)


def test_only_the_flow_propagation_model_runs_opencv_flow(latency):
    from steadyseg.apis.inference import load_model

    assert latency.runs_opencv_flow(load_model(REPO_ROOT / FLOWPROP, None))
    assert not latency.runs_opencv_flow(load_model(REPO_ROOT / PER_FRAME, None))


def test_failed_export_is_timed_in_torch_only_and_opencv_gets_the_thread_count(latency, monkeypatch):
    import cv2
    import torch.nn as nn

    from steadyseg.deploy.export import ExportError

    calls = []

    def fake_profile(model, shape, threads, runtimes, runs, warmup):
        calls.append((list(threads), list(runtimes), cv2.getNumThreads()))
        if "onnxruntime" in runtimes:
            raise ExportError(
                "/tmp/x/model.onnx: ONNX Runtime differs from torch by 0.02; the graph does not ..."
            )
        return {"latency": [{"runtime": r, "threads": n} for r in runtimes for n in threads]}

    monkeypatch.setattr(latency, "_profile", fake_profile)
    flow_model = nn.Sequential(nn.Identity())
    flow_model[0].flow_fallback = "dis"
    threads_before = cv2.getNumThreads()
    record, notes = latency.profile_shape(flow_model, (64, 64), [1, 2], ["torch", "onnxruntime"], 5, 2)
    assert calls == [([1], ["onnxruntime", "torch"], 1), ([1], ["torch"], 1), ([2], ["torch"], 2)]
    assert [(lat["runtime"], lat["threads"]) for lat in record["latency"]] == [("torch", 1), ("torch", 2)]
    assert notes[0].startswith("its step runs OpenCV DIS optical flow per frame")
    assert (
        notes[1]
        == "ONNX export failed at 64x64, timed in torch only: ONNX Runtime differs from torch by 0.02"
    )
    assert cv2.getNumThreads() == threads_before

    calls.clear()
    record, notes = latency.profile_shape(nn.Identity(), (64, 64), [1, 2], ["torch"], 5, 2)
    assert calls == [([1, 2], ["torch"], threads_before)] and notes == []


def test_missing_tflite_file_is_named(latency, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.tflite: MediaPipe TFLite model not found"):
        latency.TFLiteInvoke(tmp_path / "nothing.tflite", num_threads=1)


@pytest.mark.slow
def test_toy_run_writes_record_and_table(shared_data, tmp_path):
    out, markdown, quality = tmp_path / "latency.json", tmp_path / "latency.md", tmp_path / "vss_people.json"
    quality.write_text(
        json.dumps({"results": {"per-frame": {"J&F": 0.625}, "MediaPipe selfie 256": {"J&F": 0.75}}})
    )
    command = [sys.executable, str(REPO_ROOT / "benchmarks/latency.py"), "--configs", PER_FRAME]
    command += ["--shapes", "64x64", "--threads", "1", "--runs", "5", "--warmup", "2"]
    command += ["--runtimes", "torch", "onnxruntime", "--quality", str(quality)]
    command += ["--out", str(out), "--markdown", str(markdown)]
    env = {**os.environ, "STEADYSEG_SHARED_DATA": str(shared_data)}
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=600)

    record = json.loads(out.read_text())
    assert record["benchmark"] == "latency" and len(record["commit"]["sha"]) == 40
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert record["versions"]["torch"] and record["versions"]["ai-edge-litert"]
    assert len(record["load_average"]["start"]) == 3 and len(record["load_average"]["end"]) == 3
    protocol = record["protocol"]
    assert (protocol["shapes"], protocol["threads"], protocol["runs"], protocol["warmup"]) == (
        [[64, 64]],
        [1],
        5,
        2,
    )

    [reference] = record["mediapipe"]
    assert reference["model_path"] == str(
        shared_data.resolve() / "mediapipe_selfie/selfie_segmentation.tflite"
    )
    assert reference["input_shape"] == [256, 256] and reference["same_shape"] is False
    assert reference["runs"] == 5 and reference["median_ms"] > 0 and reference["quality"]["value"] == 0.75
    [model] = record["models"]
    assert model["config"] == PER_FRAME and model["quality"]["value"] == 0.625 and model["notes"] == []
    [profile] = model["profiles"]
    assert profile["input"]["frame"] == [1, 3, 64, 64]
    ours = {lat["runtime"]: lat for lat in profile["latency"]}
    assert set(ours) == {"torch", "onnxruntime"}
    assert all(lat["runs"] == 5 and lat["median_ms"] > 0 and lat["threads"] == 1 for lat in ours.values())
    assert ours["onnxruntime"]["check_max_abs_diff"] < 1e-3

    rows = {row["runtime"]: row for row in record["rows"]}
    assert set(rows) == {"ai-edge-litert", "torch", "onnxruntime"}
    for runtime, latency in ours.items():
        assert rows[runtime]["ratio"] == pytest.approx(latency["median_ms"] / reference["median_ms"])
        assert rows[runtime]["J&F"] == 0.625

    table = markdown.read_text()
    assert table == record["table"] + "\n"
    lines = table.splitlines()
    assert lines[0].startswith(
        "| shape | threads | model | runtime | J&F | median ms | IQR ms | ratio vs MediaPipe |"
    )
    torch_line = next(line for line in lines if "| torch |" in line)
    assert torch_line.endswith(f"| {rows['torch']['ratio']:.2f} |") and "| 0.625 |" in torch_line
    assert "fixed 256x256 input" in table
