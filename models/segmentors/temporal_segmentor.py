"""Temporal video segmentor: an mmseg segmentor with a temporal module (state across frames) between its
encoder and its decode head."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.utils import add_prefix

from steadyseg.models.feature_layout import check_head_channels, complete_temporal_config, probe_features
from steadyseg.models.stateful import State
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, Outputs, build_module, stack_field


@MODELS.register_module()
class TemporalVideoSegmentor(BaseVideoSegmentor):
    """The per-frame model's segmentor with a temporal module inserted after its encoder (backbone and neck).

    Args:
        segmentor: an mmseg ``EncoderDecoder`` (config or built module), exactly as ``PerFrameVideoSegmentor``
            takes it: any backbone, neck, decode head and auxiliary heads. A per-frame config becomes a temporal
            one by changing ``type`` and adding ``temporal``, and a per-frame checkpoint's weights fit its
            ``segmentor.*`` keys (fine-tune with partial loading).
        temporal: a temporal module (``MultiScaleConvGRU``, ``FlowGuidedPropagation``; config or built). Its
            ``in_channels`` and ``strides`` are the encoder's features', measured on a probe frame: a config may
            leave them out, and values that disagree are an error naming the key. It returns features of the
            same shapes, so the heads are configured as on the encoder alone (their ``in_channels`` are checked
            the same way).
        data_preprocessor: defaults to ``VideoDataPreprocessor`` (its mean/std turn inputs back into images
            for the temporal module and the temporal losses).
        temporal_losses: see :class:`BaseVideoSegmentor`; they get the deepest fused feature as ``features`` and
            its stride as ``feature_stride``.
        teacher: the model distillation losses learn from; see :class:`BaseVideoSegmentor`.
        input_short_side: the scale ``step`` and ``predict_stream`` resize frames to; see
            :class:`BaseVideoSegmentor`.

    Frames of all clips are flattened to ``B * T`` images for the encoder and the heads; only the temporal module
    sees time (RVM's ``forward_time_series`` pattern). The temporal module is stateful (``models/stateful.py``);
    so may the decode head be (a recurrent decoder): a stateful head gets the fused features as clips
    ``[B, T, C_i, h_i, w_i]`` and its state, and returns logits ``[B * T, C, h, w]`` and its next state. The
    model's state is theirs, collected in that order. Auxiliary heads supervise the encoder's own (per-frame)
    features. Training clips start from the initial state.
    """

    def __init__(
        self,
        segmentor: dict | nn.Module,
        temporal: dict | nn.Module,
        data_preprocessor: dict | None = None,
        temporal_losses: list[dict | nn.Module] | None = None,
        teacher: dict | BaseVideoSegmentor | None = None,
        input_short_side: int | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type="VideoDataPreprocessor"),
            temporal_losses=temporal_losses,
            teacher=teacher,
            input_short_side=input_short_side,
            init_cfg=init_cfg,
        )
        owner = type(self).__name__
        self.segmentor = build_module(segmentor)
        self.layout = probe_features(self.segmentor, self.segmentor.extract_feat)
        if isinstance(temporal, dict):
            temporal = complete_temporal_config(temporal, self.layout, owner)
        self.temporal = build_module(temporal)
        for key in ("in_channels", "strides"):
            declared = getattr(self.temporal, key, None)
            measured = getattr(self.layout, "channels" if key == "in_channels" else key)
            if declared is not None and tuple(declared) != measured:
                raise ValueError(
                    f"{owner}: temporal.{key}={tuple(declared)} disagrees with the backbone's features, which "
                    f"have {key}={measured}"
                )
        heads = [("segmentor.decode_head", self.segmentor.decode_head)]
        if self.segmentor.with_auxiliary_head:
            auxiliary = self.segmentor.auxiliary_head
            auxiliary = auxiliary if isinstance(auxiliary, nn.ModuleList) else [auxiliary]
            heads += [(f"segmentor.auxiliary_head[{i}]", head) for i, head in enumerate(auxiliary)]
        for key, head in heads:
            check_head_channels(head, self.layout, key, owner)

    @property
    def decode_head(self) -> nn.Module:
        return self.segmentor.decode_head

    def forward_clip(
        self, inputs: torch.Tensor, state: State, flow: torch.Tensor | None = None
    ) -> tuple[Outputs, State]:
        """Logits ``[B, T, C, H, W]``; ``flow [B, T-1, 2, H, W]`` is the clips' backward flow, when known."""
        logits, _, _, state = self._forward_frames(inputs, state, flow)
        return {"logits": self._upsample(logits, inputs)}, state

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        frame_samples = self.frame_seg_samples(data_samples, inputs.shape[-2:])
        flow = stack_field(data_samples, "gt_flow")
        logits, features, fused, _ = self._forward_frames(inputs, self.initial_state(inputs[:, 0]), flow)
        losses = add_prefix(self.decode_head.loss_by_feat(logits, frame_samples), "decode")
        if self.segmentor.with_auxiliary_head:
            losses.update(self.segmentor._auxiliary_head_forward_train(features, frame_samples))
        losses.update(
            self.temporal_loss_terms(
                self._upsample(logits, inputs),
                inputs,
                data_samples,
                features=fused[-1],
                feature_stride=self.layout.strides[-1],
            )
        )
        return losses

    def _forward_frames(
        self, inputs: torch.Tensor, state: State, flow: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], State]:
        """Head logits ``[B*T, C, h, w]``, encoder features (``B*T`` first), fused features ``[B, T, ...]``, state."""
        batch, frames = inputs.shape[:2]
        parts = self.state_layout.split(state)
        features = self.segmentor.extract_feat(inputs.flatten(0, 1))
        clip_features = [feature.unflatten(0, (batch, frames)) for feature in features]
        images = self.images_from_inputs(inputs)
        if "temporal" in parts:
            fused, parts["temporal"] = self.temporal(
                clip_features, parts["temporal"], images=images, flow=flow
            )
        else:
            fused = self.temporal(clip_features, images=images, flow=flow)
        if "segmentor.decode_head" in parts:
            logits, parts["segmentor.decode_head"] = self.decode_head(fused, parts["segmentor.decode_head"])
        else:
            logits = self.decode_head([feature.flatten(0, 1) for feature in fused])
        return logits, features, fused, self.state_layout.join(parts)

    def _upsample(self, logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``[B*T, C, h, w]`` head logits -> ``[B, T, C, H, W]`` at the input size."""
        logits = F.interpolate(
            logits, size=inputs.shape[-2:], mode="bilinear", align_corners=self.decode_head.align_corners
        )
        return logits.unflatten(0, inputs.shape[:2])
