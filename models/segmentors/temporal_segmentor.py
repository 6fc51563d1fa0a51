"""Temporal video segmentor: per-frame encoder -> temporal module (state across frames) -> per-frame head."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.utils import add_prefix

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, State, stack_field


@MODELS.register_module()
class TemporalVideoSegmentor(BaseVideoSegmentor):
    """Encoder + temporal module + decode head, all built by ``type=``.

    Args:
        backbone: any mmseg or steadyseg backbone; its outputs are the temporal module's features.
        temporal: a temporal module (``MultiScaleConvGRU``, ``FlowGuidedPropagation``) whose ``in_channels``
            match the backbone's outputs; it returns features of the same shapes, so the head is configured as
            it would be on the backbone alone.
        decode_head: any mmseg decode head; its losses (``loss_decode``) are mmseg's ``loss_by_feat``.
        data_preprocessor: defaults to ``VideoDataPreprocessor`` (its mean/std turn inputs back into images
            for the temporal module and the temporal losses).
        temporal_losses: see :class:`BaseVideoSegmentor`; they get the deepest fused feature as ``features``.
        auxiliary_head: mmseg decode head(s) on the backbone's own (per-frame) features, deep supervision of
            the encoder as in mmseg's ``EncoderDecoder``.
        teacher: the model distillation losses learn from; see :class:`BaseVideoSegmentor`.

    Frames of all clips are flattened to ``B * T`` images for the backbone and the heads; only the
    temporal module sees time (RVM's ``forward_time_series`` pattern). The state is the temporal module's.
    Training clips start from the initial state; ``predict`` carries the state across a video's clips.
    """

    def __init__(
        self,
        backbone: dict,
        temporal: dict,
        decode_head: dict,
        data_preprocessor: dict | None = None,
        temporal_losses: list[dict] | None = None,
        auxiliary_head: dict | list[dict] | None = None,
        teacher: dict | BaseVideoSegmentor | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type="VideoDataPreprocessor"),
            temporal_losses=temporal_losses,
            teacher=teacher,
            init_cfg=init_cfg,
        )
        self.backbone = MODELS.build(backbone)
        self.temporal = MODELS.build(temporal)
        self.decode_head = MODELS.build(decode_head)
        if isinstance(auxiliary_head, dict):
            auxiliary_head = [auxiliary_head]
        self.auxiliary_heads = nn.ModuleList(MODELS.build(cfg) for cfg in auxiliary_head or [])

    @property
    def is_recurrent(self) -> bool:
        return True

    def initial_state(self, frame: torch.Tensor) -> State:
        return self.temporal.initial_state(frame)

    def forward_clip(
        self, inputs: torch.Tensor, state: State, flow: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """Logits ``[B, T, C, H, W]``; ``flow [B, T-1, 2, H, W]`` is the clips' backward flow, when known."""
        logits, _, _, state = self._forward_frames(inputs, state, flow)
        return self._upsample(logits, inputs), state

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        frame_samples = self.frame_seg_samples(data_samples, inputs.shape[-2:])
        flow = stack_field(data_samples, "gt_flow")
        logits, backbone_features, fused, _ = self._forward_frames(
            inputs, self.initial_state(inputs[:, 0]), flow
        )
        losses = add_prefix(self.decode_head.loss_by_feat(logits, frame_samples), "decode")
        for index, head in enumerate(self.auxiliary_heads):
            prefix = "aux" if len(self.auxiliary_heads) == 1 else f"aux_{index}"
            losses.update(add_prefix(head.loss_by_feat(head(backbone_features), frame_samples), prefix))
        losses.update(
            self.temporal_loss_terms(self._upsample(logits, inputs), inputs, data_samples, features=fused[-1])
        )
        return losses

    def _forward_frames(
        self, inputs: torch.Tensor, state: State, flow: torch.Tensor | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], list[torch.Tensor], State]:
        """Head logits ``[B*T, C, h, w]``, backbone features (``B*T`` first), fused features ``[B, T, ...]``, state."""
        batch, frames = inputs.shape[:2]
        backbone_features = self.backbone(inputs.flatten(0, 1))
        clip_features = [feature.unflatten(0, (batch, frames)) for feature in backbone_features]
        fused, state = self.temporal(clip_features, state, images=self.images_from_inputs(inputs), flow=flow)
        logits = self.decode_head([feature.flatten(0, 1) for feature in fused])
        return logits, backbone_features, fused, state

    def _upsample(self, logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``[B*T, C, h, w]`` head logits -> ``[B, T, C, H, W]`` at the input size."""
        logits = F.interpolate(
            logits, size=inputs.shape[-2:], mode="bilinear", align_corners=self.decode_head.align_corners
        )
        return logits.unflatten(0, inputs.shape[:2])
