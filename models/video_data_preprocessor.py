"""Batches clips into ``[B, T, 3, H, W]`` float tensors on the model's device, normalized per channel."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from steadyseg.registry import MODELS


@MODELS.register_module()
class VideoDataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs`` (a list of uint8 ``[T, 3, H, W]`` clips) and normalizes them.

    Clips of different sizes are padded at the bottom/right to the largest (rounded up to
    ``size_divisor``); the padded area of ``gt_sem_seg`` gets ``seg_pad_val`` so losses ignore it.
    """

    def __init__(
        self,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375),
        size_divisor: int | None = None,
        pad_val: float = 0.0,
        seg_pad_val: int = 255,
        non_blocking: bool = False,
    ):
        super().__init__(non_blocking)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 1, 3, 1, 1), False)
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        clips = data["inputs"]
        data_samples = data.get("data_samples")
        if isinstance(clips, torch.Tensor) and clips.ndim == 4:
            clips = [clips]
        height = max(clip.shape[-2] for clip in clips)
        width = max(clip.shape[-1] for clip in clips)
        if self.size_divisor:
            height = -(-height // self.size_divisor) * self.size_divisor
            width = -(-width // self.size_divisor) * self.size_divisor
        batch = []
        for clip in clips:
            clip = (clip.float() - self.mean[0]) / self.std[0]
            pad = (0, width - clip.shape[-1], 0, height - clip.shape[-2])
            batch.append(F.pad(clip, pad, value=self.pad_val))
        if data_samples is not None:
            for sample in data_samples:
                sample.set_metainfo({"batch_input_shape": (height, width)})
                if training and "gt_sem_seg" in sample:
                    gt = sample.gt_sem_seg
                    pad = (0, width - gt.shape[-1], 0, height - gt.shape[-2])
                    sample.gt_sem_seg = F.pad(gt, pad, value=self.seg_pad_val)
        return {"inputs": torch.stack(batch), "data_samples": data_samples}
