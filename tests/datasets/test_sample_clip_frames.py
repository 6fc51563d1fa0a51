import numpy as np
import pytest

from steadyseg.datasets import SampleClipFrames


def sample(transform, num_frames, **extra):
    return transform(dict(num_video_frames=num_frames, **extra))


def test_random_strides_and_starts_cover_the_range():
    transform = SampleClipFrames(clip_len=4, stride_range=(1, 3))
    np.random.seed(0)
    strides, starts = set(), set()
    for _ in range(300):
        results = sample(transform, 20)
        indices = results["frame_indices"]
        steps = set(np.diff(indices).tolist())
        assert len(indices) == 4 and len(steps) == 1 and steps == {results["frame_stride"]}
        assert indices[0] >= 0 and indices[-1] <= 19
        strides.add(results["frame_stride"])
        starts.add((results["frame_stride"], indices[0]))
    assert strides == {1, 2, 3}
    # Every start where the clip fits is drawn: stride 3 spans 10 frames, so starts 0..10.
    assert {s for stride, s in starts if stride == 3} == set(range(11))


def test_seeded_global_rng_reproduces_the_clip():
    transform = SampleClipFrames(clip_len=5, stride_range=(1, 4))
    np.random.seed(123)
    first = [sample(transform, 50)["frame_indices"] for _ in range(5)]
    np.random.seed(123)
    second = [sample(transform, 50)["frame_indices"] for _ in range(5)]
    assert first == second


def test_short_video_falls_back_to_smaller_stride():
    # 7 frames cannot hold 4 frames at stride 3 (needs 10); stride 2 fits exactly.
    np.random.seed(0)
    results = sample(SampleClipFrames(clip_len=4, stride_range=(3, 4)), 7)
    assert results["frame_indices"] == [0, 2, 4, 6]
    assert results["frame_stride"] == 2


def test_stride_range_is_capped_at_the_largest_fitting_stride():
    np.random.seed(0)
    transform = SampleClipFrames(clip_len=3, stride_range=(1, 10))
    strides = {sample(transform, 9)["frame_stride"] for _ in range(100)}
    assert strides == {1, 2, 3, 4}


def test_video_shorter_than_clip_repeats_last_frame():
    results = sample(SampleClipFrames(clip_len=5, stride_range=(1, 2)), 3)
    assert results["frame_indices"] == [0, 1, 2, 2, 2]


def test_preset_indices_are_untouched():
    results = sample(SampleClipFrames(clip_len=2), 100, frame_indices=[10, 11, 12])
    assert results["frame_indices"] == [10, 11, 12]
    assert "frame_stride" not in results


def test_test_mode_is_deterministic_and_centred():
    transform = SampleClipFrames(clip_len=4, stride_range=(2, 3), test_mode=True)
    # stride 2 spans 7 frames; 20 - 7 = 13 free positions, centred start 6
    assert sample(transform, 20)["frame_indices"] == [6, 8, 10, 12]


def test_bad_arguments():
    with pytest.raises(ValueError, match="stride_range"):
        SampleClipFrames(clip_len=4, stride_range=(3, 1))
