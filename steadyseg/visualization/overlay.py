"""Drawing predictions over frames: a translucent colour per class plus the class outline."""

from __future__ import annotations

import cv2
import numpy as np

# Class 0 (background) is left untouched; the person colour is the first entry after it.
DEFAULT_PALETTE = np.array(
    [[0, 0, 0], [255, 64, 160], [64, 200, 255], [255, 200, 0], [120, 255, 80], [180, 90, 255]], dtype=np.uint8
)


def overlay_labels(
    frame: np.ndarray, labels: np.ndarray, opacity: float = 0.5, palette=DEFAULT_PALETTE
) -> np.ndarray:
    """``frame`` uint8 ``[H, W, 3]`` RGB, ``labels`` int ``[H, W]`` -> uint8 RGB with labelled regions tinted and outlined."""
    if frame.shape[:2] != labels.shape:
        raise ValueError(f"frame {frame.shape[:2]} and labels {labels.shape} differ in size")
    out = frame.astype(np.float32)
    for label in np.unique(labels):
        if label == 0:
            continue
        colour = palette[int(label) % len(palette)].astype(np.float32)
        region = labels == label
        out[region] = (1 - opacity) * out[region] + opacity * colour
        contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, colour.tolist(), thickness=max(1, min(frame.shape[:2]) // 200))
    return out.clip(0, 255).astype(np.uint8)


def colorize_labels(labels: np.ndarray, palette=DEFAULT_PALETTE) -> np.ndarray:
    """Label map ``[H, W]`` -> uint8 RGB image (background black)."""
    return palette[labels.astype(np.int64) % len(palette)]
