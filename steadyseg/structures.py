"""``VideoDataSample``: the clip-level data sample shared by models, datasets and metrics.

Shapes (``T`` frames of one clip, ``H x W`` the frame size of the field's reference resolution):

==================  ============================  ==========================================================
field               type / shape                  meaning
==================  ============================  ==========================================================
gt_sem_seg          LongTensor [T, H, W]          class per pixel, 255 = ignore
gt_sem_seg_raw      LongTensor [T, H, W]          the annotation's labels as stored, where reading them
                                                  merges some (VSPW: voids 0 and 255 both -> 255 in
                                                  ``gt_sem_seg``); what VSPW's video consistency compares
pred_sem_seg        LongTensor [T, H, W]          predicted class per pixel (at the original frame size)
seg_logits          FloatTensor [T, C, H, W]      raw scores behind ``pred_sem_seg``
gt_instances        InstanceData (N tubes)        ``masks`` BoolTensor [N, T, H, W] (one tube per track,
                                                  tubes may overlap), ``track_ids`` LongTensor [N] (identity
                                                  within the video), ``labels`` LongTensor [N] (class)
pred_instances      InstanceData (N tubes)        as ``gt_instances``, plus ``scores`` FloatTensor [N]
gt_alpha            FloatTensor [T, 1, H, W]      matting alpha in [0, 1]
gt_fgr              FloatTensor [T, 3, H, W]      matting foreground colour in [0, 1]
pred_alpha          FloatTensor [T, 1, H, W]      predicted alpha
pred_fgr            FloatTensor [T, 3, H, W]      predicted foreground colour
gt_flow             FloatTensor [T-1, 2, H, W]    backward flow of frames 1..T-1: (dx, dy) such that
                                                  frame_t(x) ~ frame_{t-1}(x + flow(x))
==================  ============================  ==========================================================

Metainfo keys: ``video_id``, ``frame_indices`` (list[int], position of each clip frame in its video),
``num_video_frames``, ``ori_shape`` (H, W of the source), ``img_shape`` (H, W fed to the model), ``fps``,
``is_first_clip`` (the clip starts its video; evaluation carries recurrent state into a clip only when its
``frame_indices`` continue the previous clip of the same video).

Instance fields are checked when assigned (``sample.gt_instances = ...``), not when their own fields change
later. Like every field, they follow ``VideoDataSample.to(device)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from mmengine.structures import BaseDataElement, InstanceData

_TENSOR_FIELDS = {
    "gt_sem_seg": 3,
    "gt_sem_seg_raw": 3,
    "pred_sem_seg": 3,
    "seg_logits": 4,
    "gt_alpha": 4,
    "gt_fgr": 4,
    "pred_alpha": 4,
    "pred_fgr": 4,
    "gt_flow": 4,
}

# name -> (dtype, dims) of the fields every tube structure holds, one entry per instance (N).
_TUBE_FIELDS = {
    "masks": ("bool", ("N", "T", "H", "W")),
    "track_ids": ("int64", ("N",)),
    "labels": ("int64", ("N",)),
}
_INSTANCE_FIELDS = {
    "gt_instances": _TUBE_FIELDS,
    "pred_instances": {**_TUBE_FIELDS, "scores": ("floating point", ("N",))},
}


def _check_tensor(name: str, value: torch.Tensor, ndim: int) -> None:
    if not isinstance(value, torch.Tensor) or value.ndim != ndim:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(f"{name} must be a {ndim}-d tensor, got {shape}")


def _has_dtype(value: torch.Tensor, dtype: str) -> bool:
    return value.is_floating_point() if dtype == "floating point" else value.dtype == getattr(torch, dtype)


def _check_tubes(name: str, instances: InstanceData, fields: dict) -> None:
    """TypeError naming ``name.field`` unless ``instances`` holds each of ``fields`` with its dtype and
    dims, all of one length N (InstanceData itself checks lengths only once it holds N > 0 entries)."""
    if not isinstance(instances, InstanceData):
        raise TypeError(f"{name} must be an InstanceData of tubes, got {type(instances).__name__}")
    num_instances = None
    for field, (dtype, dims) in fields.items():
        value = getattr(instances, field, None)
        if not (isinstance(value, torch.Tensor) and _has_dtype(value, dtype) and value.ndim == len(dims)):
            got = (
                f"{value.dtype} {tuple(value.shape)}"
                if isinstance(value, torch.Tensor)
                else type(value).__name__
            )
            raise TypeError(f"{name}.{field} must be a {dtype} tensor [{', '.join(dims)}], got {got}")
        if num_instances is None:
            num_instances = len(value)
        elif len(value) != num_instances:
            raise TypeError(
                f"{name}.{field} has {len(value)} entries for the {num_instances} tubes of {name}.masks"
            )


def _checked_property(name: str, check: Callable[[str, object, object], None], spec: object) -> property:
    """A data field that ``check(qualified name, value, spec)`` validates on every assignment."""
    private = f"_{name}"

    def setter(self, value):
        try:
            check(f"VideoDataSample.{name}", value, spec)
        except TypeError:
            # BaseDataElement.__setattr__ lists the name as a field before this setter runs; a refused
            # first assignment must not leave the sample claiming a field it does not hold.
            if private not in self._data_fields:
                self._data_fields.discard(name)
            raise
        self.set_field(value, private)

    return property(lambda self: getattr(self, private), setter, lambda self: delattr(self, private))


class VideoDataSample(BaseDataElement):
    """Annotations and predictions of one clip; see the module docstring for every field's shape."""


for _name, _ndim in _TENSOR_FIELDS.items():
    setattr(VideoDataSample, _name, _checked_property(_name, _check_tensor, _ndim))
for _name, _fields in _INSTANCE_FIELDS.items():
    setattr(VideoDataSample, _name, _checked_property(_name, _check_tubes, _fields))
