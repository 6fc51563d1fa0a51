"""The real-people split: no clip both trains and judges, and the configs score exactly the held-out clips."""

from pathlib import Path

from steadyseg.config import load_config, shared_data_root
from steadyseg.datasets.real_people import REAL_PEOPLE_SPLIT, describe_split, generator_arguments

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_no_clip_both_trains_and_is_scored():
    split = REAL_PEOPLE_SPLIT
    training = set(split["cutout_sequences"]) | set(split["cutout_instances"])
    scored = set(split["eval_sequences"]) | {split["negative_sequence"]}
    assert training.isdisjoint(scored)
    assert len(split["eval_sequences"]) >= 4
    flicker = {Path(video).parent for video in split["flicker_videos"]}
    assert Path(split["distillation_videos"]) not in flicker


def test_split_names_clips_that_exist(shared_data):
    split = REAL_PEOPLE_SPLIT
    davis = shared_data / "davis_people" / "JPEGImages" / "480p"
    for sequence in (*split["cutout_sequences"], *split["eval_sequences"], split["negative_sequence"]):
        assert (davis / sequence).is_dir(), sequence
    for video in split["flicker_videos"]:
        assert (shared_data / video).is_file(), video
    assert len(list((shared_data / split["distillation_videos"]).glob("*.mp4"))) == 11
    assert (shared_data / split["coco_cutouts"] / "annotations" / "instances.json").is_file()
    assert shared_data_root() == shared_data


def test_configs_score_the_held_out_clips():
    cfg = load_config(REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py")
    davis = cfg.extra_test_sets[0]["dataloader"]["dataset"]
    assert tuple(davis["sequences"]) == REAL_PEOPLE_SPLIT["eval_sequences"]


def test_split_is_described_for_the_tables():
    text = describe_split()
    assert "hike" in text and "breakdance-flare" in text and "car-shadow" in text


def test_instance_recipes_synthetic_sets_leave_the_instance_test_clip_out(shared_data):
    every_cutout = " ".join(generator_arguments(shared_data))
    without = " ".join(generator_arguments(shared_data, instance_cutouts=False))
    for clip in REAL_PEOPLE_SPLIT["cutout_instances"]:
        assert f"davis_{clip}" in every_cutout and f"davis_{clip}" not in without
    assert "davis_people" in without and REAL_PEOPLE_SPLIT["coco_cutouts"] in without
