"""Same seed, same machine: identical weights and metrics; another seed: another run (the benchmark's premise)."""

from pathlib import Path

import pytest
import torch

from steadyseg.apis.benchmarking import train_recipe
from steadyseg.apis.inference import load_model

REPO_ROOT = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = "configs/smoke/per_frame_tiny.py"


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_predictions(tiny_synthetic_set, tmp_path):
    runs = {
        name: train_recipe(REPO_ROOT / SMOKE_CONFIG, tiny_synthetic_set, tmp_path / name, 4, seed, "cpu")
        for name, seed in (("a", 0), ("b", 0), ("c", 1))
    }
    weights = {
        name: torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
        for name, path in runs.items()
    }
    assert weights["a"].keys() == weights["b"].keys()
    assert all(torch.equal(weights["a"][key], weights["b"][key]) for key in weights["a"])
    assert not all(torch.equal(weights["a"][key], weights["c"][key]) for key in weights["a"])

    frames = torch.randint(0, 256, (1, 3, 3, 64, 64), generator=torch.Generator().manual_seed(0)).float()
    outputs = {}
    for name, checkpoint in runs.items():
        model = load_model(REPO_ROOT / SMOKE_CONFIG, checkpoint)
        with torch.no_grad():
            outputs[name] = model(model.data_preprocessor({"inputs": list(frames)})["inputs"])["logits"]
    assert torch.equal(outputs["a"], outputs["b"]) and not torch.equal(outputs["a"], outputs["c"])
