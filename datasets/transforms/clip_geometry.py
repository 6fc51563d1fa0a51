"""Geometry applied identically to every per-frame array of a clip (the results keys listed below).

==================  ==========================  =====================================
key                 per frame                   resampling
==================  ==========================  =====================================
imgs                H x W x 3 uint8 RGB         bilinear
gt_fgr              H x W x 3 uint8 RGB         bilinear
gt_alpha            H x W uint8 (0..255)        bilinear
gt_seg_maps         H x W uint8 class ids       nearest
gt_instance_masks   H x W x N bool              nearest, each instance's mask on its own
gt_flow             H x W x 2 float32 (T - 1)   bilinear, vectors scaled / negated
==================  ==========================  =====================================

``gt_instance_masks`` holds one channel per instance of the clip (the same N in every frame; overlapping
instances each keep their pixels), described by the clip-level ``gt_instance_track_ids`` and
``gt_instance_labels`` (int64 [N]), which geometry leaves alone.

Nearest resampling uses ``INTER_NEAREST_EXACT`` (pixel-centre convention, as ``INTER_LINEAR``), so label maps
stay aligned with the bilinearly resampled images.

:func:`short_side_size` is also how a model computes its input scale (``BaseVideoSegmentor.input_size``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

IMAGE_KEYS = ("imgs", "gt_fgr")
SMOOTH_MAP_KEYS = ("gt_alpha",)
# Class maps, resampled nearest with 255 (void) where nothing maps; the raw one keeps VSPW's stored labels.
LABEL_KEYS = ("gt_seg_maps", "gt_seg_maps_raw")
INSTANCE_KEY = "gt_instance_masks"
FLOW_KEY = "gt_flow"
PER_FRAME_KEYS = (*IMAGE_KEYS, *SMOOTH_MAP_KEYS, *LABEL_KEYS, INSTANCE_KEY)
# Every OpenCV resampling function takes images of up to 4 channels (some fail on more).
CV_MAX_CHANNELS = 4

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST_EXACT,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}


def _present(results: dict, keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if key in results]


def resample_masks(masks: np.ndarray, resample: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``resample`` (an OpenCV function of one uint8 H x W (x C) image, nearest interpolation) applied to
    every mask of an H x W x N bool stack, whatever N (0 included)."""
    if masks.shape[2] == 0:
        height, width = resample(np.zeros(masks.shape[:2], np.uint8)).shape[:2]
        return np.zeros((height, width, 0), bool)
    groups = [
        resample(np.ascontiguousarray(masks[..., i : i + CV_MAX_CHANNELS], dtype=np.uint8))
        for i in range(0, masks.shape[2], CV_MAX_CHANNELS)
    ]
    # OpenCV returns a one-channel result as H x W.
    return np.concatenate([g.reshape(*g.shape[:2], -1) for g in groups], axis=2).astype(bool)


def scaled_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """(w, h) of a ``height`` x ``width`` frame scaled by ``factor``: each side rounded to the nearest pixel (Python's
    ``round``), at least 1."""
    return max(round(width * factor), 1), max(round(height * factor), 1)


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(w, h) of a ``height`` x ``width`` frame scaled by one factor so that its shorter side is ``short_side``."""
    return scaled_size(height, width, short_side / min(height, width))


def resize_image(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """An image (frame, foreground or alpha; uint8 or float) resized to ``size`` = (w, h)."""
    return cv2.resize(image, size, interpolation=INTERPOLATIONS[interpolation])


def resize_clip(
    results: dict, size: tuple[int, int], with_annotations: bool = True, interpolation: str = "bilinear"
) -> None:
    """Resize to ``size`` = (w, h); flow vectors are scaled by the same factors as the pixel grid."""
    width, height = size
    image_h, image_w = results["imgs"][0].shape[:2]
    results["imgs"] = [resize_image(img, (width, height), interpolation) for img in results["imgs"]]
    if with_annotations:
        for key in _present(results, ("gt_fgr", *SMOOTH_MAP_KEYS)):
            results[key] = [resize_image(a, (width, height), interpolation) for a in results[key]]

        def nearest(m: np.ndarray) -> np.ndarray:
            return cv2.resize(m, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)

        for key in _present(results, LABEL_KEYS):
            results[key] = [nearest(m) for m in results[key]]
        if INSTANCE_KEY in results:
            results[INSTANCE_KEY] = [resample_masks(m, nearest) for m in results[INSTANCE_KEY]]
        if FLOW_KEY in results:
            factors = np.array([width / image_w, height / image_h], dtype=np.float32)
            # Linear interpolation keeps an affine flow field exact; non-linear ones are approximated.
            results[FLOW_KEY] = [
                cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) * factors
                for f in results[FLOW_KEY]
            ]
    results["img_shape"] = (height, width)


def crop_clip(results: dict, box: tuple[int, int, int, int]) -> None:
    """Crop every per-frame array to ``box`` = (x0, y0, x1, y1); flow vectors are unchanged by a crop."""
    x0, y0, x1, y1 = box
    for key in _present(results, (*PER_FRAME_KEYS, FLOW_KEY)):
        results[key] = [np.ascontiguousarray(a[y0:y1, x0:x1]) for a in results[key]]
    results["img_shape"] = (y1 - y0, x1 - x0)


def flip_clip(results: dict, direction: str) -> None:
    """Mirror every per-frame array; the flow component along the flip axis changes sign."""
    axis, component = {"horizontal": (1, 0), "vertical": (0, 1)}[direction]
    for key in _present(results, PER_FRAME_KEYS):
        results[key] = [np.ascontiguousarray(np.flip(a, axis)) for a in results[key]]
    if FLOW_KEY in results:
        flows = []
        for flow in results[FLOW_KEY]:
            flow = np.flip(flow, axis).copy()
            flow[..., component] *= -1
            flows.append(flow)
        results[FLOW_KEY] = flows
