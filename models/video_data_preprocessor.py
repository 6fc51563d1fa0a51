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
    ``size_divisor``). In training, every ground-truth field of the data samples is padded with them, so
    the losses can stack a batch:

    - ``gt_sem_seg`` and ``gt_sem_seg_raw`` (the labels as stored) with ``seg_pad_val`` (255, ignored by the
      segmentation losses, and a void label of the stored labels that have one, such as VSPW's);
    - ``gt_flow`` with 0: the padding is the same constant in every frame of a clip, so its true motion is
      zero (flow-guided propagation keeps its memory there, and the flow-warped losses see static content);
    - ``gt_alpha`` with 0: the padding shows no person, so its true alpha is background;
    - ``gt_fgr`` with 0: foreground colour is undefined where alpha is 0; the foreground metric counts only
      pixels with alpha > 0 (Robust Video Matting's foreground loss does the same), so foreground losses must
      too, and then the value there is never used;
    - ``gt_instances.masks`` (``[N, T, H, W]`` tubes) with False: no instance covers the padding.

    At test time ground truth keeps its size: predictions are cropped back to ``img_shape`` and scored
    against it.
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
            for index, sample in enumerate(data_samples):
                sample.set_metainfo({"batch_input_shape": (height, width)})
                if training:
                    self._pad_ground_truth(sample, index, height, width)
        return {"inputs": torch.stack(batch), "data_samples": data_samples}

    def _pad_ground_truth(self, sample, index: int, height: int, width: int) -> None:
        pad_values = {
            "gt_sem_seg": self.seg_pad_val,
            "gt_sem_seg_raw": self.seg_pad_val,
            "gt_flow": 0.0,
            "gt_alpha": 0.0,
            "gt_fgr": 0.0,
        }
        for name, value in pad_values.items():
            if name in sample:
                padded = _pad_to(getattr(sample, name), height, width, value, f"data sample {index}'s {name}")
                setattr(sample, name, padded)
        instances = sample.get("gt_instances")
        if instances is not None and "masks" in instances:
            name = f"data sample {index}'s gt_instances.masks"
            instances.masks = _pad_to(instances.masks, height, width, False, name)


def _pad_to(tensor: torch.Tensor, height: int, width: int, value: float, name: str) -> torch.Tensor:
    """``tensor [..., h, w]`` padded at the bottom/right with ``value`` to ``[..., height, width]``."""
    pad_height, pad_width = height - tensor.shape[-2], width - tensor.shape[-1]
    if pad_height < 0 or pad_width < 0:
        raise ValueError(
            f"VideoDataPreprocessor: {name} is {tuple(tensor.shape[-2:])} (H, W), larger than the batch's "
            f"clips {(height, width)}"
        )
    return F.pad(tensor, (0, pad_width, 0, pad_height), value=value)
