"""``ClipRandomAffineMotion`` for matting: motion without flow, and motion added to clips of several frames."""

import re

import numpy as np
import pytest

from steadyseg.datasets import ClipRandomAffineMotion, TemporalReverse

H, W = 40, 56
MOTION = dict(max_translation=0.05, max_rotation=2.0, max_scale=0.03, max_acceleration=0.5)


def matting_frame(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    alpha = np.zeros((H, W), np.uint8)
    alpha[10:30, 15:40] = 255
    alpha[9, 15:40] = 128
    return dict(
        imgs=rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        gt_fgr=rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        gt_alpha=alpha,
    )


def one_frame(**extra) -> dict:
    frame = matting_frame()
    return dict(
        video_id="photo",
        imgs=[frame["imgs"]],
        gt_fgr=[frame["gt_fgr"]],
        gt_alpha=[frame["gt_alpha"]],
        frame_indices=[0],
        num_video_frames=1,
        **extra,
    )


def move(results: dict, seed: int = 0, **options) -> dict:
    np.random.seed(seed)
    return ClipRandomAffineMotion(**{**MOTION, **options})(results)


def test_without_flow_the_motion_is_the_same_and_no_flow_is_left():
    with_flow = move(one_frame(gt_flow=[]), num_frames=4)
    without = move(one_frame(gt_flow=[]), num_frames=4, with_flow=False)
    assert len(with_flow["gt_flow"]) == 3 and "gt_flow" not in without
    np.testing.assert_array_equal(with_flow["motion_matrices"], without["motion_matrices"])
    for key in ("imgs", "gt_fgr", "gt_alpha"):
        assert len(without[key]) == 4
        for a, b in zip(with_flow[key], without[key]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(without["gt_alpha"][0], without["gt_alpha"][3])
    # Without flow, temporal reversal (which refuses flow) accepts the pseudo-clip.
    np.random.seed(0)
    assert TemporalReverse(prob=1.0)(without)["reversed"]


def test_a_clip_of_several_frames_gets_each_frame_moved_by_its_own_map():
    # Three copies of the photo, moved frame by frame, equal the photo animated into three frames by the same draw.
    clip = one_frame()
    for key in ("imgs", "gt_fgr", "gt_alpha"):
        clip[key] = clip[key] * 3
    clip.update(frame_indices=[4, 6, 8], num_video_frames=20)
    moved = move(clip, seed=3, with_flow=False)
    animated = move(one_frame(), seed=3, num_frames=3, with_flow=False)
    for key in ("imgs", "gt_fgr", "gt_alpha"):
        for a, b in zip(moved[key], animated[key]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(moved["motion_matrices"], animated["motion_matrices"])
    # It stays the same video: its frame indices and length are kept, no source frame is recorded.
    assert moved["frame_indices"] == [4, 6, 8] and moved["num_video_frames"] == 20
    assert "source_frame_index" not in moved


def test_clips_whose_flow_cannot_follow_are_refused():
    clip = one_frame()
    clip["imgs"] = clip["imgs"] * 2
    with pytest.raises(
        ValueError, match=re.escape("'photo' gives a 2-frame clip: the flow of a clip that already")
    ):
        move(dict(clip))
    with pytest.raises(ValueError, match="move it with with_flow=False and without loading gt_flow"):
        move(dict(clip, gt_flow=[np.zeros((H, W, 2), np.float32)]), with_flow=False)
    with pytest.raises(ValueError, match=re.escape("into num_frames=4, or moves every frame of a clip")):
        move(dict(clip), num_frames=4, with_flow=False)
