"""The benchmarks run end to end at a toy budget (slow; CI runs it), so a broken benchmark is caught before anyone
times it; their scoring gives hand-computed values on planted data and the numbers tools/test.py gives."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from steadyseg.apis.inference import StreamingSegmenter, load_model
from steadyseg.datasets.real_people import REAL_PEOPLE_SPLIT
from steadyseg.datasets.video_io import read_image_rgb, read_single_channel_png
from steadyseg.evaluation.functional import boundary_f_measure, region_similarity
from steadyseg.models.segmentors.base_video_segmentor import BaseVideoSegmentor
from steadyseg.registry import MODELS
from tests.helpers import load_script
from tests.tools.helpers import run_tool

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_vss_people_benchmark_toy_budget(shared_data, tmp_path):
    out = tmp_path / "vss_people.json"
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks/vss_people.py"),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    command += ["--models", "per-frame", "--seeds", "0", "1", "--iters", "1", "--num-train", "2"]
    command += ["--max-frames", "6", "--flicker-frames", "4", "--latency-runs", "3", "--out", str(out)]
    env = {**os.environ, "STEADYSEG_SHARED_DATA": str(shared_data)}
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, timeout=900, env=env)
    record = json.loads(out.read_text())
    assert set(record["results"]) == {"per-frame", "MediaPipe selfie 256"}
    assert len(record["commit"]["sha"]) == 40 and record["versions"]["torch"] == torch.__version__
    per_frame = record["results"]["per-frame"]
    assert record["seeds"] == [0, 1] and len(per_frame["J&F"]["values"]) == 2
    assert per_frame["J&F"]["mean"] == pytest.approx(sum(per_frame["J&F"]["values"]) / 2)
    # MediaPipe is a fixed model: its numbers are those of its frames labelled by tools/infer.py's path and scored
    # by the metric functions, outside the datasets and the Evaluator (labels may differ on near-ties only).
    mediapipe = record["results"]["MediaPipe selfie 256"]
    expected = mediapipe_on_first_frames(shared_data, 6)
    for key in ("J", "F", "J&F", "negative_person_area"):
        assert mediapipe[key]["values"] == [pytest.approx(expected[key], abs=1e-4)], key
    assert mediapipe["J&F"]["mean"] > per_frame["J&F"]["mean"]
    split = record["split"]
    assert set(split["eval_sequences"]).isdisjoint(split["cutout_sequences"])
    names = [t["name"] for t in record["targets"]]
    assert any(name.startswith("per-frame J&F") for name in names)
    for t in record["targets"]:
        assert t["met"] == (
            t["value"] >= t["threshold"] if "(>=" in t["name"] else t["value"] <= t["threshold"]
        )
    assert "| per-frame | 2 |" in record["table"] and "scored (J, F, VC, flicker)" in record["table"]


def mediapipe_on_first_frames(data: Path, num_frames: int) -> dict:
    """MediaPipe's J, F, J&F on the first frames of the scored clips and its person area on the negative clip,
    computed directly: frames labelled by ``StreamingSegmenter.labels``, masks read from the PNGs."""
    segmenter = StreamingSegmenter(load_model(REPO_ROOT / "configs/baselines/mediapipe_selfie_256.py", None))

    def labelled(sequence):
        frames = sorted((data / "davis_people/JPEGImages/480p" / sequence).glob("*.jpg"))[:num_frames]
        segmenter.reset()
        return [segmenter.labels(read_image_rgb(path)) == 1 for path in frames]

    j, f = [], []
    for sequence in REAL_PEOPLE_SPLIT["eval_sequences"]:
        masks = sorted((data / "davis_people/Annotations/480p" / sequence).glob("*.png"))[:num_frames]
        pairs = list(zip(labelled(sequence), [read_single_channel_png(path) == 255 for path in masks]))
        j.append(np.mean([region_similarity(pred, gt) for pred, gt in pairs]))
        f.append(np.mean([boundary_f_measure(pred, gt) for pred, gt in pairs]))
    area = np.mean([pred.mean() for pred in labelled(REAL_PEOPLE_SPLIT["negative_sequence"])])
    return {
        "J": np.mean(j),
        "F": np.mean(f),
        "J&F": (np.mean(j) + np.mean(f)) / 2,
        "negative_person_area": area,
    }


def stat(*values):
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "values": list(values)}


def test_comparison_against_per_frame_applies_the_issue_target():
    vss = load_script("benchmarks/vss_people.py")

    def model(jf, flicker):
        return {"J&F": stat(*jf), "flicker": stat(*flicker)}

    results = {
        "per-frame": model((0.49, 0.50, 0.51), (0.019, 0.020, 0.021)),
        # 35% less flicker at 0.01 lower J&F: met; the J&F drop is inside the seeds' spread.
        "steady": model((0.48, 0.49, 0.50), (0.012, 0.013, 0.014)),
        # 50% less flicker but 0.03 lower J&F: not met.
        "blurry": model((0.46, 0.47, 0.48), (0.009, 0.010, 0.011)),
        # Better J&F, only 20% less flicker: not met.
        "sharp": model((0.59, 0.60, 0.61), (0.015, 0.016, 0.017)),
        "MediaPipe selfie 256": model((0.8,), (0.011,)),
    }
    comparison = vss.compare_to_baseline(results)
    assert set(comparison) == {"steady", "blurry", "sharp"}
    assert comparison["steady"]["flicker_cut"] == pytest.approx(0.35)
    assert comparison["steady"]["jf_change"] == pytest.approx(-0.01)
    assert comparison["steady"]["flicker_cut_counts"] and not comparison["steady"]["jf_change_counts"]
    assert [comparison[n]["meets_target"] for n in ("steady", "blurry", "sharp")] == [True, False, False]
    assert "| steady | 35% | -0.010 (within seed spread) | met |" in vss.format_comparison(comparison)
    assert vss.best_temporal_model(comparison) == "steady"

    for r in results.values():
        r["negative_person_area"] = stat(0.01)
    results["blurry"]["negative_person_area"] = stat(0.05)
    targets = {t["name"]: t for t in vss.compute_targets(results, comparison, "default")}
    per_frame = targets["per-frame J&F mean over seeds (>= at the default budget)"]
    assert (
        per_frame["value"] == pytest.approx(0.50) and per_frame["threshold"] == 0.60 and not per_frame["met"]
    )
    assert targets["steady: flicker cut vs per-frame (>=)"]["met"]
    assert targets["steady: J&F change vs per-frame (>=)"]["met"]
    # 0.013 flicker against MediaPipe's 0.011: not met.
    mediapipe = targets["steady: flicker on the scored clips (<= MediaPipe selfie 256's)"]
    assert mediapipe["threshold"] == pytest.approx(0.011) and not mediapipe["met"]
    assert not targets["blurry: false-positive person area on the person-free clip (<=)"]["met"]
    assert targets["sharp: false-positive person area on the person-free clip (<=)"]["met"]


def test_budgets_and_model_choice():
    vss = load_script("benchmarks/vss_people.py")
    default = vss.parse_args([])
    assert default.models == list(vss.BUDGETS["default"]["models"]) and default.seeds == [0, 1, 2]
    assert default.out.endswith("vss_people.json")
    long = vss.parse_args(["--budget", "long"])
    assert long.iters > default.iters and long.out.endswith("vss_people_long.json")
    assert vss.parse_args(["--models", "per-frame", "ConvGRU (stride 32) + flow loss"]).models == [
        "per-frame",
        "ConvGRU (stride 32) + flow loss",
    ]
    with pytest.raises(SystemExit):
        vss.parse_args(["--models", "per-frame + flow loss"])
    assert all((REPO_ROOT / config).is_file() for config in vss.CONFIGS.values())
    for budget in vss.BUDGETS.values():
        assert vss.BASELINE_MODEL in budget["models"] and set(budget["models"]) <= set(vss.CONFIGS)


@MODELS.register_module(force=True)
class PlantedBrightnessSegmentor(BaseVideoSegmentor):
    """Predicts person wherever a frame is bright (first channel above 127.5), so the frames plant the prediction."""

    def forward_clip(self, inputs, state):
        person = inputs[:, :, :1] - 127.5
        return {"logits": torch.cat([-person, person], dim=2)}, state

    def loss(self, inputs, data_samples):
        raise NotImplementedError("a planted prediction is not trained")


PLANTED_CONFIG = f"""
_base_ = ["{REPO_ROOT}/configs/_base_/default_runtime.py"]
model = dict(
    type="PlantedBrightnessSegmentor",
    data_preprocessor=dict(type="VideoDataPreprocessor", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)),
    # Computes at another scale than the frames': the predictions come back at the frames' size.
    input_short_side=256,
)
# The scoring reads only the test pipeline of the test dataloader.
test_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations"),
            dict(type="PackVideoInputs"),
        ]
    )
)
test_evaluator = []
test_cfg = dict(type="VideoTestLoop")
"""
PLANTED_SIZE = (16, 32)


def columns(count: int) -> np.ndarray:
    """A 16x32 bool map whose first ``count`` columns are set."""
    mask = np.zeros(PLANTED_SIZE, bool)
    mask[:, :count] = True
    return mask


def write_frames(folder: Path, predictions: list[np.ndarray], extension: str) -> None:
    """Frames white where the planted model is to predict person, black elsewhere (grey, so JPEG's chroma
    subsampling leaves them alone)."""
    folder.mkdir(parents=True)
    for t, prediction in enumerate(predictions):
        cv2.imwrite(
            str(folder / f"{t:05d}{extension}"), np.repeat(prediction[..., None] * 255, 3, 2).astype(np.uint8)
        )


def write_davis(root: Path, sequence: str, predictions: list[np.ndarray], people: list[np.ndarray]) -> None:
    write_frames(root / "davis_people/JPEGImages/480p" / sequence, predictions, ".jpg")
    masks = root / "davis_people/Annotations/480p" / sequence
    masks.mkdir(parents=True)
    for t, person in enumerate(people):
        cv2.imwrite(str(masks / f"{t:05d}.png"), person.astype(np.uint8) * 255)


def test_scoring_of_a_planted_prediction_gives_hand_computed_values(tmp_path):
    vss = load_script("benchmarks/vss_people.py")
    data = tmp_path / "data"
    # Scored clip of 10 frames: the person covers columns 0..23, except in frame 9 where it covers all 32; the
    # prediction covers columns 0..15, except in frame 1 where it covers 0..23.
    people = [columns(32) if t == 9 else columns(24) for t in range(10)]
    walk = [columns(24) if t == 1 else columns(16) for t in range(10)]
    write_davis(data, "walk", walk, people)
    write_davis(data, "empty", [columns(8)] * 3, [columns(0)] * 3)
    # A people video whose fourth frame would change the flicker: only the first three are scored.
    write_frames(data / "people/clip", [columns(8), columns(16), columns(8), columns(32)], ".png")
    config = tmp_path / "planted.py"
    config.write_text(PLANTED_CONFIG)
    split = dict(eval_sequences=("walk",), negative_sequence="empty", flicker_videos=("people/clip",))

    metrics = vss.score(config, None, data, tmp_path / "work", flicker_frames=3, split=split)

    # J: 16 / 24 in eight frames, 24 / 24 in frame 1, 16 / 32 in frame 9.
    assert metrics["J"] == pytest.approx((8 * 16 / 24 + 1 + 0.5) / 10)
    f = np.mean([boundary_f_measure(pred, person) for pred, person in zip(walk, people)])
    assert metrics["F"] == pytest.approx(f) and 0 < f < 1
    assert metrics["J&F"] == pytest.approx((metrics["J"] + f) / 2)
    # VC8: both windows (frames 0..7 and 1..8) hold frame 1, so only columns 0..15 and 24..31 stay the same in the
    # prediction; the person stays everywhere in them: 24 / 32.
    assert metrics["VC8"] == pytest.approx(0.75)
    # Flicker: pairs (0, 1) and (1, 2) change 8 of 32 columns, the other seven pairs none.
    assert metrics["flicker"] == pytest.approx(2 * 8 / 32 / 9)
    assert metrics["negative_person_area"] == pytest.approx(8 / 32)
    # Both scored pairs of the people video change 8 of 32 columns (with its fourth frame: (0.25 * 2 + 0.75) / 3).
    assert metrics["video_flicker"] == pytest.approx(0.25)
    assert set(metrics) == set(vss.RECORD_KEYS.values())
    # The ground truth changes 8 of 32 columns in one pair of nine.
    assert vss.ground_truth_flicker(config, data, split=split)["flicker"] == pytest.approx(8 / 32 / 9)


@pytest.mark.slow
def test_benchmark_and_tools_test_give_the_same_numbers_on_a_real_clip(
    shared_data, tiny_synthetic_set, tmp_path
):
    """The benchmark's scoring and tools/test.py's davis_people test set score the same clip and checkpoint
    through one path: their metrics agree to the bit."""
    vss = load_script("benchmarks/vss_people.py")
    config = REPO_ROOT / vss.CONFIGS["per-frame"]
    model = load_model(config, None)
    # An untrained model calls almost everything background; moving its person bias makes about half of hike
    # person, so the masks have long boundaries and a number that could disagree.
    frame = read_image_rgb(shared_data / "davis_people/JPEGImages/480p/hike/00000.jpg")
    segmenter = StreamingSegmenter(model)
    logits = segmenter.step(segmenter.prepare(frame)).numpy()
    with torch.no_grad():
        model.segmentor.decode_head.conv_seg.bias[1] -= float(np.median(logits[1] - logits[0]))
    checkpoint = tmp_path / "model.pth"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    # The first 10 frames of hike, in the layout both read.
    data = tmp_path / "data"
    for folder, extension in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
        (data / "davis_people" / folder / "480p/hike").mkdir(parents=True)
        for t in range(10):
            name = f"{t:05d}{extension}"
            source = shared_data / "davis_people" / folder / "480p/hike" / name
            (data / "davis_people" / folder / "480p/hike" / name).symlink_to(source)

    out = tmp_path / "test.json"
    run_tool(
        "test.py",
        str(config),
        str(checkpoint),
        "--work-dir",
        str(tmp_path / "test_work"),
        "--out",
        str(out),
        "--cfg-options",
        f"test_dataloader.dataset.data_root={tiny_synthetic_set}",
        "extra_test_sets.0.dataloader.dataset.sequences=[hike]",
        env={**os.environ, "STEADYSEG_SHARED_DATA": str(data)},
    )
    tools_test = json.loads(out.read_text())
    split = dict(
        REAL_PEOPLE_SPLIT,
        eval_sequences=("hike",),
        negative_sequence="hike",
        flicker_videos=("davis_people/JPEGImages/480p/hike",),
    )
    benchmark = vss.score(
        config, checkpoint, data, tmp_path / "benchmark_work", flicker_frames=2, split=split
    )
    assert 0 < benchmark["J"] < 1 and 0 < benchmark["F"] < 1
    for key in ("J", "F", "J&F", "VC8"):
        assert benchmark[key] == tools_test[f"davis_people/{key}"], key
