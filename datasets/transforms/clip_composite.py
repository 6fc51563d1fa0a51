"""``ClipComposite``: the model's input frames as foreground over background, ``alpha * fgr + (1 - alpha) * bg``."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import FLOW_KEY


@TRANSFORMS.register_module()
class ClipComposite(BaseTransform):
    """Composite each frame's foreground over its background with its alpha: with ``a = gt_alpha / 255``,
    ``imgs_t = a_t * fgr_t + (1 - a_t) * background_t``, float32 on the 0..255 scale (not rounded: the frames
    the model sees are exactly the composite of the ground truth; ``PackVideoInputs`` passes float frames
    through and ``VideoDataPreprocessor`` normalizes them like uint8 ones).

    The foreground is ``gt_fgr``, or with ``frames_are_foreground`` the clip's frames themselves (VideoMatte and
    image-matting sets, whose frames are the foreground: reading it once instead of twice), which then become
    ``gt_fgr``. The background comes from ``LoadClipBackground`` (``background``). Photometric augmentation
    belongs before this step, separately on the foreground (``ClipAlbumentations``) and on the background
    (``LoadClipBackground(transforms=...)``), so ``gt_fgr`` stays the foreground of the composite; geometric
    transforms after it keep the composite consistent (they move ``imgs``, ``gt_fgr`` and ``gt_alpha`` alike).

    A clip with ``gt_flow`` is refused: foreground and background move differently, so the composite's flow is
    neither's (``ClipRandomAffineMotion(with_flow=False)``, ``LoadClipAnnotations(with_flow=False)``).

    Args:
        frames_are_foreground: take the foreground from ``imgs`` (and refuse a loaded ``gt_fgr``) rather than
            from ``gt_fgr``.
    """

    def __init__(self, frames_are_foreground: bool = False):
        self.frames_are_foreground = frames_are_foreground

    def _foreground(self, results: dict, where: str) -> list[np.ndarray]:
        if self.frames_are_foreground:
            if "gt_fgr" in results:
                raise ValueError(
                    f"{where}: frames_are_foreground=True, but gt_fgr is loaded too: the foreground is the frames; "
                    "load with with_fgr=False (or set frames_are_foreground=False)"
                )
            return results["imgs"]
        if "gt_fgr" not in results:
            raise ValueError(
                f"{where}: no gt_fgr: load it (LoadClipAnnotations(with_fgr=True)), or set "
                "frames_are_foreground=True for sets whose frames are the foreground"
            )
        return results["gt_fgr"]

    def transform(self, results: dict) -> dict:
        where = f"ClipComposite: video {results.get('video_id')!r}"
        if FLOW_KEY in results:
            raise ValueError(
                f"{where}: has gt_flow, which the composite of a foreground and a background moving apart does "
                "not have; drop it (ClipRandomAffineMotion(with_flow=False), LoadClipAnnotations(with_flow=False))"
            )
        for key, source in (
            ("gt_alpha", "LoadClipAnnotations(with_alpha=True)"),
            ("background", "LoadClipBackground"),
        ):
            if key not in results:
                raise ValueError(f"{where}: no {key} (add {source} before ClipComposite)")
        foreground = self._foreground(results, where)
        alphas, backgrounds = results["gt_alpha"], results["background"]
        if not len(foreground) == len(alphas) == len(backgrounds):
            raise ValueError(
                f"{where}: {len(foreground)} foreground, {len(alphas)} alpha and {len(backgrounds)} background "
                "frames (load the background after the transforms that change the clip's length)"
            )
        composites = []
        for fgr, alpha, background in zip(foreground, alphas, backgrounds):
            if not fgr.shape == background.shape == (*alpha.shape, 3):
                raise ValueError(
                    f"{where}: foreground {fgr.shape}, alpha {alpha.shape} and background {background.shape} "
                    "differ in size (load the background after the transforms that change the clip's size)"
                )
            weight = alpha.astype(np.float32)[..., None] / 255
            composites.append(weight * fgr.astype(np.float32) + (1 - weight) * background.astype(np.float32))
        if self.frames_are_foreground:
            results["gt_fgr"] = list(foreground)
        results["imgs"] = composites
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(frames_are_foreground={self.frames_are_foreground})"
