"""``ClipAlbumentations``: albumentations 2.x transforms applied to a whole clip with one parameter draw."""

from __future__ import annotations

import albumentations as A
import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import FLOW_KEY, INSTANCE_KEY, LABEL_KEYS, SMOOTH_MAP_KEYS


def build_albumentation(cfg: dict | A.BasicTransform | A.BaseCompose) -> A.BasicTransform | A.BaseCompose:
    """An albumentations transform from ``dict(type='ColorJitter', ...)``; compositions (``OneOf``,
    ``SomeOf``, ...) take their ``transforms`` as dicts too."""
    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    name = cfg.pop("type", None)
    factory = getattr(A, name, None) if isinstance(name, str) else None
    if not (isinstance(factory, type) and issubclass(factory, (A.BasicTransform, A.BaseCompose))):
        raise ValueError(f"ClipAlbumentations: {name!r} is not an albumentations transform (in {cfg})")
    if "transforms" in cfg:
        cfg["transforms"] = [build_albumentation(child) for child in cfg["transforms"]]
    return factory(**cfg)


def geometric_transforms(transform: A.BasicTransform | A.BaseCompose) -> list[str]:
    """Names of the transforms that move pixels (DualTransform), looking inside compositions."""
    if isinstance(transform, A.BaseCompose):
        return [name for child in transform.transforms for name in geometric_transforms(child)]
    return [type(transform).__name__] if isinstance(transform, A.DualTransform) else []


@TRANSFORMS.register_module()
class ClipAlbumentations(BaseTransform):
    """Apply albumentations transforms to every frame of the clip with the same parameters.

    All frames go in one call as ``images`` (T x H x W x 3), every label / alpha map and every instance mask
    of every frame as ``masks``, the foreground as a second ``images`` target, so one parameter draw covers
    the whole clip. Masks (including
    alpha) are resampled the albumentations way, nearest by default: for matting prefer ``ClipResize`` /
    ``ClipRandomResizedCrop``, which resample alpha bilinearly. Padding fills masks with each transform's
    ``fill_mask`` (0 = background unless set, e.g. to 255 = ignore).

    The draw is seeded from numpy's global RNG, so mmengine's seeding makes it reproducible.

    A clip with ``gt_flow`` only accepts photometric transforms: albumentations moves pixels but would
    leave the flow vectors stale.

    Args:
        transforms: albumentations transforms as dicts (``dict(type='ColorJitter', brightness=0.2)``) or
            instances.
    """

    def __init__(self, transforms: list[dict | A.BasicTransform]):
        self.transforms = [build_albumentation(t) for t in transforms]
        self.compose = A.Compose(self.transforms, additional_targets={"gt_fgr": "images"})
        self.geometric = geometric_transforms(self.compose)

    def transform(self, results: dict) -> dict:
        if FLOW_KEY in results and self.geometric:
            raise ValueError(
                f"ClipAlbumentations: geometric transforms {self.geometric} cannot keep 'gt_flow' exact; "
                f"use ClipResize / ClipRandomResizedCrop / ClipFlip for clips with flow"
            )
        num_frames = len(results["imgs"])
        mask_keys = [key for key in (*LABEL_KEYS, *SMOOTH_MAP_KEYS) if key in results]
        masks = [np.stack(results[key]) for key in mask_keys]
        # Each instance of each frame is one more mask: T x H x W x N -> (T * N) x H x W, frame-major.
        instances = np.stack(results[INSTANCE_KEY]).transpose(0, 3, 1, 2) if INSTANCE_KEY in results else None
        if instances is not None and instances.size:
            masks.append(instances.reshape(-1, *instances.shape[2:]).astype(np.uint8))
        inputs = dict(images=np.stack(results["imgs"]))
        if masks:
            inputs["masks"] = np.concatenate(masks)
        if "gt_fgr" in results:
            inputs["gt_fgr"] = np.stack(results["gt_fgr"])
        self.compose.set_random_seed(int(np.random.randint(2**31)))
        outputs = self.compose(**inputs)
        results["imgs"] = list(outputs["images"])
        for k, key in enumerate(mask_keys):
            results[key] = list(outputs["masks"][k * num_frames : (k + 1) * num_frames])
        if instances is not None:
            height, width = results["imgs"][0].shape[:2]
            moved = (
                np.asarray(outputs["masks"][len(mask_keys) * num_frames :])
                if instances.size
                else np.zeros((0, height, width), np.uint8)
            )
            moved = moved.reshape(num_frames, instances.shape[1], height, width)
            # Padding fills masks with fill_mask (0, or e.g. 255 = ignore): neither is an instance.
            results[INSTANCE_KEY] = list(moved.transpose(0, 2, 3, 1) == 1)
        if "gt_fgr" in results:
            results["gt_fgr"] = list(outputs["gt_fgr"])
        results["img_shape"] = results["imgs"][0].shape[:2]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.transforms})"
