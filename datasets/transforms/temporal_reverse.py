"""``TemporalReverse``: play the clip backwards (temporal augmentation)."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import FLOW_KEY, PER_FRAME_KEYS


@TRANSFORMS.register_module()
class TemporalReverse(BaseTransform):
    """Reverse frames, per-frame annotations and ``frame_indices`` with probability ``prob``.

    Clips with ``gt_flow`` are refused whatever the draw: the backward flow of the reversed clip is the
    forward flow of the original, which backward flow alone does not determine. Adds ``reversed`` (bool).
    """

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if FLOW_KEY in results:
            raise ValueError(
                "TemporalReverse: cannot reverse a clip with 'gt_flow' (its backward flow would be the "
                "unknown forward flow); drop TemporalReverse or with_flow"
            )
        reverse = bool(np.random.rand() < self.prob)
        if reverse:
            for key in (*PER_FRAME_KEYS, "frame_indices"):
                if key in results:
                    results[key] = list(results[key])[::-1]
        results["reversed"] = reverse
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob})"
