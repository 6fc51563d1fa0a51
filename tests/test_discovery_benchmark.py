"""benchmarks/discovery.py in smoke mode on the real DAVIS clips: the record holds every target, each computed
from the values in the same record."""

import json

import pytest
import torch
from scipy.stats import spearmanr

from steadyseg.apis.inference import load_model
from tests.discovery.helpers import REPO_ROOT, TINY_CONFIG, moving_square, write_frame_folder
from tests.helpers import load_script

benchmark = load_script("benchmarks/discovery.py")


@pytest.mark.slow
def test_smoke_run_targets_come_from_the_record(shared_data, tmp_path):
    checkpoint = tmp_path / "per_frame.pth"
    torch.manual_seed(0)
    torch.save(
        {"state_dict": load_model(REPO_ROOT / benchmark.TRAINED_CONFIG, None).state_dict()}, checkpoint
    )
    out = tmp_path / "discovery.json"
    argv = ["--checkpoint", str(checkpoint), "--max-frames", "12", "--segment-length", "4", "--out", str(out)]
    benchmark.main(argv)
    record = json.loads(out.read_text())
    targets = {t["name"].split(":")[0].split(",")[0]: t for t in record["targets"]}
    assert sorted(targets) == sorted(
        [benchmark.MEDIAPIPE, benchmark.TRAINED, "frame retrieval precision@10", "novelty AUROC"]
    )
    # Every scored clip gives its first 12 frames; the failure score is recomputed into the target's rho.
    mediapipe = record["failure_vs_error"][benchmark.MEDIAPIPE]
    assert mediapipe["frames"] == len(mediapipe["failure"]) == 5 * 12
    # The development clips (two DAVIS clips and schoolgirls) are scored apart, for both models.
    development = record["failure_vs_error_development"]
    assert record["development_clips"] == ["breakdance-flare", "rollerblade", "schoolgirls"]
    assert {name: result["frames"] for name, result in development.items()} == {
        benchmark.MEDIAPIPE: 3 * 12,
        benchmark.TRAINED: 3 * 12,
    }
    rho = spearmanr(mediapipe["failure"], mediapipe["one_minus_j"]).statistic
    assert targets[benchmark.MEDIAPIPE]["value"] == pytest.approx(rho)
    assert targets[benchmark.MEDIAPIPE]["met"] == (rho >= 0.5)
    # Each signal's rho is recomputed from its values, over the frames that have it: MediaPipe runs without a
    # teacher, and a clip's first frame has no flicker.
    per_signal = mediapipe["spearman_per_signal"]
    assert per_signal["disagreement"] is None and per_signal["disagreement_iou"] is None
    entropy = spearmanr(mediapipe["signals"]["entropy"], mediapipe["one_minus_j"]).statistic
    assert per_signal["entropy"] == pytest.approx(entropy)
    # The JSON writes a missing value (NaN) as null.
    flicker = [
        (v, e) for v, e in zip(mediapipe["signals"]["flicker"], mediapipe["one_minus_j"]) if v is not None
    ]
    assert len(flicker) == 5 * 11
    assert per_signal["flicker"] == pytest.approx(spearmanr(*zip(*flicker)).statistic)
    # Per clip: its 12 frames, its own rho, and the mean of those rhos beside the pooled one.
    assert list(mediapipe["per_clip"]) == mediapipe["clip"][::12] and mediapipe["clip"].count("hike") == 12
    hike = [
        (f, e)
        for f, e, c in zip(mediapipe["failure"], mediapipe["one_minus_j"], mediapipe["clip"])
        if c == "hike"
    ]
    assert mediapipe["per_clip"]["hike"]["spearman"] == pytest.approx(spearmanr(*zip(*hike)).statistic)
    within = [clip["spearman"] for clip in mediapipe["per_clip"].values() if clip["spearman"] is not None]
    assert mediapipe["spearman_within_clip"] == pytest.approx(sum(within) / len(within))
    assert "within each development clip" in record["table"]
    trained = record["failure_vs_error"][benchmark.TRAINED]["spearman_per_signal"]
    assert trained["disagreement"] is not None and record["config"] == benchmark.TRAINED_CONFIG
    retrieval = targets["frame retrieval precision@10"]
    assert retrieval["value"] == record["retrieval"]["precision_at_10"]
    assert retrieval["met"] == (retrieval["value"] >= retrieval["threshold"] == 0.8)
    # 11 DAVIS clips of 12 frames each query all 132 frames.
    assert record["retrieval"]["queries"] == 11 * 12
    # Reference: 10 people clips x the one 4-frame segment inside the first 6 frames; like: the one of the last 6.
    assert record["novelty"]["segments"] == dict(reference=10, like=10, person_free=3, other=5 * 3)
    assert set(record["throughput"]) >= {
        "decode + resize",
        f"model: {benchmark.MEDIAPIPE}",
        f"signals: {benchmark.MEDIAPIPE}",
        f"signals: {benchmark.TRAINED} + teacher",
    }
    assert "| frames/s | pipeline:" in record["table"] and "signals: " in record["table"]


