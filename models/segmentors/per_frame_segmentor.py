"""Per-frame baseline: any mmseg segmentor run frame by frame over clips."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, State


@MODELS.register_module()
class PerFrameVideoSegmentor(BaseVideoSegmentor):
    """Wraps an mmseg segmentor (e.g. ``EncoderDecoder`` with any mmseg or steadyseg backbone and head).

    Frames of all clips are flattened into one image batch, so the wrapped segmentor's own losses,
    auxiliary heads and train/test configs apply unchanged. It keeps no state between frames.
    """

    def __init__(self, segmentor: dict, data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.segmentor = MODELS.build(segmentor)

    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        batch, frames = inputs.shape[:2]
        images = inputs.flatten(0, 1)
        logits = self.segmentor.decode_head(self.segmentor.extract_feat(images))
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return logits.unflatten(0, (batch, frames)), state

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        frame_samples = []
        for sample in data_samples:
            for gt in sample.gt_sem_seg:
                frame_samples.append(
                    SegDataSample(
                        gt_sem_seg=PixelData(data=gt[None]),
                        metainfo={
                            "img_shape": tuple(inputs.shape[-2:]),
                            "pad_shape": tuple(inputs.shape[-2:]),
                        },
                    )
                )
        return self.segmentor.loss(inputs.flatten(0, 1), frame_samples)
