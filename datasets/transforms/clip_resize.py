"""``ClipResize``: resize every frame (and, by default, every annotation) of a clip to one size."""

from __future__ import annotations

from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import INTERPOLATIONS, resize_clip, scaled_size, short_side_size


@TRANSFORMS.register_module()
class ClipResize(BaseTransform):
    """Resize a clip; give exactly one of ``scale`` and ``short_side``.

    Args:
        scale: target (w, h). With ``keep_ratio`` the frame is scaled by one factor to the largest size that
            fits inside (w, h); without it, to exactly (w, h).
        short_side: scale so the shorter side has this length (the ratio is always kept).
        keep_ratio: see ``scale``.
        resize_annotations: also resize masks, alpha, foreground and flow. Test pipelines set it False so
            that metrics run on the annotations at the original size.
        interpolation: for images, foreground and alpha (``'bilinear'``, ``'bicubic'``, ``'area'``,
            ``'nearest'``); label maps always use nearest.

    Updates ``img_shape`` and adds ``scale_factor`` (w_new / w, h_new / h).
    """

    def __init__(
        self,
        scale: tuple[int, int] | None = None,
        short_side: int | None = None,
        keep_ratio: bool = True,
        resize_annotations: bool = True,
        interpolation: str = "bilinear",
    ):
        if (scale is None) == (short_side is None):
            raise ValueError(
                f"ClipResize: give exactly one of scale and short_side, got {scale=}, {short_side=}"
            )
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"ClipResize: interpolation must be one of {list(INTERPOLATIONS)}, got {interpolation!r}"
            )
        self.scale = None if scale is None else tuple(scale)
        self.short_side = short_side
        self.keep_ratio = keep_ratio
        self.resize_annotations = resize_annotations
        self.interpolation = interpolation

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """(w, h) for a frame of ``height`` x ``width``; with ``short_side``, the size inference scales frames to
        (``clip_geometry.short_side_size``)."""
        if self.short_side is not None:
            return short_side_size(height, width, self.short_side)
        if self.keep_ratio:
            return scaled_size(height, width, min(self.scale[0] / width, self.scale[1] / height))
        return self.scale

    def transform(self, results: dict) -> dict:
        height, width = results["imgs"][0].shape[:2]
        new_w, new_h = self.target_size(height, width)
        resize_clip(results, (new_w, new_h), self.resize_annotations, self.interpolation)
        results["scale_factor"] = (new_w / width, new_h / height)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale}, short_side={self.short_side}, "
            f"keep_ratio={self.keep_ratio}, "
            f"resize_annotations={self.resize_annotations}, interpolation={self.interpolation!r})"
        )
