import re

import cv2
import numpy as np
import pytest

from steadyseg.datasets import VideoDataError, VideoFolderDataset

PIPELINE = [dict(type="LoadVideoClip"), dict(type="PackVideoInputs")]


def test_carphone_in_chunks(shared_data):
    path = shared_data / "people_videos" / "carphone.mp4"
    dataset = VideoFolderDataset(path, pipeline=PIPELINE, clip_len=50)
    assert len(dataset) == 3  # 120 frames: 50 + 50 + 20
    assert [len(dataset.get_data_info(i)["frame_indices"]) for i in range(3)] == [50, 50, 20]
    last = dataset[2]
    assert last["inputs"].shape == (20, 3, 144, 176)
    meta = last["data_samples"].metainfo
    assert meta["video_id"] == "carphone" and meta["frame_indices"] == list(range(100, 120))
    assert meta["num_video_frames"] == 120 and meta["fps"] == pytest.approx(29.97, abs=0.01)
    assert not meta["is_first_clip"] and "gt_sem_seg" not in last["data_samples"]


def test_explicit_video_list(shared_data):
    dataset = VideoFolderDataset(
        shared_data,
        videos=["davis_schoolgirls/schoolgirls.mp4", "people_videos/carphone.mp4"],
        pipeline=PIPELINE,
        clip_len=80,
    )
    assert [dataset.get_data_info(i)["video_id"] for i in range(len(dataset))] == [
        "schoolgirls",
        "carphone",
        "carphone",
    ]
    schoolgirls = dataset[0]
    assert schoolgirls["inputs"].shape == (80, 3, 240, 432)
    assert schoolgirls["data_samples"].fps == 24


def test_scans_a_folder_of_videos_and_frame_folders(tmp_path, shared_data):
    (tmp_path / "carphone.mp4").symlink_to(shared_data / "people_videos" / "carphone.mp4")
    (tmp_path / "notes.txt").write_text("not a video")
    frames = tmp_path / "walk"
    frames.mkdir()
    for t in range(3):
        cv2.imwrite(str(frames / f"{t:05d}.png"), np.full((8, 10, 3), (0, 0, 50 * t), np.uint8))
    dataset = VideoFolderDataset(tmp_path, pipeline=PIPELINE, fps=10)
    assert [dataset.get_data_info(i)["video_id"] for i in range(2)] == ["carphone", "walk"]
    walk = dataset[1]
    assert walk["inputs"].shape == (3, 3, 8, 10)
    assert walk["inputs"][2, 0, 0, 0] == 100  # RGB order: the red channel was written as 50 * t
    assert walk["data_samples"].fps == 10
    single = VideoFolderDataset(frames, pipeline=PIPELINE)
    assert len(single) == 1 and single.get_data_info(0)["video_id"] == "walk"


def test_training_mode_samples_clips(shared_data):
    pipeline = [dict(type="SampleClipFrames", clip_len=4, stride_range=(2, 2))] + PIPELINE
    dataset = VideoFolderDataset(
        shared_data / "people_videos" / "carphone.mp4", pipeline=pipeline, test_mode=False
    )
    np.random.seed(0)
    packed = dataset[0]
    indices = packed["data_samples"].frame_indices
    assert packed["inputs"].shape == (4, 3, 144, 176) and np.diff(indices).tolist() == [2, 2, 2]


def test_missing_video(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(VideoDataError, match=re.escape(f"{missing}: video file not found")):
        VideoFolderDataset(videos=[missing])


def test_corrupt_video(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDataError, match=re.escape(f"{corrupt}: cannot decode video")):
        VideoFolderDataset(corrupt)


def test_empty_frame_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'empty'}: empty folder")):
        VideoFolderDataset(tmp_path)


def test_folder_without_videos(tmp_path):
    (tmp_path / "notes.txt").write_text("not a video")
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path}: no video files")):
        VideoFolderDataset(tmp_path)
