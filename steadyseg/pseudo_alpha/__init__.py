"""Pseudo ground-truth alpha mattes of real people from their binary masks (closed-form matting)."""

from .matting import (
    DEFAULT_BAND,
    PseudoAlpha,
    closed_form_alpha,
    foreground_colour,
    pseudo_alpha,
    trimap_from_mask,
)

__all__ = [
    "DEFAULT_BAND",
    "PseudoAlpha",
    "closed_form_alpha",
    "foreground_colour",
    "pseudo_alpha",
    "trimap_from_mask",
]
