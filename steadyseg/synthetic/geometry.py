"""2-D affine transforms as 3x3 float64 matrices, and the flow fields they induce.

Every moving thing in a synthetic video (background, body part, pasted cut-out) is a texture fixed in its own
local coordinates plus a per-frame local -> frame transform ``A_t``. A pixel ``x`` of frame ``t`` then shows
local point ``A_t^-1 x``, which frame ``t-1`` showed at ``A_{t-1} A_t^-1 x``: the exact backward flow is the
affine field ``(A_{t-1} A_t^-1 - I) x``. Pixel centres sit at integer coordinates, as in ``cv2.remap``.
"""

from __future__ import annotations

import numpy as np


def translate(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def rotate(theta: float) -> np.ndarray:
    """Rotation by ``theta`` radians; with y pointing down it turns +y (down) towards -x."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def scale(sx: float, sy: float | None = None) -> np.ndarray:
    return np.diag([sx, sx if sy is None else sy, 1.0])


def compose(*matrices: np.ndarray) -> np.ndarray:
    """``compose(a, b, c)`` applies ``c`` first: the matrix product ``a @ b @ c``."""
    out = np.eye(3)
    for matrix in matrices:
        out = out @ matrix
    return out


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Transforms points ``[..., 2]``."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def pixel_scale(matrix: np.ndarray) -> float:
    """Length in pixels of one local unit (the transforms used here scale uniformly)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def box_grid(box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(xs [1, w], ys [h, 1])`` of the frame box ``(y0, y1, x0, x1)``."""
    y0, y1, x0, x1 = box
    return (
        np.arange(x0, x1, dtype=np.float32)[None, :],
        np.arange(y0, y1, dtype=np.float32)[:, None],
    )


def map_box(matrix: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Where the pixels of a frame box land under ``matrix``: two float32 arrays ``[h, w]`` (x, y)."""
    xs, ys = box_grid(box)
    m = matrix.astype(np.float32)
    return m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]


def backward_flow(current: np.ndarray, previous: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Exact backward flow ``[2, h, w]`` (dx, dy) over a frame box of a surface whose local -> frame
    transform is ``current`` now and was ``previous`` one frame earlier."""
    xs, ys = box_grid(box)
    d = (previous @ np.linalg.inv(current)).astype(np.float32)
    dx = (d[0, 0] - 1.0) * xs + d[0, 1] * ys + d[0, 2]
    dy = d[1, 0] * xs + (d[1, 1] - 1.0) * ys + d[1, 2]
    return np.stack(np.broadcast_arrays(dx, dy))


def bounding_box(
    points: np.ndarray, height: int, width: int, pad: float = 0.0
) -> tuple[int, int, int, int] | None:
    """Smallest frame box ``(y0, y1, x0, x1)`` holding every pixel centre within ``pad`` of the points'
    bounding rectangle, clipped to the frame; ``None`` when that is empty."""
    lo = np.floor(points.min(axis=0) - pad).astype(int)
    hi = np.ceil(points.max(axis=0) + pad).astype(int) + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], width), min(hi[1], height)
    if x0 >= x1 or y0 >= y1:
        return None
    return int(y0), int(y1), int(x0), int(x1)
