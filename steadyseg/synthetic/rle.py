"""Uncompressed COCO run-length encoding (what YouTube-VIS JSON holds), in numpy (no pycocotools)."""

from __future__ import annotations

import numpy as np


def encode_rle(mask: np.ndarray) -> dict:
    """``{"size": [H, W], "counts": [...]}``: alternating run lengths of 0s and 1s over the mask in
    column-major (Fortran) order, starting with the 0s (a zero-length run when the first pixel is set)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def decode_rle(rle: dict) -> np.ndarray:
    """The boolean mask ``[H, W]`` of an uncompressed RLE."""
    height, width = rle["size"]
    counts = np.asarray(rle["counts"], dtype=np.int64)
    if counts.sum() != height * width:
        raise ValueError(f"RLE counts sum to {counts.sum()}, expected {height} x {width} = {height * width}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape((height, width), order="F")
