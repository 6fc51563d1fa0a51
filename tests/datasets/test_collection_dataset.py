"""CollectionDataset: the segments of a collection file as clips of exactly those frames."""

import json

import numpy as np
import pytest

from steadyseg.datasets import CollectionDataset, VideoDataError
from steadyseg.datasets.collection_dataset import read_collection
from steadyseg.datasets.video_io import read_video_frames
from steadyseg.discovery import write_collection
from steadyseg.registry import DATASETS
from tests.discovery.helpers import moving_square, write_frame_folder, write_video

PIPELINE = [
    dict(type="SampleClipFrames", clip_len=2),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="PackVideoInputs"),
]


def numbered_frames(num_frames):
    """Frames whose every pixel holds their own index, so a loaded clip shows which frames it read."""
    return [np.full((16, 24, 3), 10 * index, dtype=np.uint8) for index in range(num_frames)]


@pytest.fixture
def folder_collection(tmp_path):
    write_frame_folder(tmp_path / "clips" / "numbers", numbered_frames(10))
    segments = [
        dict(video="clips/numbers", start=3, end=7, scores=dict(failure=0.9)),
        dict(video="clips/numbers", start=8, end=10, scores=dict(failure=0.5)),
    ]
    return write_collection(tmp_path / "mined.json", "mined", "two segments", segments)


def frame_values(item):
    return item["inputs"][:, 0, 0, 0].tolist()


def test_a_training_item_is_the_whole_segment(folder_collection):
    dataset = DATASETS.build(
        dict(type="CollectionDataset", collection=str(folder_collection), pipeline=PIPELINE)
    )
    assert len(dataset) == 2 and not dataset.test_mode
    info = dataset.get_data_info(0)
    assert (
        info["video_id"] == "numbers@3-7"
        and info["label_mode"] is None
        and info["scores"] == dict(failure=0.9)
    )
    item = dataset[0]
    assert frame_values(item) == [30, 40, 50, 60]
    assert item["inputs"].shape == (4, 3, 16, 24)
    assert (item["data_samples"].gt_sem_seg == 255).all()


def test_a_clip_sampler_picks_clips_inside_the_segment(folder_collection):
    sampler = dict(type="SampleClipFrames", clip_len=2, stride_range=(1, 2))
    dataset = CollectionDataset(collection=folder_collection, pipeline=PIPELINE, clip_sampler=sampler)
    np.random.seed(0)
    for _ in range(20):
        values = frame_values(dataset[0])
        assert len(values) == 2 and all(30 <= value <= 60 for value in values) and values[0] < values[1]


def test_test_mode_cuts_each_segment_into_chunks(folder_collection):
    dataset = CollectionDataset(collection=folder_collection, pipeline=PIPELINE, test_mode=True, clip_len=3)
    chunks = [
        (dataset.get_data_info(i)["frame_indices"], dataset.get_data_info(i)["is_first_clip"])
        for i in range(3)
    ]
    assert chunks == [([3, 4, 5], True), ([6], False), ([8, 9], True)]
    assert frame_values(dataset[1]) == [60]


def test_segments_of_a_video_file_load_those_frames(tmp_path):
    video = write_video(tmp_path / "walk.mp4", moving_square(12, seed=0))
    path = write_collection(tmp_path / "c.json", "c", "", [dict(video=str(video), start=5, end=9, scores={})])
    item = CollectionDataset(collection=path, pipeline=PIPELINE[1:])[0]
    expected = np.stack(read_video_frames(video, [5, 6, 7, 8])).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(item["inputs"].numpy(), expected)


def test_a_segment_past_the_video_names_the_collection_and_segment(folder_collection):
    data = json.loads(folder_collection.read_text())
    data["segments"][1]["end"] = 11
    folder_collection.write_text(json.dumps(data))
    with pytest.raises(
        VideoDataError, match=r"mined.json: segments\[1\] ends at frame 11, past the 10 frames"
    ):
        CollectionDataset(collection=folder_collection)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(format="other"), "not a collection file"),
        (dict(version=2), "collection version 2"),
        (dict(segments=[dict(video="v", start=4, end=4)]), r"segments\[0\]: needs 0 <= start < end"),
        (
            dict(segments=[dict(video="v", start="0", end=4)]),
            r"segments\[0\]: 'start' and 'end' must be frame",
        ),
        (dict(segments=[dict(start=0, end=4)]), r"segments\[0\]: needs 'video'"),
    ],
)
def test_bad_collection_files_name_the_problem(folder_collection, change, message):
    data = dict(json.loads(folder_collection.read_text()), **change)
    folder_collection.write_text(json.dumps(data))
    with pytest.raises(VideoDataError, match=message):
        read_collection(folder_collection)


def test_an_empty_collection_is_an_error(tmp_path):
    path = write_collection(tmp_path / "empty.json", "empty", "", [])
    with pytest.raises(VideoDataError, match="empty.json: the collection lists no segments"):
        CollectionDataset(collection=path)
