"""The benchmarks run end to end at a toy budget (slow; CI runs it), so a broken benchmark is caught before anyone times it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_vss_people_benchmark_toy_budget(shared_data, tmp_path):
    out = tmp_path / "vss_people.json"
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks/vss_people.py"),
        "--work-dir",
        str(tmp_path / "work"),
        "--models",
        "per-frame",
        "--iters",
        "1",
        "--num-train",
        "2",
        "--max-frames",
        "9",
        "--latency-runs",
        "3",
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, timeout=900)
    record = json.loads(out.read_text())
    assert set(record["results"]) == {"per-frame", "MediaPipe selfie 256"}
    for result in record["results"].values():
        for key in ("J", "F", "J&F", "VC8", "flicker", "flicker_flow", "car_shadow_person_area"):
            assert 0.0 <= result[key] <= 1.0, key
        assert result["latency_ms"]["median"] > 0
    assert record["eval_sequences"] == ["hike", "tennis"] and "hike" not in record["cutout_sources"]
    assert "| per-frame |" in record["table"]
