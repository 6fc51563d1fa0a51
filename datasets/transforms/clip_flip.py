"""``ClipFlip``: mirror the whole clip (frames, annotations and flow) with one random draw."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import flip_clip


@TRANSFORMS.register_module()
class ClipFlip(BaseTransform):
    """Flip every frame and annotation of the clip with probability ``prob``; flow's dx (horizontal) or dy
    (vertical) changes sign. Adds ``flip`` (bool) and ``flip_direction``.

    Args:
        prob: probability of flipping the clip.
        direction: ``'horizontal'`` or ``'vertical'``.
    """

    def __init__(self, prob: float = 0.5, direction: str = "horizontal"):
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"ClipFlip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            flip_clip(results, self.direction)
        results["flip"] = flip
        results["flip_direction"] = self.direction
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, direction={self.direction!r})"
