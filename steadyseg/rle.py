"""COCO run-length encoding in both JSON forms, on top of ``pycocotools.mask`` (shared by datasets and metrics).

An RLE is ``{"size": [H, W], "counts": ...}``: alternating run lengths of 0s and 1s over the mask in
column-major order, starting with 0s (a zero-length first run when the first pixel is set). ``counts`` is
either the list of run lengths (uncompressed; YouTube-VIS training JSON and the synthetic generator write it)
or pycocotools' compressed string (COCO, OVIS, and what :func:`encode_rle` writes by default).

pycocotools rejects a compressed string whose runs go past ``H x W``, but decodes one that stops short into a
mask whose last pixels are uninitialized memory. Its encoder writes exactly one string per mask (no
zero-length runs after the first), so a compressed string is accepted only if re-encoding its mask gives it
back; run-length lists are checked directly.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def encode_rle(mask: np.ndarray, compressed: bool = True) -> dict:
    """The RLE of a 2-D mask: counts as pycocotools' compressed ``str``, or with ``compressed=False`` as the
    list of run lengths."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"encode_rle: the mask must be 2-D [H, W], got shape {mask.shape}")
    size = [int(mask.shape[0]), int(mask.shape[1])]
    if compressed:
        return {"size": size, "counts": _encode_string(mask).decode("ascii")}
    flat = mask.ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": size, "counts": counts}


def decode_rle(rle: dict) -> np.ndarray:
    """The boolean mask ``[H, W]`` of a COCO RLE in either form; ValueError, saying what is wrong, if it is
    malformed."""
    height, width, counts = _checked(rle)
    if isinstance(counts, bytes):
        return _decode_string(height, width, counts)
    return mask_utils.decode(_string_of_runs(height, width, counts)).astype(bool)


def compress_rle(rle: dict) -> dict:
    """``rle`` (either form, checked as :func:`decode_rle` does) as ``{"size": [H, W], "counts": str}``: the
    form pycocotools' ``area``, ``iou`` and ``merge`` take."""
    height, width, counts = _checked(rle)
    if isinstance(counts, bytes):
        _decode_string(height, width, counts)
    else:
        counts = _string_of_runs(height, width, counts)["counts"]
    return {"size": [height, width], "counts": counts.decode("ascii")}


def _checked(rle: dict) -> tuple[int, int, bytes | list[int]]:
    """(height, width, counts): a compressed string as ASCII bytes, or a checked list of run lengths."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"an RLE must be a dict with 'size' and 'counts', got {str(rle)[:80]}")
    size, counts = rle["size"], rle["counts"]
    if not (
        isinstance(size, list | tuple)
        and len(size) == 2
        and all(isinstance(s, int | np.integer) and s >= 0 for s in size)
    ):
        raise ValueError(f"RLE 'size' must be [height, width], got {size!r}")
    height, width = int(size[0]), int(size[1])
    if isinstance(counts, str):
        if not counts.isascii():
            raise ValueError(f"compressed RLE counts {counts[:40]!r} hold non-ASCII characters")
        return height, width, counts.encode("ascii")
    if isinstance(counts, bytes):
        return height, width, counts
    if not isinstance(counts, list | tuple):
        raise ValueError(f"RLE 'counts' must be a string or a list, got {type(counts).__name__}")
    runs = np.asarray(counts, dtype=np.int64)
    if (runs < 0).any():
        raise ValueError("RLE counts hold negative run lengths")
    if runs.sum() != height * width:
        raise ValueError(f"RLE counts sum to {runs.sum()}, expected {height} x {width} = {height * width}")
    return height, width, runs.tolist()


def _string_of_runs(height: int, width: int, runs: list[int]) -> dict:
    return mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)


def _encode_string(mask: np.ndarray) -> bytes:
    return mask_utils.encode(np.asfortranarray(mask[..., None], dtype=np.uint8))[0]["counts"]


def _decode_string(height: int, width: int, counts: bytes) -> np.ndarray:
    where = f"compressed RLE counts {counts[:40].decode('ascii', 'replace')!r} of size [{height}, {width}]"
    try:
        mask = mask_utils.decode({"size": [height, width], "counts": counts}).astype(bool)
    except ValueError as error:
        raise ValueError(f"{where} are not a valid pycocotools string ({error})") from error
    # A mask without pixels has no runs to check (pycocotools writes "0" for it, other writers "").
    if mask.size and _encode_string(mask) != counts:
        raise ValueError(f"{where} do not cover exactly {height} x {width} pixels")
    return mask
