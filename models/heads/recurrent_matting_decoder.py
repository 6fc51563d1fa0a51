"""Robust Video Matting's recurrent decoder: ConvGRUs at strides 16, 8, 4 and 2, an output block at stride 1.

From the paper (Lin et al., WACV 2022, section 3): a bottleneck block runs a ConvGRU on the LR-ASPP context at
1/16; each upsampling block (1/8, 1/4, 1/2) upsamples the coarser result bilinearly, concatenates the encoder's
skip feature and the input image downsampled to that scale, fuses them with a 3x3 conv-BN-ReLU and runs a ConvGRU;
the output block upsamples to the input scale, concatenates the image and refines with two 3x3 conv-BN-ReLU.
Every ConvGRU runs on the last half of its block's channels and passes the first half through, so part of each
feature stays per-frame and the recurrence costs a quarter of a full-width one.

Convolutions see the ``B * T`` frames flattened; only the GRUs see time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from steadyseg.models.stateful import State
from steadyseg.models.temporal.conv_gru import ConvGRU
from steadyseg.registry import MODELS

STRIDES = (2, 4, 8, 16)


@MODELS.register_module()
class RecurrentMattingDecoder(nn.Module):
    """``forward(images, features, state) -> (hidden, state)``.

    Args:
        feature_channels: channels of the encoder's features at strides 2, 4 and 8 and of the context at stride
            16, in that order (a model fills them in from its backbone and context).
        block_channels: widths of the upsampling blocks at 1/8, 1/4 and 1/2 and of the output block
            (RVM's MobileNetV3 model: 80, 40, 32, 16). The bottleneck keeps the context's width.
        norm_cfg: normalization after each 3x3 conv.

    ``images [B, T, 3, h, w]`` are the frames at the decoder's input scale (RGB in [0, 1]); ``features`` are
    clips ``[B, T, C_i, h_i, w_i]`` with ``h_i = ceil(h / stride_i)`` (what stride-2 convolutions with "same"
    padding give); ``hidden [B, T, block_channels[-1], h, w]`` feeds the model's projections and refiner.
    The state is one hidden tensor per stride, finest first (RVM's ``r1 .. r4``).
    """

    state_names = tuple(f"hidden_stride{stride}" for stride in STRIDES)

    def __init__(
        self,
        feature_channels: Sequence[int],
        block_channels: Sequence[int] = (80, 40, 32, 16),
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        if len(feature_channels) != len(STRIDES):
            raise ValueError(
                f"RecurrentMattingDecoder: feature_channels={tuple(feature_channels)} must list the channels at "
                f"strides {STRIDES} (three encoder features and the context)"
            )
        if len(block_channels) != 4:
            raise ValueError(
                f"RecurrentMattingDecoder: block_channels={tuple(block_channels)} must list four widths: the "
                "blocks at 1/8, 1/4, 1/2 and the output block"
            )
        if min(block_channels[:3]) < 2 or feature_channels[-1] < 2:
            raise ValueError(
                "RecurrentMattingDecoder: every recurrent block needs at least 2 channels (half of them recur); "
                f"got context {feature_channels[-1]} and block_channels {tuple(block_channels)}"
            )
        norm_cfg = norm_cfg or dict(type="BN")
        self.feature_channels = tuple(feature_channels)
        self.block_channels = tuple(block_channels)
        self.out_channels = block_channels[-1]
        skip2, skip4, skip8, context = feature_channels
        self.bottleneck = _RecurrentHalf(context)
        self.up8 = _UpsamplingBlock(context, skip8, block_channels[0], norm_cfg)
        self.up4 = _UpsamplingBlock(block_channels[0], skip4, block_channels[1], norm_cfg)
        self.up2 = _UpsamplingBlock(block_channels[1], skip2, block_channels[2], norm_cfg)
        self.output = _OutputBlock(block_channels[2], block_channels[3], norm_cfg)

    @property
    def hidden_channels(self) -> tuple[int, ...]:
        """Width of each hidden state, in ``state_names`` order."""
        blocks = (self.up2, self.up4, self.up8)
        return (*(block.recurrent.gru.channels for block in blocks), self.bottleneck.gru.channels)

    def initial_state(self, frame: torch.Tensor) -> State:
        """Zero hidden states for frames shaped like ``frame [B, 3, h, w]`` at the decoder's input scale."""
        batch, _, height, width = frame.shape
        return tuple(
            frame.new_zeros(batch, channels, -(-height // stride), -(-width // stride))
            for channels, stride in zip(self.hidden_channels, STRIDES)
        )

    def forward(
        self, images: torch.Tensor, features: Sequence[torch.Tensor], state: State
    ) -> tuple[torch.Tensor, State]:
        self._check(features, state)
        feature2, feature4, feature8, context = features
        hidden2, hidden4, hidden8, hidden16 = state
        images2 = _resize_clip(images, feature2.shape[-2:])
        images4 = _resize_clip(images2, feature4.shape[-2:])
        images8 = _resize_clip(images4, feature8.shape[-2:])
        x, hidden16 = self.bottleneck(context, hidden16)
        x, hidden8 = self.up8(x, feature8, images8, hidden8)
        x, hidden4 = self.up4(x, feature4, images4, hidden4)
        x, hidden2 = self.up2(x, feature2, images2, hidden2)
        return self.output(x, images), (hidden2, hidden4, hidden8, hidden16)

    def _check(self, features: Sequence[torch.Tensor], state: State) -> None:
        owner = type(self).__name__
        if len(features) != len(STRIDES) or len(state) != len(STRIDES):
            raise ValueError(
                f"{owner}: got {len(features)} features and {len(state)} state tensors; expected {len(STRIDES)} "
                f"of each (strides {STRIDES})"
            )
        for stride, channels, width, feature, hidden in zip(
            STRIDES, self.feature_channels, self.hidden_channels, features, state
        ):
            if feature.shape[2] != channels:
                raise ValueError(
                    f"{owner}: the feature at stride {stride} has {feature.shape[2]} channels; "
                    f"feature_channels lists {channels}"
                )
            expected = (feature.shape[0], width, *feature.shape[-2:])
            if tuple(hidden.shape) != expected:
                raise ValueError(
                    f"{owner}: state hidden_stride{stride} is {tuple(hidden.shape)} but the features at stride "
                    f"{stride} need {expected}: the state was made for another batch or frame size (start each "
                    "video from model.initial_state(frame))"
                )


class _RecurrentHalf(nn.Module):
    """A ConvGRU over the last half of a clip's channels; the first half passes through."""

    def __init__(self, channels: int):
        super().__init__()
        self.gru = ConvGRU(channels // 2)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        passthrough, recurrent = x.split([x.shape[2] - self.gru.channels, self.gru.channels], dim=2)
        recurrent, hidden = self.gru(recurrent, hidden)
        return torch.cat([passthrough, recurrent], dim=2), hidden


class _UpsamplingBlock(nn.Module):
    """Upsample to the skip feature's size, concatenate it and the image, fuse (3x3 conv-BN-ReLU), recur."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.fuse = ConvModule(
            in_channels + skip_channels + 3,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=dict(type="ReLU"),
        )
        self.recurrent = _RecurrentHalf(out_channels)

    def forward(
        self, x: torch.Tensor, skip: torch.Tensor, images: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([_resize_clip(x, skip.shape[-2:]), skip, images], dim=2)
        x = self.fuse(x.flatten(0, 1)).unflatten(0, skip.shape[:2])
        return self.recurrent(x, hidden)


class _OutputBlock(nn.Module):
    """Upsample to the image's size, concatenate the image, two 3x3 conv-BN-ReLU."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        common = dict(padding=1, norm_cfg=norm_cfg, act_cfg=dict(type="ReLU"))
        self.convs = nn.Sequential(
            ConvModule(in_channels + 3, out_channels, 3, **common),
            ConvModule(out_channels, out_channels, 3, **common),
        )

    def forward(self, x: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        x = torch.cat([_resize_clip(x, images.shape[-2:]), images], dim=2)
        return self.convs(x.flatten(0, 1)).unflatten(0, images.shape[:2])


def _resize_clip(clip: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``[B, T, C, h, w] -> [B, T, C, *size]``, bilinear. Halving an even size averages 2x2 blocks exactly."""
    if tuple(clip.shape[-2:]) == tuple(size):
        return clip
    resized = F.interpolate(clip.flatten(0, 1), size=tuple(size), mode="bilinear", align_corners=False)
    return resized.unflatten(0, clip.shape[:2])
