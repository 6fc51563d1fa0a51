import numpy as np
import pytest

from steadyseg.datasets import SampleClipFramesAtSpeed
from steadyseg.datasets.transforms.sample_clip_frames_at_speed import sample_speed_clip, speed_frame_indices


def sample(num_frames: int, clip_len: int, speed_range, seed: int = 0, **kwargs) -> dict:
    np.random.seed(seed)
    return SampleClipFramesAtSpeed(clip_len, speed_range, **kwargs)(dict(num_video_frames=num_frames))


def test_half_speed_shows_each_frame_twice():
    # 6 frames at 0.5x span frames 0..2: a 3-frame video has one place for them.
    results = sample(3, 6, (0.5, 0.5))
    assert results["frame_indices"] == [0, 0, 1, 1, 2, 2] and results["frame_speed"] == 0.5
    for seed in range(20):
        indices = sample(40, 6, (0.5, 0.5), seed)["frame_indices"]
        start = indices[0]
        assert indices == [start, start, start + 1, start + 1, start + 2, start + 2] and 0 <= start <= 37


def test_triple_speed_takes_every_third_frame():
    assert sample(10, 4, (3.0, 3.0))["frame_indices"] == [0, 3, 6, 9]
    starts = set()
    for seed in range(30):
        indices = sample(20, 4, (3.0, 3.0), seed)["frame_indices"]
        assert np.diff(indices).tolist() == [3, 3, 3] and indices[-1] <= 19
        starts.add(indices[0])
    # Every start where the clip fits (0..10) is drawn, no other.
    assert starts == set(range(11))


def test_fractional_speeds_alternate_their_steps():
    assert speed_frame_indices(5, 2.5, 5) == [5, 7, 10, 12, 15]
    # Floating point: 3 * 0.1 is 0.30000000000000004 and 10 * 0.3 is 3.0000000000000004 or 2.9999999999999996.
    assert speed_frame_indices(0, 0.1, 11)[-1] == 1
    assert speed_frame_indices(0, 0.3, 11)[-1] == 3


def test_speeds_are_drawn_from_the_range():
    speeds = [sample(1000, 8, (0.5, 5.0), seed)["frame_speed"] for seed in range(200)]
    assert 0.5 <= min(speeds) < 0.8 and 4.7 < max(speeds) <= 5.0


def test_short_videos_slow_down_to_fit():
    # 4 frames cannot hold 8 at 1x or faster: the clip spans them all at 3/7x, repeating frames.
    results = sample(4, 8, (1.0, 2.0))
    assert results["frame_indices"] == [0, 0, 0, 1, 1, 2, 2, 3]
    assert results["frame_speed"] == pytest.approx(3 / 7)
    # A 10-frame video caps 1x..5x at 9/3 = 3x for 4 frames.
    np.random.seed(0)
    for _ in range(20):
        indices, speed = sample_speed_clip(10, 4, (1.0, 5.0))
        assert 1.0 <= speed <= 3.0 and indices[0] >= 0 and indices[-1] <= 9
    assert sample(1, 3, (0.5, 5.0))["frame_indices"] == [0, 0, 0]


def test_test_mode_and_preset_indices():
    assert sample(21, 5, (2.0, 4.0), test_mode=True)["frame_indices"] == [6, 8, 10, 12, 14]
    preset = dict(num_video_frames=10, frame_indices=[3, 4])
    assert SampleClipFramesAtSpeed(5)(preset)["frame_indices"] == [3, 4]
    with pytest.raises(ValueError, match="need clip_len >= 1 and 0 < speed_range"):
        SampleClipFramesAtSpeed(4, (0.0, 2.0))
