"""Soft alpha from a binary people mask by closed-form matting over a band around the mask's edge.

This is pseudo ground truth: the mask decides what is person, closed-form matting (Levin et al., PAMI 2008,
through pymatting) only decides how alpha falls from 1 to 0 within ``band`` pixels of the mask's edge, from the
colours there. Where the colours do not follow its local linear model (hair over a busy background, motion blur
wider than the band, foreground and background of one colour) the alpha is wrong, and anything further than
``band`` pixels from the annotated edge keeps the annotation's hard 0 or 1.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import cv2
import numpy as np

try:
    from pymatting import estimate_alpha_cf, estimate_foreground_ml
except ImportError as error:
    raise ImportError(
        f"pseudo alpha needs pymatting, which is not installed ({error}): pip install 'steadyseg[matting]'"
    ) from error

# At 480p a 20 px wide unknown band (10 px on each side of the annotated edge) holds DAVIS's loose hair and
# most motion blur; at 15 px the matting leaked into dark backgrounds (breakdance-flare), at 5 px it hardly
# moves from the annotation (docs/matting.md, "Pseudo ground truth for real people").
DEFAULT_BAND = 10
FOREGROUND, UNKNOWN, BACKGROUND = 1.0, 0.5, 0.0


def _distance_to_zero(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of every non-zero pixel to the nearest zero pixel; the frame border is no edge."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _check_band(band: int) -> None:
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 1:
        raise ValueError(f"band must be a whole number of pixels >= 1, got {band!r}")


def trimap_from_mask(mask: np.ndarray, band: int = DEFAULT_BAND) -> np.ndarray:
    """The trimap of a binary mask: float32 ``H x W`` with 1 (foreground), 0 (background), 0.5 (unknown).

    Background is every pixel more than ``band`` px (Euclidean) from the mask: the mask dilated by a disk of
    radius ``band``. Foreground is the mask eroded by that disk (mask pixels more than ``band`` px from the
    outside), plus the core of thin parts: a part thinner than ``2 * band`` has no eroded pixel, and matting
    would fade it out (a tennis player's legs at 480p), so a mask pixel is foreground where its depth (distance
    to the outside) exceeds ``clip(nearby / 2, band / 2, band)``, ``nearby`` being the greatest depth within
    ``2 * band`` px of it. Where the mask is thicker than that, and at its right-angle corners, ``nearby / 2`` is
    never below a band pixel's own depth, so there the rule is the plain erosion; a part between ``band`` and
    ``2 * band`` px thick keeps its inner half; a part thinner than ``band`` (a finger, a rope) keeps none,
    and fades out, unless it is a connected part of its own far from the others: then it keeps the mask's
    hard alpha (see ``_keep_isolated_small_parts``).
    The frame border is no edge: a person cut by the frame stays foreground up to it.
    """
    _check_band(band)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be H x W, got shape {mask.shape}")
    mask = mask.astype(bool)
    if not mask.any():
        return np.full(mask.shape, BACKGROUND, np.float32)
    if mask.all():
        return np.full(mask.shape, FOREGROUND, np.float32)
    depth = _distance_to_zero(mask)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * band + 1, 4 * band + 1))
    nearby_depth = cv2.dilate(depth, disk)
    trimap = np.full(mask.shape, UNKNOWN, np.float32)
    trimap[depth > np.clip(nearby_depth / 2, band / 2, band)] = FOREGROUND
    trimap[_distance_to_zero(~mask) > band] = BACKGROUND
    _keep_isolated_small_parts(trimap, mask, band)
    return trimap


def _keep_isolated_small_parts(trimap: np.ndarray, mask: np.ndarray, band: int) -> None:
    """A connected part of the mask left without foreground (everywhere thinner than ``band``: a distant
    person) would vanish in matting. Where it lies more than ``band`` px from every part that has foreground,
    it keeps the mask's hard alpha: its pixels become foreground and the band around it background. Closer to
    such a part it stays unknown like any thin piece of that part (a rope cut in two by the annotation): hard
    foreground there would seed alpha inside the other part's unknown band and leak along it."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    has_foreground = np.zeros(count, bool)
    has_foreground[labels[trimap == FOREGROUND]] = True
    small = mask & ~has_foreground[labels]
    if not small.any():
        return
    matted = mask & ~small
    near_matted = _distance_to_zero(~matted) <= band if matted.any() else np.zeros_like(mask)
    near = np.zeros(count, bool)
    near[labels[small & near_matted]] = True
    isolated = small & ~near[labels]
    if not isolated.any():
        return
    trimap[isolated] = FOREGROUND
    # The band stays unknown only around the parts left to matting.
    others = mask & ~isolated
    near_others = _distance_to_zero(~others) <= band if others.any() else np.zeros_like(mask)
    trimap[(trimap == UNKNOWN) & ~mask & ~near_others] = BACKGROUND


