import json
import re

import numpy as np
import pytest
import torch

from steadyseg.datasets import SyntheticPeopleDataset, VideoDataError

# The fixture (conftest.write_synthetic): 4 frames of 32 x 48, people with track ids 1 and 2, constant
# backward flow (dx, dy) = (-2, 1), 12 fps; train videos v0, v1 and val video v2.
PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_instances=True, with_alpha=True, with_fgr=True, with_flow=True),
    dict(type="PackVideoInputs"),
]


def test_reads_frames_masks_alpha_fgr_and_flow(synthetic_root):
    dataset = SyntheticPeopleDataset(
        synthetic_root,
        split="val",
        with_alpha=True,
        with_fgr=True,
        with_flow=True,
        pipeline=PIPELINE,
        test_mode=True,
        clip_len=3,
    )
    assert len(dataset) == 2  # 4 frames in chunks of 3
    info = dataset.get_data_info(0)
    assert info["video_id"] == "v2" and info["fps"] == 12 and len(info["flow_paths"]) == 3
    packed = dataset[0]
    sample = packed["data_samples"]
    assert packed["inputs"].shape == (3, 3, 32, 48)
    assert sample.gt_sem_seg.shape == (3, 32, 48) and set(sample.gt_sem_seg.unique().tolist()) == {0, 1}
    assert sample.gt_instances.track_ids.tolist() == [1, 2] and sample.gt_instances.masks.shape == (
        2,
        3,
        32,
        48,
    )
    assert torch.equal(sample.gt_instances.masks.any(0), sample.gt_sem_seg == 1)
    assert torch.equal(sample.gt_alpha[:, 0] == 1.0, sample.gt_sem_seg == 1)
    assert sample.gt_fgr.shape == (3, 3, 32, 48)
    # Flow is exact: the file values, and warping frame t-1 with it gives frame t (up to JPEG noise).
    assert sample.gt_flow.shape == (2, 2, 32, 48)
    assert torch.equal(sample.gt_flow[:, 0], torch.full((2, 32, 48), -2.0))
    assert torch.equal(sample.gt_flow[:, 1], torch.full((2, 32, 48), 1.0))
    frames = packed["inputs"].int()
    warped = frames[0][:, 1:, :-2]  # frame_0(x + dx, y + dy) for x >= 2, y <= H - 2
    assert (warped - frames[1][:, :-1, 2:]).abs().float().mean() < 3
    assert (frames[0] - frames[1]).abs().float().mean() > 10
    assert dataset.metainfo["classes"] == ("background", "person")


def test_training_lists_whole_videos_of_the_split(synthetic_root):
    dataset = SyntheticPeopleDataset(synthetic_root, split="train")
    assert [dataset.get_data_info(i)["video_id"] for i in range(2)] == ["v0", "v1"]
    assert dataset.get_data_info(0)["num_video_frames"] == 4
    assert "alpha_paths" not in dataset.get_data_info(0)


def test_mp4_format(tmp_path, synthetic_writer):
    root = synthetic_writer(tmp_path / "mp4", fmt="mp4", width=64)
    dataset = SyntheticPeopleDataset(
        root,
        split="train",
        sequences=["v1"],
        pipeline=PIPELINE[:1] + [dict(type="PackVideoInputs")],
        test_mode=True,
    )
    assert dataset.get_data_info(0)["video_path"].endswith("train/videos/v1.mp4")
    assert dataset[0]["inputs"].shape == (4, 3, 32, 64)


def test_missing_meta(tmp_path):
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'meta.json'}: meta.json not found")):
        SyntheticPeopleDataset(tmp_path)


def test_unknown_split(synthetic_root):
    with pytest.raises(VideoDataError, match="split 'test' not in 'splits'"):
        SyntheticPeopleDataset(synthetic_root, split="test")


def test_listed_video_without_folder(synthetic_root):
    meta = json.loads((synthetic_root / "meta.json").read_text())
    meta["splits"]["train"].append("ghost")
    (synthetic_root / "meta.json").write_text(json.dumps(meta))
    missing = synthetic_root / "train" / "JPEGImages" / "ghost"
    with pytest.raises(VideoDataError, match=re.escape(f"{missing}: folder not found")):
        SyntheticPeopleDataset(synthetic_root)


def test_flow_count_mismatch(synthetic_root):
    (synthetic_root / "val" / "flow" / "v2" / "00003.npy").unlink()
    with pytest.raises(
        VideoDataError, match=re.escape(f"{synthetic_root / 'val' / 'flow' / 'v2'}: 2 flow files")
    ):
        SyntheticPeopleDataset(synthetic_root, split="val", with_flow=True)
    # without flow the same layout is fine
    assert len(SyntheticPeopleDataset(synthetic_root, split="val")) == 1


def test_strided_clip_with_flow_is_refused(synthetic_root):
    pipeline = [dict(type="SampleClipFrames", clip_len=2, stride_range=(2, 2))] + PIPELINE
    dataset = SyntheticPeopleDataset(
        synthetic_root, split="val", with_flow=True, with_alpha=True, with_fgr=True, pipeline=pipeline
    )
    np.random.seed(0)
    with pytest.raises(VideoDataError, match="with_flow needs consecutive frames"):
        dataset[0]


def test_reads_the_real_generator_output(tiny_synthetic_set):
    """What tools/make_synthetic.py writes (fixture in tests/conftest.py) loads with every annotation."""
    dataset = SyntheticPeopleDataset(
        tiny_synthetic_set,
        split="val",
        with_alpha=True,
        with_fgr=True,
        with_flow=True,
        pipeline=PIPELINE,
        test_mode=True,
    )
    assert len(dataset) == 2
    packed = dataset[0]
    sample = packed["data_samples"]
    assert packed["inputs"].shape == (8, 3, 64, 64)
    assert sample.gt_flow.shape == (7, 2, 64, 64) and sample.gt_alpha.shape == (8, 1, 64, 64)
    instances = sample.gt_instances
    assert len(instances) > 0 and (instances.track_ids > 0).all()
    assert instances.masks.shape == (len(instances), 8, 64, 64) and instances.masks.flatten(1).any(1).all()
    assert torch.equal(instances.masks.any(0), sample.gt_sem_seg == 1)