def test_a_signal_that_follows_the_error_ranks_it_perfectly_and_margin_enters_inverted():
    error = [0.1, 0.5, 0.2, 0.9]
    assert benchmark.signal_spearman([float("nan"), 0.4, 0.1, 0.8], error) == pytest.approx(1.0)
    assert benchmark.signal_spearman([0.3, 0.3, 0.3, 0.3], error) is None
    assert benchmark.signal_spearman([float("nan")] * 2 + [0.1, 0.2], error) is None
    # The failure score counts 1 - margin, so a margin that falls as the error grows ranks it positively.
    frames = [{"margin": 1 - e} for e in error]
    inverted = [benchmark.failure_score(frame, {"margin": 1.0}) for frame in frames]
    assert benchmark.signal_spearman(inverted, error) == pytest.approx(1.0)


def test_a_score_that_ranks_frames_within_clips_can_still_misorder_the_clips():
    # Within each clip the score follows the error exactly; across them it is inverted (the harder clip scores
    # lower), so every clip's own rho is 1 while the pooled rho is 1 - 6 * 54 / (6 * 35) = -0.543.
    clip_of = ["easy"] * 3 + ["hard"] * 3 + ["steady"] * 2
    failure = [0.5, 0.6, 0.7, 0.1, 0.2, 0.3, 0.4, 0.4]
    error = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.2, 0.3]
    assert spearmanr(failure[:6], error[:6]).statistic == pytest.approx(-0.542857, abs=1e-6)
    per_clip = benchmark.within_clip_ranking(clip_of, failure, error)
    assert per_clip["easy"] == dict(
        frames=3,
        mean_one_minus_j=pytest.approx(0.2),
        mean_failure=pytest.approx(0.6),
        spearman=pytest.approx(1.0),
    )
    assert per_clip["hard"]["spearman"] == pytest.approx(1.0)
    assert per_clip["hard"]["mean_one_minus_j"] == pytest.approx(0.8)
    # A constant score ranks nothing within its clip.
    assert per_clip["steady"]["spearman"] is None and per_clip["steady"]["frames"] == 2


def test_without_a_checkpoint_the_trained_model_is_not_measured():
    record = {
        "failure_vs_error": {benchmark.MEDIAPIPE: {"spearman": 0.62}},
        "retrieval": None,
        "novelty": None,
    }
    assert benchmark.compute_targets(record) == [
        {
            "name": f"{benchmark.MEDIAPIPE}: Spearman(failure score, 1 - J) per frame (>=)",
            "value": 0.62,
            "threshold": 0.5,
            "met": True,
        }
    ]


def test_resized_frames_stop_at_the_cap_at_the_models_input_scale(tmp_path):
    folder = write_frame_folder(tmp_path / "clip", moving_square(7, seed=0))
    model = load_model(TINY_CONFIG, None)
    # 72x96 frames at the tiny model's 64-pixel short side: 64x85 (96 * 64 / 72 = 85.3).
    frames = list(benchmark.resized_frames(model, folder, 5))
    assert len(frames) == 5 and {frame.shape for frame in frames} == {(64, 85, 3)}
    assert len(list(benchmark.resized_frames(model, folder, None))) == 7
