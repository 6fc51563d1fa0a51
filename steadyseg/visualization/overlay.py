"""Drawing predictions over frames: a translucent colour per class plus the class outline."""

from __future__ import annotations

import cv2
import numpy as np

# Class 0 (background) is left untouched; the person colour is the first entry after it.
DEFAULT_PALETTE = np.array(
    [[0, 0, 0], [255, 64, 160], [64, 200, 255], [255, 200, 0], [120, 255, 80], [180, 90, 255]], dtype=np.uint8
)


def overlay_labels(
    frame: np.ndarray,
    labels: np.ndarray,
    opacity: float = 0.5,
    palette=DEFAULT_PALETTE,
    colours: np.ndarray | None = None,
) -> np.ndarray:
    """``frame`` uint8 ``[H, W, 3]`` RGB, ``labels`` non-negative int ``[H, W]`` -> uint8 RGB with labelled
    regions tinted and outlined. ``colours``: ``colorize_labels(labels, palette)``, when the caller has it."""
    if frame.shape[:2] != labels.shape:
        raise ValueError(f"frame {frame.shape[:2]} and labels {labels.shape} differ in size")
    out = frame.copy()
    top = int(labels.max())
    if top == 0:
        return out
    # People models label 0 and 1 only, which the maximum tells; otherwise bincount finds the classes present
    # in one pass, where np.unique would sort every pixel.
    present = [1] if top == 1 else np.flatnonzero(np.bincount(labels.ravel())[1:]) + 1
    colours = colorize_labels(labels, palette) if colours is None else colours
    # Blending the whole frame in uint8 and copying the labelled pixels through a mask costs a fraction of
    # blending each region in float.
    tinted = cv2.addWeighted(frame, 1 - opacity, colours, opacity, 0.0)
    labelled = (labels > 0).view(np.uint8)
    cv2.copyTo(tinted, labelled, out)
    thickness = max(1, min(frame.shape[:2]) // 200)
    for label in present:
        region = labelled if top == 1 else (labels == label).view(np.uint8)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        colour = palette[int(label) % len(palette)].tolist()
        cv2.drawContours(out, contours, -1, colour, thickness=thickness)
    return out


def colorize_labels(labels: np.ndarray, palette=DEFAULT_PALETTE) -> np.ndarray:
    """Label map ``[H, W]`` -> uint8 RGB image (background black); labels beyond the palette wrap around."""
    # take(mode="wrap") indexes modulo the palette without converting the labels to int64 first (6x faster).
    return np.take(palette, labels, axis=0, mode="wrap")
