"""``SampleClipFrames``: which frames of a video form the training clip (RVM-style speed augmentation)."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SampleClipFrames(BaseTransform):
    """Pick ``clip_len`` frame positions ``start + k * stride`` -> ``results['frame_indices']``.

    The stride is drawn uniformly from the integers in ``stride_range`` (inclusive) and the start uniformly
    among the positions where the clip fits. For short videos the stride range is first capped at the
    largest stride that fits; if even stride ``stride_range[0]`` does not fit, the largest fitting stride
    below it is used; if the video has fewer than ``clip_len`` frames, the clip takes every frame and
    repeats the last one to reach ``clip_len``.

    Draws come from numpy's global RNG, so mmengine's seeding makes them reproducible. Preset
    ``frame_indices`` (test-mode chunks) are left untouched.

    Args:
        clip_len: frames per clip.
        stride_range: (min, max) stride, inclusive.
        test_mode: no randomness: the smallest fitting stride and the clip centred in the video.

    Adds ``frame_indices`` (list[int]) and ``frame_stride``.
    """

    def __init__(self, clip_len: int, stride_range: tuple[int, int] = (1, 1), test_mode: bool = False):
        low, high = stride_range
        if clip_len < 1 or low < 1 or high < low:
            raise ValueError(
                f"SampleClipFrames: need clip_len >= 1 and 1 <= stride_range[0] <= stride_range[1], "
                f"got clip_len={clip_len}, stride_range={stride_range}"
            )
        self.clip_len = clip_len
        self.stride_range = (low, high)
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        if "frame_indices" in results:
            return results
        num_frames = results["num_video_frames"]
        low, high = self.stride_range
        # Largest stride whose clip fits in the video (any stride fits a one-frame clip).
        max_fit = high if self.clip_len == 1 else max((num_frames - 1) // (self.clip_len - 1), 1)
        if max_fit < low:
            stride = max_fit
        elif self.test_mode:
            stride = low
        else:
            stride = int(np.random.randint(low, min(high, max_fit) + 1))
        last_start = max(num_frames - (self.clip_len - 1) * stride - 1, 0)
        start = last_start // 2 if self.test_mode else int(np.random.randint(0, last_start + 1))
        results["frame_indices"] = [min(start + k * stride, num_frames - 1) for k in range(self.clip_len)]
        results["frame_stride"] = stride
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, stride_range={self.stride_range}, "
            f"test_mode={self.test_mode})"
        )
