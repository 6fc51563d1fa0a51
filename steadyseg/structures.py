"""``VideoDataSample``: the clip-level data sample shared by models, datasets and metrics.

Shapes (``T`` frames of one clip, ``H x W`` the frame size of the field's reference resolution):

==================  ============================  ==========================================================
field               type / shape                  meaning
==================  ============================  ==========================================================
gt_sem_seg          LongTensor [T, H, W]          class per pixel, 255 = ignore
pred_sem_seg        LongTensor [T, H, W]          predicted class per pixel (at the original frame size)
seg_logits          FloatTensor [T, C, H, W]      raw scores behind ``pred_sem_seg``
gt_instances        list[InstanceData] (len T)    per frame: ``masks`` [N, H, W] bool, ``labels`` [N],
                                                  ``track_ids`` [N] (identity across frames)
gt_alpha            FloatTensor [T, 1, H, W]      matting alpha in [0, 1]
gt_fgr              FloatTensor [T, 3, H, W]      matting foreground colour in [0, 1]
gt_flow             FloatTensor [T-1, 2, H, W]    backward flow of frames 1..T-1: (dx, dy) such that
                                                  frame_t(x) ~ frame_{t-1}(x + flow(x))
==================  ============================  ==========================================================

Metainfo keys: ``video_id``, ``frame_indices`` (list[int], position of each clip frame in its video),
``num_video_frames``, ``ori_shape`` (H, W of the source), ``img_shape`` (H, W fed to the model), ``fps``,
``is_first_clip`` (the clip starts its video, so recurrent state resets).
"""

from __future__ import annotations

import torch
from mmengine.structures import BaseDataElement

_TENSOR_FIELDS = {
    "gt_sem_seg": 3,
    "pred_sem_seg": 3,
    "seg_logits": 4,
    "gt_alpha": 4,
    "gt_fgr": 4,
    "pred_alpha": 4,
    "pred_fgr": 4,
    "gt_flow": 4,
}


def _tensor_property(name: str, ndim: int) -> property:
    private = f"_{name}"

    def getter(self):
        return getattr(self, private)

    def setter(self, value):
        if not isinstance(value, torch.Tensor) or value.ndim != ndim:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise TypeError(f"VideoDataSample.{name} must be a {ndim}-d tensor, got {shape}")
        self.set_field(value, private, dtype=torch.Tensor)

    def deleter(self):
        delattr(self, private)

    return property(getter, setter, deleter)


class VideoDataSample(BaseDataElement):
    """Annotations and predictions of one clip; see the module docstring for every field's shape."""

    @property
    def gt_instances(self) -> list:
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: list) -> None:
        self.set_field(list(value), "_gt_instances", dtype=list)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances


for _name, _ndim in _TENSOR_FIELDS.items():
    setattr(VideoDataSample, _name, _tensor_property(_name, _ndim))
