"""``PackVideoInputs``: the clip's arrays -> ``inputs`` tensor + ``VideoDataSample``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from steadyseg.registry import TRANSFORMS
from steadyseg.structures import VideoDataSample

DEFAULT_META_KEYS = (
    "video_id",
    "frame_indices",
    "num_video_frames",
    "ori_shape",
    "img_shape",
    "fps",
    "is_first_clip",
    # The video's id in a YouTube-VIS / OVIS JSON, which the results JSON its evaluation server takes must use.
    "ann_video_id",
)


def _stack_channels_first(arrays: list[np.ndarray]) -> torch.Tensor:
    stacked = np.stack(arrays)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    return torch.from_numpy(np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)))


def tubes_of(results: dict) -> InstanceData:
    """The clip's instances as tubes ``masks`` [N, T, H, W]; a tube empty in every frame (cropped away) is
    dropped, as an instance no frame shows."""
    masks = torch.from_numpy(
        np.ascontiguousarray(np.stack(results["gt_instance_masks"]).transpose(3, 0, 1, 2))
    )
    shown = masks.flatten(1).any(1)
    return InstanceData(
        masks=masks[shown],
        track_ids=torch.as_tensor(results["gt_instance_track_ids"], dtype=torch.long)[shown],
        labels=torch.as_tensor(results["gt_instance_labels"], dtype=torch.long)[shown],
    )


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack a clip for the model; normalization is left to the model's data preprocessor.

    Produces ``inputs`` (uint8 Tensor [T, 3, H, W]) and ``data_samples`` (``VideoDataSample``) with, when
    loaded: ``gt_sem_seg`` LongTensor [T, H, W], ``gt_sem_seg_raw`` LongTensor [T, H, W] (the labels as stored,
    from ``gt_seg_maps_raw``; it must have the size of ``gt_seg_maps``, since no geometric transform moves
    it), ``gt_alpha`` float [T, 1, H, W] in [0, 1], ``gt_fgr`` float
    [T, 3, H, W] in [0, 1], ``gt_flow`` float [T-1, 2, H, W], ``gt_instances`` (``InstanceData`` of N tubes:
    ``masks`` bool [N, T, H, W], ``track_ids`` [N], ``labels`` [N], see :func:`tubes_of`); metainfo from the
    ``meta_keys`` present in the results.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = VideoDataSample()
        if "gt_seg_maps" in results:
            sample.gt_sem_seg = torch.from_numpy(np.stack(results["gt_seg_maps"]).astype(np.int64))
        if "gt_seg_maps_raw" in results:
            sample.gt_sem_seg_raw = torch.from_numpy(np.stack(results["gt_seg_maps_raw"]).astype(np.int64))
            if "gt_sem_seg" in sample and sample.gt_sem_seg_raw.shape != sample.gt_sem_seg.shape:
                raise ValueError(
                    f"PackVideoInputs: video {results.get('video_id')!r}: gt_seg_maps_raw "
                    f"{tuple(sample.gt_sem_seg_raw.shape)} and gt_seg_maps {tuple(sample.gt_sem_seg.shape)} "
                    "differ: a transform after LoadClipAnnotations moved the labels but not the raw labels "
                    "(load them with with_raw_sem_seg only in pipelines that move no annotations)"
                )
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
        if "gt_instance_masks" in results:
            sample.gt_instances = tubes_of(results)
        metainfo = {}
        for key in self.meta_keys:
            if key in results:
                value = results[key]
                metainfo[key] = [int(i) for i in value] if key == "frame_indices" else value
        sample.set_metainfo(metainfo)
        return dict(inputs=_stack_channels_first(results["imgs"]), data_samples=sample)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"
