"""ConvGRU recurrence over the multi-scale features of any backbone (Robust Video Matting's recurrent decoder).

RVM (Lin et al., WACV 2022) runs a ConvGRU in every decoder block on half of the block's channels and
passes the other half through, so part of each feature stays purely per-frame and the recurrence costs a
quarter of a full-width GRU. Here the GRUs sit between the backbone and an unchanged mmseg decode head:
each feature keeps its channel count and the last ``gru_channels[i]`` channels of feature ``i`` are
replaced by the GRU's output. The recurrent width is chosen per scale because RVM's half of a deep
576-channel MobileNetV3 feature would cost more than the whole backbone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from steadyseg.models.stateful import State
from steadyseg.registry import MODELS


class ConvGRU(nn.Module):
    """Convolutional GRU cell with explicit state.

    ``r, z = sigmoid(conv([x, h]))``, ``c = tanh(conv([x, r * h]))``, ``h' = (1 - z) * h + z * c``; the output
    of each frame is its new hidden state. Input and hidden state have the same ``channels``.
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ConvGRU kernel_size must be odd to keep the feature size, got {kernel_size}")
        self.channels = channels
        self.gates = nn.Conv2d(2 * channels, 2 * channels, kernel_size, padding=kernel_size // 2)
        self.candidate = nn.Conv2d(2 * channels, channels, kernel_size, padding=kernel_size // 2)

    def forward_frame(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One frame ``x [B, C, h, w]`` and state ``h [B, C, h, w]`` -> new state."""
        reset, update = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        candidate = torch.tanh(self.candidate(torch.cat([x, reset * h], dim=1)))
        return h + update * (candidate - h)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A sequence ``x [B, T, C, h, w]`` from state ``h`` -> outputs ``[B, T, C, h, w]`` and the last state."""
        outputs = []
        for frame in x.unbind(dim=1):
            h = self.forward_frame(frame, h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


@MODELS.register_module()
class MultiScaleConvGRU(nn.Module):
    """ConvGRUs on the backbone features of a clip, one per scale with ``gru_channels[i] > 0``.

    Args:
        in_channels: channels of each backbone feature (in the backbone's output order).
        strides: output stride of each feature; the state of a ``[H, W]`` frame has size
            ``ceil(H / stride) x ceil(W / stride)`` (what stride-2 convolutions with "same" padding give).
        gru_channels: recurrent width per feature (0: that feature passes through unchanged).
        kernel_size: of the GRU convolutions.

    ``forward(features, state, images=None, flow=None)`` takes features ``[B, T, C_i, h_i, w_i]`` and returns
    features of the same shapes and the state after the last frame: one ``[B, gru_channels[i], h_i, w_i]``
    tensor per recurrent scale. ``images`` and ``flow`` are part of the temporal-module interface and unused.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        gru_channels: Sequence[int],
        kernel_size: int = 3,
    ):
        super().__init__()
        if not len(in_channels) == len(strides) == len(gru_channels):
            raise ValueError(
                f"MultiScaleConvGRU: in_channels {tuple(in_channels)}, strides {tuple(strides)} and gru_channels "
                f"{tuple(gru_channels)} must have one entry per backbone feature"
            )
        for index, (channels, width) in enumerate(zip(in_channels, gru_channels)):
            if not 0 <= width <= channels:
                raise ValueError(
                    f"MultiScaleConvGRU: gru_channels[{index}]={width} must be in [0, in_channels[{index}]={channels}]"
                )
        self.in_channels = tuple(in_channels)
        self.strides = tuple(strides)
        self.gru_channels = tuple(gru_channels)
        self.recurrent_index = tuple(i for i, width in enumerate(gru_channels) if width > 0)
        self.grus = nn.ModuleList(ConvGRU(gru_channels[i], kernel_size) for i in self.recurrent_index)

    @property
    def state_names(self) -> tuple[str, ...]:
        """One hidden state per recurrent feature, named by its stride."""
        return tuple(f"hidden_stride{self.strides[i]}" for i in self.recurrent_index)

    def initial_state(self, frame: torch.Tensor) -> State:
        """Zero hidden states for frames of ``frame``'s batch and size (``[B, 3, H, W]``)."""
        batch, _, height, width = frame.shape
        return tuple(
            frame.new_zeros(
                batch, self.gru_channels[i], -(-height // self.strides[i]), -(-width // self.strides[i])
            )
            for i in self.recurrent_index
        )

    def forward(
        self,
        features: Sequence[torch.Tensor],
        state: State,
        images: torch.Tensor | None = None,
        flow: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], State]:
        if len(features) != len(self.in_channels):
            raise ValueError(
                f"MultiScaleConvGRU got {len(features)} backbone features; in_channels lists {len(self.in_channels)}"
            )
        if len(state) != len(self.grus):
            raise ValueError(f"MultiScaleConvGRU state has {len(state)} tensors; expected {len(self.grus)}")
        outputs = list(features)
        new_state = []
        for gru, index, hidden in zip(self.grus, self.recurrent_index, state):
            feature = features[index]
            if feature.shape[2] != self.in_channels[index]:
                raise ValueError(
                    f"MultiScaleConvGRU: backbone feature {index} has {feature.shape[2]} channels; "
                    f"in_channels[{index}] is {self.in_channels[index]}"
                )
            if hidden.shape[-2:] != feature.shape[-2:]:
                raise ValueError(
                    f"MultiScaleConvGRU: state of feature {index} is {tuple(hidden.shape[-2:])} but the backbone "
                    f"gives {tuple(feature.shape[-2:])}; strides[{index}]={self.strides[index]} does not match "
                    "the backbone's output stride"
                )
            passthrough, recurrent = feature.split([feature.shape[2] - gru.channels, gru.channels], dim=2)
            recurrent, hidden = gru(recurrent, hidden)
            outputs[index] = torch.cat([passthrough, recurrent], dim=2)
            new_state.append(hidden)
        return outputs, tuple(new_state)
