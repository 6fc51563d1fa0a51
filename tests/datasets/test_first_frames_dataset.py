import cv2
import numpy as np
import pytest

from steadyseg.datasets import VideoContiguousSampler, VideoFolderDataset
from steadyseg.datasets.first_frames_dataset import FirstFramesDataset
from steadyseg.registry import DATASETS

PIPELINE = [dict(type="LoadVideoClip"), dict(type="PackVideoInputs")]


def frame_folder(root, name, num_frames):
    """A folder of 4x4 frames whose grey level is the frame's index times 10."""
    folder = root / name
    folder.mkdir()
    for t in range(num_frames):
        cv2.imwrite(str(folder / f"{t:05d}.png"), np.full((4, 4, 3), 10 * t, np.uint8))
    return folder


@pytest.fixture
def videos(tmp_path):
    frame_folder(tmp_path, "long", 10)
    frame_folder(tmp_path, "short", 3)
    return dict(type="VideoFolderDataset", data_root=str(tmp_path), clip_len=4, pipeline=PIPELINE)


def test_chunks_keep_the_first_frames_of_each_video_and_still_continue(videos):
    dataset = DATASETS.build(dict(type="FirstFramesDataset", dataset=videos, num_frames=6))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    # long: chunks 0..3, 4..7, 8..9 -> 0..3, 4..5 (8..9 dropped); short: 0..2, shorter than the limit, whole.
    assert [(info["video_id"], info["frame_indices"]) for info in infos] == [
        ("long", [0, 1, 2, 3]),
        ("long", [4, 5]),
        ("short", [0, 1, 2]),
    ]
    assert [info["is_first_clip"] for info in infos] == [True, False, True]
    second = dataset[1]
    assert second["data_samples"].frame_indices == [4, 5]
    assert second["inputs"][:, 0, 0, 0].tolist() == [40, 50]  # the frames themselves, through the pipeline
    assert list(VideoContiguousSampler(dataset)) == [0, 1, 2]
    assert dataset.metainfo == dataset.dataset.metainfo


def test_a_built_dataset_is_wrapped_and_a_training_dataset_is_refused(videos):
    built = VideoFolderDataset(**{key: value for key, value in videos.items() if key != "type"})
    assert len(FirstFramesDataset(built, num_frames=1)) == 2  # frame 0 of each video
    with pytest.raises(ValueError, match="UnlabelledVideoDataset must be in test mode"):
        FirstFramesDataset(dict(videos, type="UnlabelledVideoDataset"), num_frames=6)
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        FirstFramesDataset(videos, num_frames=0)
