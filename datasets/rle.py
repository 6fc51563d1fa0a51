"""COCO run-length encoding in both JSON forms, in numpy (pycocotools is not a dependency).

An RLE is ``{"size": [H, W], "counts": ...}``: alternating run lengths of 0s and 1s over the mask in
column-major order, starting with 0s. ``counts`` is either the list of run lengths (uncompressed; the
generator's ``steadyseg.synthetic.rle`` writes and reads it) or pycocotools' compressed string: each count
(from the fourth on, minus the count two before it) is written as signed 5-bit groups, least significant
first, each group a character ``48 + group`` with bit ``0x20`` set while more groups follow; the last group's
bit ``0x10`` is the sign.
"""

from __future__ import annotations

import numpy as np

from steadyseg.synthetic.rle import decode_rle as decode_counts
from steadyseg.synthetic.rle import encode_rle as encode_counts

CHAR_OFFSET = 48
MORE = 0x20
SIGN = 0x10
GROUP_BITS = 5
GROUP_MASK = 0x1F


def counts_from_string(text: str | bytes) -> np.ndarray:
    """The run lengths (int64) of a compressed COCO counts string."""
    if isinstance(text, str):
        text = text.encode("ascii", errors="replace")
    codes = np.frombuffer(text, dtype=np.uint8).astype(np.int64) - CHAR_OFFSET
    if codes.size == 0:
        return np.zeros(0, np.int64)
    if ((codes < 0) | (codes > GROUP_MASK | MORE)).any():
        raise ValueError("compressed RLE counts hold characters outside '0'..'o'")
    last = (codes & MORE) == 0
    if not last[-1]:
        raise ValueError("compressed RLE counts end inside a number (truncated string)")
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    group_index = np.arange(codes.size) - np.repeat(starts, ends - starts + 1)
    values = np.add.reduceat((codes & GROUP_MASK) << (GROUP_BITS * group_index), starts)
    # A set sign bit in the last group makes the number negative (two's complement over its groups).
    negative = (codes[ends] & SIGN) != 0
    values -= negative * (1 << (GROUP_BITS * (ends - starts + 1)))
    # From the fourth count on, each is stored relative to the count two before it (same 0/1 parity).
    counts = values.copy()
    counts[1::2] = np.cumsum(values[1::2])
    counts[2::2] = np.cumsum(values[2::2])
    return counts


def counts_to_string(counts: list[int] | np.ndarray) -> str:
    """The compressed COCO string of run lengths ``counts`` (inverse of :func:`counts_from_string`)."""
    counts = [int(c) for c in counts]
    chars = []
    for i, count in enumerate(counts):
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            group = value & GROUP_MASK
            value >>= GROUP_BITS
            # Done once the rest is pure sign extension of this group's sign bit.
            more = value != (-1 if group & SIGN else 0)
            chars.append(chr(CHAR_OFFSET + (group | MORE if more else group)))
    return "".join(chars)


def decode_rle(rle: dict) -> np.ndarray:
    """The boolean mask ``[H, W]`` of a COCO RLE, compressed or not; ValueError if it is malformed."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"an RLE must be a dict with 'size' and 'counts', got {str(rle)[:80]}")
    size, counts = rle["size"], rle["counts"]
    if not (isinstance(size, list | tuple) and len(size) == 2 and all(int(s) >= 0 for s in size)):
        raise ValueError(f"RLE 'size' must be [height, width], got {size!r}")
    if isinstance(counts, str | bytes):
        counts = counts_from_string(counts)
    elif not isinstance(counts, list | tuple):
        raise ValueError(f"RLE 'counts' must be a string or a list, got {type(counts).__name__}")
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any():
        raise ValueError("RLE counts hold negative run lengths")
    return decode_counts({"size": [int(s) for s in size], "counts": counts})


def encode_rle(mask: np.ndarray) -> dict:
    """The compressed COCO RLE ``{"size": [H, W], "counts": str}`` of a 2-D mask (pycocotools' format)."""
    rle = encode_counts(mask)
    return {"size": rle["size"], "counts": counts_to_string(rle["counts"])}
