"""benchmarks/matting.py: its targets from hand-made results, its training crops, the pipeline it reads real clips
through, and (slow) a toy run end to end on the real clips."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from steadyseg.apis.benchmarking import summarize_seeds
from steadyseg.config import load_config
from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def matting():
    return load_script("benchmarks/matting.py")


def seeds(**metrics):
    """A summarize_seeds entry per metric from three values each."""
    return summarize_seeds([{key: values[i] for key, values in metrics.items()} for i in range(3)])


def test_targets_follow_the_measured_values(matting):
    results = {
        matting.MOBILE: seeds(MAD=(10, 11, 12), dtSSD=(6, 7, 8), J=(0.5, 0.6, 0.7)),
        matting.WITHOUT_COHERENCE: seeds(MAD=(10, 10, 10), dtSSD=(10, 10, 10), J=(0.5, 0.5, 0.5)),
        matting.RVM: seeds(MAD=(12, 12, 12), dtSSD=(6, 6, 6), J=(0.7, 0.7, 0.7)),
        matting.SEGMENTER: seeds(J=(0.55, 0.65, 0.75)),
    }
    timing = {
        "512x288": {
            matting.MOBILE: {"onnxruntime/1": 30.0, "onnxruntime/2": 20.0},
            matting.RVM: {"onnxruntime/1": 60.0, "onnxruntime/2": 25.0},
        }
    }
    speed = {"Grad": {"speedup": 40.0}, "Conn": {"speedup": 4.0}}
    targets = {t["name"].split(" (")[0]: t for t in matting.compute_targets(results, timing, speed)}
    expected = {
        # 1 - 7 / 10: more than the 20% cut asked for.
        "coherence terms: dtSSD cut on the held-out composites": (0.3, 0.2, True),
        # 11 / 10 - 1: 10% worse MAD, over the 5% allowed.
        "coherence terms: MAD change on the held-out composites": (0.1, 0.05, False),
        "mobile / RVM-equivalent step time, 512x288, ONNX Runtime, 1 thread": (0.5, 0.67, True),
        "mobile / RVM-equivalent step time, 512x288, ONNX Runtime, 2 threads": (0.8, 0.67, False),
        "mobile MAD / RVM-equivalent MAD on the held-out composites": (11 / 12, 1.0, True),
        "mobile dtSSD / RVM-equivalent dtSSD on the held-out composites": (7 / 6, 1.0, False),
        "mobile: person J of alpha > 0.5 on the real clips": (0.6, 0.65, False),
        "Grad: vectorized speed-up over the loop at 512x288": (40.0, 5.0, True),
        "Conn: vectorized speed-up over the loop at 512x288": (4.0, 5.0, False),
    }
    assert set(targets) == set(expected)
    for name, (value, threshold, met) in expected.items():
        assert targets[name]["value"] == pytest.approx(value), name
        assert targets[name]["threshold"] == pytest.approx(threshold) and targets[name]["met"] is met, name


def test_comparisons_say_when_a_difference_is_within_the_seeds_spread(matting):
    results = {
        matting.MOBILE: seeds(
            MAD=(9, 10, 11), dtSSD=(5, 5.1, 5.2), Grad=(1, 1, 1), Conn=(1, 1, 1), fgr_MSE=(1, 1, 1)
        ),
        matting.WITHOUT_COHERENCE: seeds(
            MAD=(9.5, 10, 10.5), dtSSD=(8, 8.1, 8.2), Grad=(1, 1, 1), Conn=(1, 1, 1), fgr_MSE=(1, 1, 1)
        ),
    }
    comparison = matting.compare(results)["coherence terms"]
    assert comparison["dtSSD"]["change"] == pytest.approx(5.1 / 8.1 - 1) and comparison["dtSSD"]["counts"]
    assert comparison["MAD"]["change"] == pytest.approx(0.0) and not comparison["MAD"]["counts"]
    table = matting.format_comparisons({"coherence terms": comparison})
    assert "| coherence terms | dtSSD | -37.0% | yes |" in table
    assert "| coherence terms | MAD | +0.0% | no (within seed spread) |" in table


def test_training_crops_are_set_in_every_training_pipeline(matting, tmp_path):
    path = matting.with_crop(matting.MATTING_CONFIGS[matting.MOBILE], 96, tmp_path)
    cfg = load_config(path)
    crops = [
        transform["size"]
        for dataset in cfg.train_dataloader.dataset.datasets
        for transform in dataset.pipeline
        if transform["type"] == "ClipRandomResizedCrop"
    ]
    assert len(crops) == 4 and all(tuple(size) == (96, 96) for size in crops)
    # Everything but the crops is the recipe's.
    recipe = load_config(REPO_ROOT / matting.MATTING_CONFIGS[matting.MOBILE])
    assert cfg.model == recipe.model and cfg.test_dataloader == recipe.test_dataloader


def test_real_clips_are_read_without_matting_annotations(matting):
    cfg = load_config(REPO_ROOT / matting.MATTING_CONFIGS[matting.MOBILE])
    pipeline = matting.real_clip_pipeline(cfg)
    (annotations,) = [t for t in pipeline if t["type"] == "LoadClipAnnotations"]
    assert "with_alpha" not in annotations and "with_fgr" not in annotations
    assert [t["type"] for t in pipeline] == [t["type"] for t in cfg.test_dataloader.dataset.pipeline]
    # The config itself keeps them: its held-out composites are scored with alpha and foreground.
    assert any(t.get("with_alpha") for t in cfg.test_dataloader.dataset.pipeline)


def test_the_timing_matte_is_a_512_by_288_prediction_of_a_real_matte(matting, tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools/make_synthetic.py"),
            "--out",
            str(tmp_path),
            "--num-train",
            "0",
        ]
        + [
            "--num-val",
            "1",
            "--frames",
            str(matting.SYNTHETIC_FRAMES),
            "--size",
            "64",
            "64",
            "--workers",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    pred, gt = matting.timing_matte(tmp_path)
    assert pred.shape == gt.shape == (288, 512) and pred.min() >= 0 and pred.max() <= 1
    assert 0 < abs(pred - gt).mean() < 0.1


@pytest.mark.slow
def test_matting_benchmark_toy_budget(shared_data, tmp_path):
    out = tmp_path / "matting.json"
    command = [sys.executable, str(REPO_ROOT / "benchmarks/matting.py"), "--iters", "1", "--crop", "64"]
    command += ["--num-train", "2", "--num-held-out", "1", "--seeds", "0", "--max-frames", "2"]
    command += ["--flicker-frames", "2", "--latency-runs", "1", "--metric-runs", "1"]
    command += ["--work-dir", str(tmp_path / "work"), "--out", str(out)]
    # Started outside the checkout, as a user might: the configs must still find the shared data.
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    record = json.loads(out.read_text())
    results = record["results"]
    assert list(results) == [
        "mobile",
        "mobile, no coherence terms",
        "RVM-equivalent",
        "per-frame segmenter",
        "MediaPipe selfie 256",
    ]
    for name in ("mobile", "mobile, no coherence terms", "RVM-equivalent"):
        assert {"MAD", "MSE", "Grad", "Conn", "dtSSD", "fgr_MSE", "J"} <= set(results[name])
    assert "MAD" not in results["per-frame segmenter"] and "MAD" not in results["MediaPipe selfie 256"]
    # MediaPipe finds people on the real clips and its probability changes between frames.
    assert results["MediaPipe selfie 256"]["J"]["mean"] > 0.5
    assert results["MediaPipe selfie 256"]["video_soft_flicker"]["mean"] > 0
    assert set(record["latency_ms"]) == {"512x288", "1920x1080 at ratio 0.25"}
    for name, speed in record["metric_speed"].items():
        assert speed["value"] == pytest.approx(speed["loop_value"], rel=1e-5), name
    # One seed: no comparison counts, and the targets are those recomputed from the record's own values.
    assert not any(c["counts"] for metrics in record["comparisons"].values() for c in metrics.values())
    assert len(record["targets"]) == 9
    for t in record["targets"]:
        higher = "(>=" in t["name"]
        assert t["met"] == (t["value"] >= t["threshold"] if higher else t["value"] <= t["threshold"])
    assert not any(math.isnan(t["value"]) for t in record["targets"])
    assert "| mobile | 1 |" in record["table"] and "| Grad |" in record["table"]


def test_scoring_nothing_is_an_error(matting, tmp_path):
    with pytest.raises(ValueError, match="nothing to score"):
        matting.score(matting.SEGMENTER_CONFIG, None, tmp_path, tmp_path, None, real_clips=False)


def test_a_count_below_one_is_a_usage_error(matting, capsys):
    with pytest.raises(SystemExit):
        matting.parse_args(["--crop", "0"])
    assert "argument --crop: must be at least 1, got 0" in capsys.readouterr().err
