"""``SampleClipFramesAtSpeed``: the training clip at a random playback speed, slow motion included."""

from __future__ import annotations

import math

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

# k * speed is computed in floating point: 3 * 0.1 must land on frame 0.3 -> 0, 10 * 0.3 on frame 3, not 2.
ROUNDING_SLACK = 1e-9


def speed_frame_indices(start: int, speed: float, clip_len: int) -> list[int]:
    """Frame positions ``start + floor(k * speed)`` for k = 0 .. clip_len - 1: a speed below 1 repeats frames
    (0.5: each frame twice), a speed above 1 skips frames (3: every third)."""
    return [start + math.floor(k * speed + ROUNDING_SLACK) for k in range(clip_len)]


def sample_speed_clip(
    num_frames: int, clip_len: int, speed_range: tuple[float, float], test_mode: bool = False
) -> tuple[list[int], float]:
    """``(frame_indices, speed)`` of a ``clip_len``-frame clip of a ``num_frames``-frame video.

    The speed is drawn uniformly from ``speed_range`` (numpy's global RNG), capped at
    ``(num_frames - 1) / (clip_len - 1)``, the fastest speed whose clip surely fits in the video (the slowest
    speed is kept when its clip fits); a video too short for even the slowest speed is played at that fitting
    speed, so its clip spans every frame with repeats. The start is uniform among the positions where the clip
    fits. ``test_mode``: the slowest speed (capped alike) and the clip centred, no draws.
    """
    low, high = speed_range
    fitting = math.inf if clip_len == 1 else (num_frames - 1) / (clip_len - 1)
    if speed_frame_indices(0, low, clip_len)[-1] > num_frames - 1:
        speed = fitting
    elif test_mode:
        speed = low
    else:
        speed = float(np.random.uniform(low, max(low, min(high, fitting))))
    span = speed_frame_indices(0, speed, clip_len)[-1]
    last_start = num_frames - 1 - span
    start = last_start // 2 if test_mode else int(np.random.randint(0, last_start + 1))
    return speed_frame_indices(start, speed, clip_len), speed


@TRANSFORMS.register_module()
class SampleClipFramesAtSpeed(BaseTransform):
    """Pick ``clip_len`` frames played at a random speed (Robust Video Matting's frame-speed augmentation).

    ``SampleClipFrames`` draws an integer stride, so its speeds are 1x, 2x, 3x, ...: no slow motion and nothing
    between. Here the speed is a real number: positions ``start + floor(k * speed)``, so 0.5x shows each frame
    twice, 2.5x steps by 2 and 3 in turn, 3x takes every third frame. See :func:`sample_speed_clip` for the
    draws and short videos. Preset ``frame_indices`` (test-mode chunks) are left untouched.

    Args:
        clip_len: frames per clip.
        speed_range: (slowest, fastest) speed, uniform in between; each > 0.
        test_mode: no randomness: the slowest speed and the clip centred in the video.

    Adds ``frame_indices`` (list[int]) and ``frame_speed``.
    """

    def __init__(self, clip_len: int, speed_range: tuple[float, float] = (0.5, 5.0), test_mode: bool = False):
        low, high = speed_range
        if clip_len < 1 or not 0 < low <= high:
            raise ValueError(
                f"SampleClipFramesAtSpeed: need clip_len >= 1 and 0 < speed_range[0] <= speed_range[1], got "
                f"clip_len={clip_len}, speed_range={speed_range}"
            )
        self.clip_len = clip_len
        self.speed_range = (float(low), float(high))
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        if "frame_indices" in results:
            return results
        indices, speed = sample_speed_clip(
            results["num_video_frames"], self.clip_len, self.speed_range, self.test_mode
        )
        results["frame_indices"] = indices
        results["frame_speed"] = speed
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, speed_range={self.speed_range}, "
            f"test_mode={self.test_mode})"
        )
