"""InstanceMaskVideoDataset on the real schoolgirls clip, its layout errors, and the schoolgirls VIS test set config."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from steadyseg.config import load_config
from steadyseg.datasets import InstanceMaskVideoDataset, VideoDataError
from steadyseg.engine.video_evaluator import VideoEvaluator
from steadyseg.registry import DATASETS, METRICS

REPO_ROOT = Path(__file__).resolve().parents[2]
GIRLS_PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_instances=True),
    dict(type="MergeTracks", groups="1,2+3,4+5,6+7"),
    dict(type="PackVideoInputs"),
]
# Backpack -> the girl carrying it, and the pixels of every id in frame 0 (counted in masks/00000.png).
OWNERS = {2: 3, 4: 5, 6: 7}
FRAME_0_PIXELS = {1: 3144, 2: 396, 3: 2524, 4: 626, 5: 2837, 6: 593, 7: 1546}


def schoolgirls(shared_data, **kwargs) -> InstanceMaskVideoDataset:
    return InstanceMaskVideoDataset(shared_data / "davis_schoolgirls", video="schoolgirls.mp4", **kwargs)


def test_schoolgirls_clip_in_chunks_of_8(shared_data):
    dataset = schoolgirls(shared_data, test_mode=True, clip_len=8)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert len(infos) == 10  # 80 frames / 8
    assert [index for info in infos for index in info["frame_indices"]] == list(range(80))
    assert [info["is_first_clip"] for info in infos] == [True] + [False] * 9
    first = infos[0]
    assert first["video_id"] == "schoolgirls" and first["num_video_frames"] == 80 and first["fps"] == 24
    assert first["label_mode"] == "instance" and "frame_paths" not in first
    assert first["video_path"] == str(shared_data / "davis_schoolgirls" / "schoolgirls.mp4")
    masks = shared_data / "davis_schoolgirls" / "masks"
    assert first["mask_paths"] == [str(masks / f"{t:05d}.png") for t in range(80)]
    whole = schoolgirls(shared_data, test_mode=True)
    assert len(whole) == 1 and whole.get_data_info(0)["frame_indices"] == list(range(80))
    training = schoolgirls(shared_data)
    assert len(training) == 1 and "frame_indices" not in training.get_data_info(0)


def test_schoolgirls_merged_with_their_backpacks(shared_data):
    sample = schoolgirls(shared_data, pipeline=GIRLS_PIPELINE, test_mode=True, clip_len=8)[0]["data_samples"]
    instances = sample.gt_instances
    assert instances.track_ids.tolist() == [1, 3, 5, 7] and instances.labels.tolist() == [1] * 4
    assert instances.masks.shape == (4, 8, 240, 432)
    pixels = dict(zip([1, 3, 5, 7], instances.masks[:, 0].flatten(1).sum(1).tolist()))
    # A backpack and its girl are disjoint ids, so the merged track holds exactly the pixels of both.
    assert pixels == {1: 3144, 3: 396 + 2524, 5: 626 + 2837, 7: 593 + 1546}
    assert pixels == {girl: FRAME_0_PIXELS[girl] + FRAME_0_PIXELS.get(girl - 1, 0) for girl in (1, 3, 5, 7)}
    ids = torch.from_numpy(np.array(Image.open(shared_data / "davis_schoolgirls" / "masks" / "00000.png")))
    for backpack, girl in OWNERS.items():
        merged = instances.masks[[1, 3, 5, 7].index(girl), 0]
        assert merged[ids == backpack].all() and torch.equal(merged, (ids == backpack) | (ids == girl))
    assert torch.equal(instances.masks[0, 0], ids == 1)
    # The people map is the union of every id, merged or not.
    assert torch.equal(sample.gt_sem_seg[0], (ids > 0).long())
    assert torch.equal(instances.masks.any(0), sample.gt_sem_seg == 1)


def test_base_config_is_the_schoolgirls_vis_test_set(shared_data):
    cfg = load_config(REPO_ROOT / "configs/_base_/datasets/schoolgirls_instances_test.py")
    (test_set,) = cfg.extra_test_sets
    dataset = DATASETS.build(test_set["dataloader"]["dataset"])
    assert isinstance(dataset, InstanceMaskVideoDataset) and len(dataset) == 10
    assert test_set["dataloader"]["sampler"]["type"] == "VideoContiguousSampler"
    samples = [dataset[i]["data_samples"] for i in range(len(dataset))]
    assert [index for sample in samples for index in sample.frame_indices] == list(range(80))
    # All four girls, each with her backpack and under her own id, in every clip.
    assert all(sample.gt_instances.track_ids.tolist() == [1, 3, 5, 7] for sample in samples)
    ids = torch.from_numpy(np.array(Image.open(shared_data / "davis_schoolgirls" / "masks" / "00079.png")))
    assert samples[-1].gt_instances.masks[1, -1].sum() == ((ids == 2) | (ids == 3)).sum()
    # The ground truth as the prediction scores perfectly, under the prefix tools/test.py reports.
    evaluator = VideoEvaluator([METRICS.build(metric) for metric in test_set["evaluator"]])
    for sample in samples:
        prediction = sample.gt_instances.clone()
        prediction.scores = torch.ones(4)
        sample.pred_instances = prediction
    evaluator.process(data_samples=samples)
    metrics = evaluator.evaluate(len(samples))
    assert metrics["schoolgirls/AP"] == pytest.approx(1) and metrics["schoolgirls/AR1"] == pytest.approx(0.25)
    assert metrics["schoolgirls/HOTA"] == pytest.approx(1) and metrics["schoolgirls/IDSW"] == 0
    # Each girl covers under 128^2 pixels, small in YouTube-VIS's size ranges: no medium or large track to score.
    assert metrics["schoolgirls/APs"] == pytest.approx(1)
    assert math.isnan(metrics["schoolgirls/APm"]) and math.isnan(metrics["schoolgirls/APl"])


def test_frame_folder_with_masks_named_by_frame(tmp_path, synthetic_writer):
    root = synthetic_writer(tmp_path / "set", "frames", num_frames=4) / "train"
    pipeline = [GIRLS_PIPELINE[0], GIRLS_PIPELINE[1], GIRLS_PIPELINE[3]]
    dataset = InstanceMaskVideoDataset(
        root, video="JPEGImages/v0", mask_dir="Annotations/v0", pipeline=pipeline, test_mode=True, fps=12
    )
    info = dataset.get_data_info(0)
    assert info["video_id"] == "v0" and info["num_video_frames"] == 4 and info["fps"] == 12
    assert [Path(p).name for p in info["frame_paths"]] == [f"{t:05d}.jpg" for t in range(4)]
    assert [Path(p).name for p in info["mask_paths"]] == [f"{t:05d}.png" for t in range(4)]
    sample = dataset[0]
    assert sample["inputs"].shape == (4, 3, 32, 48)
    assert sample["data_samples"].gt_instances.track_ids.tolist() == [1, 2]


@pytest.fixture
def tiny_video(tmp_path, synthetic_writer) -> Path:
    """A 4-frame 32 x 64 mp4 (``train/videos/v0.mp4``) and its palette masks (``train/Annotations/v0``)."""
    return synthetic_writer(tmp_path / "set", "mp4", num_frames=4, width=64) / "train"


def tiny(root: Path, **kwargs) -> InstanceMaskVideoDataset:
    return InstanceMaskVideoDataset(root, video="videos/v0.mp4", mask_dir="Annotations/v0", **kwargs)


def test_tiny_video_reads(tiny_video):
    info = tiny(tiny_video, test_mode=True, clip_len=3).get_data_info(1)
    assert info["video_id"] == "v0" and info["frame_indices"] == [3] and info["num_video_frames"] == 4


def test_mask_count_differing_from_the_frames_names_the_masks_and_the_video(tiny_video):
    masks = tiny_video / "Annotations" / "v0"
    (masks / "00003.png").unlink()
    message = f"{masks}: 3 masks for the 4 frames of {tiny_video / 'videos' / 'v0.mp4'}"
    with pytest.raises(VideoDataError, match=re.escape(message)):
        tiny(tiny_video)


def test_mask_of_another_size_is_named(tiny_video, palette_png):
    bad = tiny_video / "Annotations" / "v0" / "00002.png"
    palette_png(bad, np.zeros((32, 48), np.uint8))
    message = f"{bad}: mask size (32, 48) differs from the frame size (32, 64) of {tiny_video / 'videos' / 'v0.mp4'}"
    with pytest.raises(VideoDataError, match=re.escape(message)):
        tiny(tiny_video)


def test_masks_must_be_named_by_frame_number(tiny_video):
    masks = tiny_video / "Annotations" / "v0"
    (masks / "00003.png").rename(masks / "frame3.png")
    with pytest.raises(
        VideoDataError, match=re.escape(f"{masks / 'frame3.png'}: mask file does not match frame '00003'")
    ):
        tiny(tiny_video)


def test_missing_video_mask_folder_and_other_sequence_are_named(tiny_video):
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tiny_video / 'videos' / 'v9.mp4'}: video file not found")
    ):
        InstanceMaskVideoDataset(tiny_video, video="videos/v9.mp4", mask_dir="Annotations/v0")
    with pytest.raises(VideoDataError, match=re.escape(f"{tiny_video / 'masks'}: folder not found")):
        InstanceMaskVideoDataset(tiny_video, video="videos/v0.mp4")
    with pytest.raises(VideoDataError, match=re.escape("sequences ['v1'] not found (available: ['v0'])")):
        tiny(tiny_video, sequences=["v1"])
