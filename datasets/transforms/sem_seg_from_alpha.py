"""``SemSegFromAlpha``: the person mask of a matting clip, where its alpha is at least a threshold."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .load_clip_annotations import PERSON


@TRANSFORMS.register_module()
class SemSegFromAlpha(BaseTransform):
    """Add ``gt_seg_maps`` (per frame H x W uint8): person (1) where ``gt_alpha / 255 >= threshold``, else
    background (0), so segmentation metrics can score a matting clip (VideoMatte, image matting, pseudo alpha).

    Put it after every transform that moves alpha, or anywhere after loading (geometry moves the mask with the
    alpha, nearest). A clip that already has ``gt_seg_maps`` is refused rather than overwritten: load matting
    sets with ``LoadClipAnnotations(with_sem_seg=False)``.

    Args:
        threshold: alpha in (0, 1] from which a pixel is person.
    """

    def __init__(self, threshold: float = 0.5):
        if not 0 < threshold <= 1:
            raise ValueError(f"SemSegFromAlpha: threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold

    def transform(self, results: dict) -> dict:
        where = f"SemSegFromAlpha: video {results.get('video_id')!r}"
        if "gt_alpha" not in results:
            raise ValueError(f"{where}: no gt_alpha (load it with LoadClipAnnotations(with_alpha=True))")
        if "gt_seg_maps" in results:
            raise ValueError(
                f"{where}: gt_seg_maps is loaded already; load the clip with LoadClipAnnotations(with_sem_seg=False)"
            )
        level = self.threshold * 255
        results["gt_seg_maps"] = [(alpha >= level).astype(np.uint8) * PERSON for alpha in results["gt_alpha"]]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold})"
