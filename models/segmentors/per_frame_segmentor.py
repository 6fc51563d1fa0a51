"""Per-frame baseline: any mmseg segmentor run frame by frame over clips."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.utils import add_prefix

from steadyseg.models.stateful import State
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, Outputs, build_module


@MODELS.register_module()
class PerFrameVideoSegmentor(BaseVideoSegmentor):
    """Wraps an mmseg segmentor (e.g. ``EncoderDecoder`` with any mmseg or steadyseg backbone and head).

    Frames of all clips are flattened into one image batch, so the wrapped segmentor's own losses,
    auxiliary heads and train/test configs apply unchanged. It keeps no state between frames. ``segmentor`` (and
    each temporal loss) may be a config or a built module.
    ``temporal_losses``, ``teacher`` and ``input_short_side``: see :class:`BaseVideoSegmentor`.
    """

    def __init__(
        self,
        segmentor: dict | nn.Module,
        data_preprocessor: dict | None = None,
        temporal_losses: list[dict | nn.Module] | None = None,
        teacher: dict | BaseVideoSegmentor | None = None,
        input_short_side: int | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor,
            temporal_losses=temporal_losses,
            teacher=teacher,
            input_short_side=input_short_side,
            init_cfg=init_cfg,
        )
        self.segmentor = build_module(segmentor)

    def _decode(self, images: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Backbone features and head logits (at the head's resolution) of a batch of frames."""
        features = self.segmentor.extract_feat(images)
        return features, self.segmentor.decode_head(features)

    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[Outputs, State]:
        logits = self._decode(inputs.flatten(0, 1))[1]
        return {"logits": _to_clip_logits(logits, inputs)}, state

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        """The wrapped segmentor's own losses (decode and auxiliary heads) per frame, plus temporal losses."""
        frame_samples = self.frame_seg_samples(data_samples, inputs.shape[-2:])
        features, logits = self._decode(inputs.flatten(0, 1))
        losses = add_prefix(self.segmentor.decode_head.loss_by_feat(logits, frame_samples), "decode")
        if self.segmentor.with_auxiliary_head:
            losses.update(self.segmentor._auxiliary_head_forward_train(features, frame_samples))
        losses.update(self.temporal_loss_terms(_to_clip_logits(logits, inputs), inputs, data_samples))
        return losses


def _to_clip_logits(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``[B*T, C, h, w]`` head logits -> ``[B, T, C, H, W]`` at the input size."""
    logits = F.interpolate(logits, size=inputs.shape[-2:], mode="bilinear", align_corners=False)
    return logits.unflatten(0, inputs.shape[:2])
