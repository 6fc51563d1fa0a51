"""What the benchmarks share: targets, summaries over seeds, the rule for a difference that counts, and which
members of a recipe's training set a benchmark points at its synthetic set."""

import subprocess
import time
from pathlib import Path

import pytest
from mmengine.config import Config

from steadyseg.apis.benchmarking import (
    exceeds_spread,
    format_cell,
    format_targets,
    record_header,
    summarize_seeds,
    synthetic_data_options,
    target,
)
from steadyseg.config import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_seed_summary_is_mean_and_sample_std():
    summary = summarize_seeds([{"J&F": 0.4}, {"J&F": 0.5}, {"J&F": 0.6}])
    assert summary["J&F"]["mean"] == pytest.approx(0.5)
    assert summary["J&F"]["std"] == pytest.approx(0.1)  # sqrt((0.01 + 0 + 0.01) / 2)
    assert summary["J&F"]["values"] == [0.4, 0.5, 0.6]
    assert summarize_seeds([{"J&F": 0.4}])["J&F"]["std"] == 0.0
    assert format_cell(summary["J&F"], 2) == "0.50 ± 0.10"
    assert format_cell(summarize_seeds([{"J&F": 0.4}])["J&F"], 3) == "0.400"


def test_a_difference_counts_only_beyond_both_spreads():
    def seeds(mean, std):
        return summarize_seeds([{"x": mean - std}, {"x": mean}, {"x": mean + std}])["x"]

    assert exceeds_spread(seeds(0.50, 0.02), seeds(0.55, 0.04))
    assert not exceeds_spread(seeds(0.50, 0.02), seeds(0.55, 0.06))
    assert not exceeds_spread(seeds(0.50, 0.08), seeds(0.55, 0.01))


def test_no_difference_counts_with_fewer_than_three_seeds():
    one, two = summarize_seeds([{"x": 0.5}]), summarize_seeds([{"x": 0.1}, {"x": 0.1}])
    assert not exceeds_spread(one["x"], two["x"])
    assert not exceeds_spread(two["x"], summarize_seeds([{"x": 0.9}] * 3)["x"])


def test_a_target_is_met_on_its_side_of_the_threshold():
    assert target("J (>=)", 0.61, 0.6, higher_is_better=True)["met"]
    assert not target("J (>=)", 0.59, 0.6, higher_is_better=True)["met"]
    assert target("area (<=)", 0.02, 0.02, higher_is_better=False) == {
        "name": "area (<=)",
        "value": 0.02,
        "threshold": 0.02,
        "met": True,
    }
    assert format_targets([target("t", 0.5, 0.25, True)]).splitlines()[-1] == "| t | 0.5000 | 0.2500 | True |"


def test_a_comparison_target_is_met_only_when_the_difference_counts():
    beaten = target("AP gain (>=)", 0.05, 0.0, higher_is_better=True, counts=False)
    assert beaten == {"name": "AP gain (>=)", "value": 0.05, "threshold": 0.0, "met": False, "counts": False}
    assert target("AP gain (>=)", 0.05, 0.0, higher_is_better=True, counts=True)["met"]
    assert not target("AP gain (>=)", -0.05, 0.0, higher_is_better=True, counts=True)["met"]


def test_every_synthetic_member_of_a_matting_recipe_is_pointed_at_the_benchmark_set(tmp_path):
    cfg = load_config(REPO_ROOT / "configs/matting/mobilenetv3_small_matting_synthetic_256.py")
    options = synthetic_data_options(cfg, tmp_path)
    # Members 0-2 read the synthetic set (composited, as generated, as segmentation); member 3 is COCO.
    assert options == {
        "train_dataloader.dataset.datasets.0.data_root": str(tmp_path),
        "train_dataloader.dataset.datasets.1.data_root": str(tmp_path),
        "train_dataloader.dataset.datasets.2.data_root": str(tmp_path),
        "val_dataloader.dataset.data_root": str(tmp_path),
    }


def test_a_recipe_without_synthetic_training_data_is_an_error(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type="VSPWDataset", data_root="data/vspw"))))
    with pytest.raises(ConfigError, match="holds no SyntheticPeopleDataset"):
        synthetic_data_options(cfg, tmp_path)


def test_record_header_names_the_command_commit_device_and_minutes(monkeypatch):
    monkeypatch.setattr("sys.argv", ["vss_people.py", "--budget", "long"])
    header = record_header("vss_people", None, time.time() - 90, gpu=False)
    assert header["benchmark"] == "vss_people"
    assert header["command"] == "vss_people.py --budget long"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    assert header["commit"]["sha"] == head.strip()
    assert header["device"] == "cpu" and header["minutes"] == 1.5
    assert {"machine", "versions"} <= set(header)
    # Arguments given to main() win over sys.argv; a benchmark that trains nothing records no device.
    header = record_header("discovery", ["--models", "per-frame", "per-frame + flow loss"], time.time())
    assert header["command"] == "vss_people.py --models per-frame 'per-frame + flow loss'"
    assert "device" not in header and header["minutes"] == 0.0