def _float_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3 RGB, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float in [0, 1], got {image.dtype}")
    if image.size and (image.min() < 0 or image.max() > 1):
        raise ValueError(f"a float image must lie in [0, 1], got [{image.min():g}, {image.max():g}]")
    return image.astype(np.float64)


def _check_trimap(trimap: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    trimap = np.asarray(trimap)
    if trimap.shape != shape:
        raise ValueError(f"trimap shape {trimap.shape} differs from the image's {shape}")
    if not np.isin(trimap, (BACKGROUND, UNKNOWN, FOREGROUND)).all():
        raise ValueError("trimap values must be 0 (background), 0.5 (unknown) or 1 (foreground)")
    for value, name in ((FOREGROUND, "foreground"), (BACKGROUND, "background")):
        if not (trimap == value).any():
            raise ValueError(
                f"trimap has no known {name}: closed-form matting has nothing to interpolate from"
            )
    return trimap


def _low_resolution_trimap(trimap: np.ndarray, size: tuple[int, int], scale: float) -> np.ndarray:
    """A low-resolution pixel is known when any full-resolution pixel under it is: thin foreground survives."""
    covers = {
        value: cv2.resize((trimap == value).astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        for value in (FOREGROUND, BACKGROUND)
    }
    if (covers[FOREGROUND] & covers[BACKGROUND]).any():
        raise ValueError(
            f"scale {scale} puts known foreground and background into one pixel: the band is too narrow for it"
        )
    small = np.full(covers[FOREGROUND].shape, UNKNOWN, np.float64)
    small[covers[FOREGROUND]] = FOREGROUND
    small[covers[BACKGROUND]] = BACKGROUND
    return small


def _solve(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    # At a low scale a narrow band can vanish; pymatting's solver fails on an empty system.
    if not (trimap == UNKNOWN).any():
        return trimap.astype(np.float64)
    # pymatting prints a "PERFORMANCE WARNING" to stdout each time its preconditioner retries with a larger
    # shift, which it does on its own; it would break a progress bar and says nothing about the result.
    with contextlib.redirect_stdout(io.StringIO()):
        return estimate_alpha_cf(image, trimap)


def closed_form_alpha(image: np.ndarray, trimap: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Alpha (float64 ``H x W`` in [0, 1]) of an RGB image (uint8, or float in [0, 1]) within a trimap.

    Known pixels keep the trimap's 0 or 1 exactly. ``scale`` < 1 solves the unknown band on the image resized
    by that factor and upsamples the result bilinearly (the solve's cost grows with the band's pixel count).
    """
    image = _float_image(image)
    trimap = _check_trimap(trimap, image.shape[:2])
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    unknown = trimap == UNKNOWN
    alpha = trimap.astype(np.float64)
    if not unknown.any():
        return alpha
    if scale == 1:
        solved = _solve(image, alpha)
    else:
        height, width = trimap.shape
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        small_alpha = _solve(small_image, _low_resolution_trimap(trimap, size, scale))
        solved = cv2.resize(small_alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    alpha[unknown] = np.clip(solved[unknown], 0, 1)
    return alpha


def foreground_colour(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The foreground colour (float64 ``H x W x 3`` in [0, 1]) under ``alpha``: pymatting's multilevel estimate
    (Germer et al., 2020), which extends colours smoothly into pixels where alpha is 0."""
    image = _float_image(image)
    alpha = np.asarray(alpha)
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} differs from the image's {image.shape[:2]}")
    return np.clip(estimate_foreground_ml(image, alpha), 0, 1).astype(np.float64)


@dataclass(frozen=True)
class PseudoAlpha:
    """alpha: ``H x W`` in [0, 1]; fgr: ``H x W x 3`` in [0, 1].
    method: ``"matted"``; ``"empty"`` (no mask: alpha 0, fgr the image); or ``"binary"`` (the mask's band
    covers the whole frame, leaving no known background: alpha is the mask itself)."""

    alpha: np.ndarray
    fgr: np.ndarray
    method: str


def pseudo_alpha(
    image: np.ndarray, mask: np.ndarray, band: int = DEFAULT_BAND, scale: float = 1.0
) -> PseudoAlpha:
    """Pseudo ground-truth alpha and foreground of the person ``mask`` (``H x W``, non-zero = person)."""
    rgb = _float_image(image)
    mask = np.asarray(mask)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} differs from the image's {rgb.shape[:2]}")
    if not mask.any():
        return PseudoAlpha(np.zeros(mask.shape), rgb, "empty")
    trimap = trimap_from_mask(mask, band)
    if not (trimap == BACKGROUND).any():
        binary = mask.astype(bool).astype(np.float64)
        return PseudoAlpha(binary, foreground_colour(rgb, binary), "binary")
    alpha = closed_form_alpha(rgb, trimap, scale)
    return PseudoAlpha(alpha, foreground_colour(rgb, alpha), "matted")
