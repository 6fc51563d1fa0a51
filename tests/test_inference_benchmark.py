"""benchmarks/inference.py: the record of a run on a few frames of a tiny generated video."""

import json
from pathlib import Path

import numpy as np
import pytest

from steadyseg.apis.inference import STAGES
from steadyseg.visualization import VideoWriter
from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmarks/inference.py")


@pytest.fixture
def tiny_video(tmp_path):
    """12 frames of 96x128: a bright square moving over a grey background."""
    path = tmp_path / "tiny.mp4"
    with VideoWriter(path, fps=12) as writer:
        for index in range(12):
            frame = np.full((96, 128, 3), 90, np.uint8)
            frame[30:70, 8 * index : 8 * index + 40] = (230, 180, 150)
            writer.write(frame)
    return path


def test_record_of_a_short_run(benchmark, tiny_video, tmp_path):
    out = tmp_path / "inference.json"
    config = REPO_ROOT / "configs/smoke/per_frame_tiny.py"
    args = ["--video", str(tiny_video), "--max-frames", "5", "--config", str(config)]
    record = benchmark.main([*args, "--threads", "1", "--runs", "3", "--warmup", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == record
    assert record["benchmark"] == "inference" and "commit" in record and "cpu" in record["machine"]
    assert record["protocol"]["frames"] == 5 and record["protocol"]["threads"] == 1
    assert record["protocol"]["input_short_side"] == 64, "the model's own scale is recorded"
    assert record["model_alone_step_ms"]["runs"] == 3
    ms = record["pipeline_ms_per_frame"]
    assert set(ms) == {*STAGES, "end_to_end"} and all(value > 0 for value in ms.values())
    assert record["pipeline_frames_per_second"] == pytest.approx(1e3 / ms["end_to_end"])
    ratio = ms["end_to_end"] / record["model_alone_step_ms"]["median_ms"]
    assert record["pipeline_to_step_ratio"] == pytest.approx(ratio)
    memory = record["memory_mb"]
    # Five frames: the reference frame is the last one, so the growth is zero.
    assert memory["reference_frame"] == 5 and memory["growth"] == 0.0
    assert memory["peak"] >= memory["at_last_frame"] > 0
    assert len(memory["every_50_frames"]) == 1

    targets = {t["name"]: t for t in record["targets"]}
    assert len(targets) == 3
    values = {
        "pipeline ms per frame / model-alone step ms (<=)": (record["pipeline_to_step_ratio"], 2.0),
        "peak RSS MB (<=)": (memory["peak"], 800.0),
        "RSS growth MB from frame 5 to the last frame (<=)": (memory["growth"], 50.0),
    }
    for name, (value, threshold) in values.items():
        assert targets[name]["value"] == pytest.approx(value) and targets[name]["threshold"] == threshold
        assert targets[name]["met"] == (targets[name]["value"] <= targets[name]["threshold"])
    assert "| peak RSS MB (<=) |" in record["table"]


def test_bad_arguments_are_usage_errors(benchmark, tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--video", str(tmp_path / "nope.avi")])
    assert f"video {tmp_path / 'nope.avi'} does not exist" in capsys.readouterr().err
