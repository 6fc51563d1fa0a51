"""``ClipRandomResizedCrop``: one random crop box for the whole clip, resized to a fixed size."""

from __future__ import annotations

import math

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import crop_clip, resize_clip

MAX_ATTEMPTS = 10


@TRANSFORMS.register_module()
class ClipRandomResizedCrop(BaseTransform):
    """Crop a random box of area fraction in ``scale`` and aspect ratio (w / h) in ``ratio`` (log-uniform),
    then resize to ``size``; the same box applies to every frame and annotation of the clip.

    After ``MAX_ATTEMPTS`` boxes that do not fit, falls back to the largest centred box whose ratio is
    clamped into ``ratio`` (the usual Inception-style procedure). Draws come from numpy's global RNG.

    Args:
        size: output (w, h), the same order as ``ClipResize``'s ``scale``; an int means square.
        scale: (min, max) fraction of the frame area.
        ratio: (min, max) aspect ratio w / h of the box.

    Updates ``img_shape`` and adds ``crop_box`` (x0, y0, x1, y1 in the input frame).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if not 0 < scale[0] <= scale[1] <= 1 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(
                f"ClipRandomResizedCrop: need 0 < scale <= 1 and 0 < ratio ranges, got {scale}, {ratio}"
            )
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)

    def sample_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(MAX_ATTEMPTS):
            target_area = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            box_w = round(math.sqrt(target_area * aspect))
            box_h = round(math.sqrt(target_area / aspect))
            if 0 < box_w <= width and 0 < box_h <= height:
                x0 = np.random.randint(0, width - box_w + 1)
                y0 = np.random.randint(0, height - box_h + 1)
                return x0, y0, x0 + box_w, y0 + box_h
        aspect = min(max(width / height, self.ratio[0]), self.ratio[1])
        box_w, box_h = (
            (width, round(width / aspect)) if width / height <= aspect else (round(height * aspect), height)
        )
        x0, y0 = (width - box_w) // 2, (height - box_h) // 2
        return x0, y0, x0 + box_w, y0 + box_h

    def transform(self, results: dict) -> dict:
        height, width = results["imgs"][0].shape[:2]
        box = self.sample_box(height, width)
        crop_clip(results, box)
        resize_clip(results, self.size)
        results["crop_box"] = tuple(int(v) for v in box)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})"
