"""``PackVideoInputs``: the clip's arrays -> ``inputs`` tensor + ``VideoDataSample``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from steadyseg.registry import TRANSFORMS
from steadyseg.structures import VideoDataSample

from .load_clip_annotations import IGNORE_INDEX, PERSON

DEFAULT_META_KEYS = (
    "video_id",
    "frame_indices",
    "num_video_frames",
    "ori_shape",
    "img_shape",
    "fps",
    "is_first_clip",
)


def _stack_channels_first(arrays: list[np.ndarray]) -> torch.Tensor:
    stacked = np.stack(arrays)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    return torch.from_numpy(np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)))


def instances_of(instance_map: np.ndarray) -> InstanceData:
    """Per-frame instances: one boolean mask per track id present (0 and 255 are not instances)."""
    ids = [i for i in np.unique(instance_map).tolist() if i not in (0, IGNORE_INDEX)]
    masks = instance_map[None] == np.array(ids, dtype=instance_map.dtype).reshape(-1, 1, 1)
    return InstanceData(
        masks=torch.from_numpy(masks),
        labels=torch.full((len(ids),), PERSON, dtype=torch.long),
        track_ids=torch.tensor(ids, dtype=torch.long),
    )


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack a clip for the model; normalization is left to the model's data preprocessor.

    Produces ``inputs`` (uint8 Tensor [T, 3, H, W]) and ``data_samples`` (``VideoDataSample``) with, when
    loaded: ``gt_sem_seg`` LongTensor [T, H, W], ``gt_alpha`` float [T, 1, H, W] in [0, 1], ``gt_fgr`` float
    [T, 3, H, W] in [0, 1], ``gt_flow`` float [T-1, 2, H, W], ``gt_instances`` (list of T ``InstanceData``
    with ``masks`` [N, H, W] bool, ``labels`` [N] = person class 1, ``track_ids`` [N]); metainfo from the
    ``meta_keys`` present in the results.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = VideoDataSample()
        if "gt_seg_maps" in results:
            sample.gt_sem_seg = torch.from_numpy(np.stack(results["gt_seg_maps"]).astype(np.int64))
        if "gt_alpha" in results:
            sample.gt_alpha = _stack_channels_first(results["gt_alpha"]).float() / 255
        if "gt_fgr" in results:
            sample.gt_fgr = _stack_channels_first(results["gt_fgr"]).float() / 255
        if "gt_flow" in results:
            height, width = results["imgs"][0].shape[:2]
            flows = results["gt_flow"]
            sample.gt_flow = (
                _stack_channels_first(flows).float() if flows else torch.zeros(0, 2, height, width)
            )
        if "gt_instance_maps" in results:
            sample.gt_instances = [instances_of(m) for m in results["gt_instance_maps"]]
        metainfo = {}
        for key in self.meta_keys:
            if key in results:
                value = results[key]
                metainfo[key] = [int(i) for i in value] if key == "frame_indices" else value
        sample.set_metainfo(metainfo)
        return dict(inputs=_stack_channels_first(results["imgs"]), data_samples=sample)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"
