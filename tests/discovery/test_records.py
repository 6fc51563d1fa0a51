"""The record store: round trip, settings that must match to resume, keys that keep equal names apart."""

import numpy as np
import pytest

from steadyseg.discovery import DiscoveryError, RecordStore, VideoRecords, load_segments, video_key


def records(num_frames: int, dim: int = 3) -> VideoRecords:
    frames = [dict(frame=t, flicker=None if t == 0 else 0.1 * t, entropy=0.5) for t in range(num_frames)]
    segments = [dict(segment=0, start=0, end=num_frames, flicker=0.2, entropy=0.5)]
    embeddings = np.arange(num_frames * dim, dtype=np.float32).reshape(num_frames, dim)
    return VideoRecords(dict(video="/v.mp4", frames=num_frames), frames, segments, embeddings, embeddings[:1])


def test_records_round_trip_and_load_as_a_segment_table(tmp_path):
    store = RecordStore(tmp_path, dict(input_short_side=64))
    assert not store.is_done("v-1")
    store.write("v-1", records(3))
    assert store.is_done("v-1") and store.video_keys() == ["v-1"]
    read = RecordStore(tmp_path).read("v-1")
    assert read.header == dict(key="v-1", video="/v.mp4", frames=3)
    assert read.frames == records(3).frames and read.segments == records(3).segments
    np.testing.assert_array_equal(read.frame_embeddings, records(3).frame_embeddings)
    table = load_segments(store)
    assert table.rows == [
        dict(segment=0, start=0, end=3, flicker=0.2, entropy=0.5, video="/v.mp4", key="v-1")
    ]
    np.testing.assert_array_equal(table.embeddings, [[0, 1, 2]])


def test_resuming_with_other_settings_names_the_setting(tmp_path):
    RecordStore(tmp_path, dict(input_short_side=64, segment_length=16))
    RecordStore(tmp_path, dict(input_short_side=64, segment_length=16))
    with pytest.raises(DiscoveryError, match="made with segment_length=16, this run has segment_length=8"):
        RecordStore(tmp_path, dict(input_short_side=64, segment_length=8))


def test_reading_a_folder_that_is_not_a_discovery_output(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a discovery output folder"):
        RecordStore(tmp_path)


def test_videos_with_one_name_in_two_folders_get_two_keys(tmp_path):
    first, second = tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"
    assert video_key(first).startswith("clip-") and video_key(first) != video_key(second)
    folder = tmp_path / "frames"
    folder.mkdir()
    assert video_key(folder).startswith("frames-")
