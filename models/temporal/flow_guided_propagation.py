"""Flow-guided feature propagation: the previous frame's features, warped to the current frame, fused by a gate.

Backward flow (``frame_t(x) ~ frame_{t-1}(x + flow(x))``) brings the memory of the previous frame (its fused
features) into the current frame's geometry, as in deep feature flow (Zhu et al., CVPR 2017) and Accel (Jain
et al., CVPR 2019). A learned per-pixel gate decides how much of the warped memory replaces the current
features. It sees both features and the photometric warp error ``|I_t - W(I_{t-1})|``, which is large where
the flow is wrong or pixels are disoccluded (the cue of Lai et al.'s occlusion mask). Pixels whose flow
leaves the frame, and the first frame of a video, keep the current features.

Flow of the transitions inside a clip comes from the caller when it has it (the clip's ``gt_flow``: exact
synthetic flow, or a precomputed file the dataset loads as ``gt_flow``). Otherwise (streaming, test clips,
the transition from the previous clip, data without flow) it comes from ``flow_fallback``: OpenCV DIS
between the previous and the current frame (``"dis"``; the state keeps the previous frame for it), or zero
flow (``"zero"``: propagation without motion compensation, a graph that exports whole).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from steadyseg.flow import dis_flow, pool_to_stride, resize_flow, warp
from steadyseg.models.stateful import State
from steadyseg.registry import MODELS

FLOW_FALLBACKS = ("dis", "zero")


@MODELS.register_module()
class FlowGuidedPropagation(nn.Module):
    """Warps and gates the previous frame's features into the current ones, frame by frame.

    Args:
        in_channels: channels of each backbone feature (in the backbone's output order).
        strides: output stride of each feature; the state of a ``[H, W]`` frame has feature maps of size
            ``ceil(H / stride) x ceil(W / stride)``, and flow in image pixels moves them by ``1 / stride``
            cells.
        propagate_index: the features that are propagated (default: all); the others pass through.
        gate_channels: hidden width of each gate (a 1x1 conv over ``[current, warped, warp error]``, then a 3x3
            conv to one sigmoid channel).
        flow_fallback: ``"dis"`` or ``"zero"``, the flow used where the caller gives none (see the module doc).

    ``forward(features, state, images, flow=None)`` takes features ``[B, T, C_i, h_i, w_i]``, the clip's RGB
    ``images [B, T, 3, H, W]`` in [0, 1] and optionally its backward ``flow [B, T-1, 2, H, W]``; it returns
    features of the same shapes and the state after the last frame: the propagated features
    ``[B, C_i, h_i, w_i]`` (one per ``propagate_index``), the last image ``[B, 3, H, W]`` and
    ``has_previous [B, 1, 1, 1]`` (0 before the first frame of a video, so the empty memory is never used).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        propagate_index: Sequence[int] | None = None,
        gate_channels: int = 32,
        flow_fallback: str = "dis",
    ):
        super().__init__()
        if len(in_channels) != len(strides):
            raise ValueError(
                f"FlowGuidedPropagation: in_channels {tuple(in_channels)} and strides {tuple(strides)} must have "
                "one entry per backbone feature"
            )
        propagate_index = tuple(range(len(in_channels)) if propagate_index is None else propagate_index)
        valid_indices = all(0 <= i < len(in_channels) for i in propagate_index)
        if not propagate_index or not valid_indices or len(set(propagate_index)) != len(propagate_index):
            raise ValueError(
                f"FlowGuidedPropagation: propagate_index {propagate_index} must list distinct feature indices in "
                f"[0, {len(in_channels)})"
            )
        if flow_fallback not in FLOW_FALLBACKS:
            raise ValueError(
                f"FlowGuidedPropagation: flow_fallback must be one of {FLOW_FALLBACKS}, got {flow_fallback!r}"
            )
        self.in_channels = tuple(in_channels)
        self.strides = tuple(strides)
        self.propagate_index = propagate_index
        self.flow_fallback = flow_fallback
        self.gates = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(2 * in_channels[i] + 1, gate_channels, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(gate_channels, 1, 3, padding=1),
                nn.Sigmoid(),
            )
            for i in propagate_index
        )

    @property
    def state_names(self) -> tuple[str, ...]:
        """The propagated memory of each propagated feature, the previous frame (for DIS flow), and whether there
        is one."""
        memory = tuple(f"memory_stride{self.strides[i]}" for i in self.propagate_index)
        return (*memory, "previous_image", "has_previous")

    def initial_state(self, frame: torch.Tensor) -> State:
        """Empty memory for frames of ``frame``'s batch and size (``[B, 3, H, W]``)."""
        batch, _, height, width = frame.shape
        memory = tuple(
            frame.new_zeros(
                batch, self.in_channels[i], -(-height // self.strides[i]), -(-width // self.strides[i])
            )
            for i in self.propagate_index
        )
        return (*memory, frame.new_zeros(batch, 3, height, width), frame.new_zeros(batch, 1, 1, 1))

    def forward(
        self,
        features: Sequence[torch.Tensor],
        state: State,
        images: torch.Tensor | None = None,
        flow: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], State]:
        self._check_inputs(features, state, images, flow)
        *memory, previous_image, has_previous = state
        per_frame = {index: [] for index in self.propagate_index}
        for t in range(images.shape[1]):
            image = images[:, t]
            given = flow[:, t - 1] if flow is not None and t > 0 else None
            motion = self._transition_flow(previous_image, image, has_previous, given)
            warped_image, _ = warp(previous_image, motion, "bilinear")
            warp_error = (image - warped_image).abs().mean(dim=1, keepdim=True)
            for k, (index, gate) in enumerate(zip(self.propagate_index, self.gates)):
                memory[k] = self.fuse(
                    features[index][:, t],
                    memory[k],
                    motion,
                    warp_error,
                    has_previous,
                    gate,
                    self.strides[index],
                )
                per_frame[index].append(memory[k])
            previous_image = image
            has_previous = torch.ones_like(has_previous)
        outputs = list(features)
        for index, frames in per_frame.items():
            outputs[index] = torch.stack(frames, dim=1)
        return outputs, (*memory, previous_image, has_previous)

    @staticmethod
    def fuse(
        current: torch.Tensor,
        memory: torch.Tensor,
        flow: torch.Tensor,
        warp_error: torch.Tensor,
        has_previous: torch.Tensor,
        gate: nn.Module,
        stride: int,
    ) -> torch.Tensor:
        """``current + g * (W(memory) - current)`` on the stride-``stride`` features; ``flow`` and
        ``warp_error`` at image size are brought onto the feature cells."""
        size = current.shape[-2:]
        warped, valid = warp(memory, resize_flow(flow, size, stride=stride), "bilinear")
        error = pool_to_stride(warp_error, size, stride)
        weight = gate(torch.cat([current, warped, error], dim=1)) * valid.to(current.dtype) * has_previous
        return current + weight * (warped - current)

    def _transition_flow(
        self,
        previous_image: torch.Tensor,
        image: torch.Tensor,
        has_previous: torch.Tensor,
        given: torch.Tensor | None,
    ) -> torch.Tensor:
        """Backward flow from ``image`` to ``previous_image`` ``[B, 2, H, W]``."""
        if given is not None:
            return given
        # Before a video's first frame the memory is unused, so estimating flow from the blank image is skipped.
        if self.flow_fallback == "zero" or not bool(has_previous.any()):
            return image.new_zeros(image.shape[0], 2, *image.shape[-2:])
        return torch.cat([dis_flow(torch.stack(pair)) for pair in zip(previous_image, image)]).to(image)

    def _check_inputs(
        self,
        features: Sequence[torch.Tensor],
        state: State,
        images: torch.Tensor | None,
        flow: torch.Tensor | None,
    ) -> None:
        name = type(self).__name__
        if images is None:
            raise ValueError(
                f"{name} needs the clip's images [B, T, 3, H, W] (warp error and flow estimation)"
            )
        if len(features) != len(self.in_channels):
            raise ValueError(
                f"{name} got {len(features)} backbone features; in_channels lists {len(self.in_channels)}"
            )
        if len(state) != len(self.propagate_index) + 2:
            raise ValueError(
                f"{name} state has {len(state)} tensors; expected {len(self.propagate_index) + 2}"
            )
        batch, frames, _, height, width = images.shape
        if flow is not None and tuple(flow.shape) != (batch, frames - 1, 2, height, width):
            raise ValueError(
                f"{name}: flow (the clips' gt_flow) has shape {tuple(flow.shape)}; expected "
                f"{(batch, frames - 1, 2, height, width)} for clips of shape {tuple(images.shape)}"
            )
        if tuple(state[-2].shape) != (batch, 3, height, width):
            raise ValueError(
                f"{name}: the state's previous image is {tuple(state[-2].shape)} but the frames are "
                f"{(batch, 3, height, width)}; start a new state when the video size changes"
            )
        for index, memory in zip(self.propagate_index, state):
            expected = (self.in_channels[index], *memory.shape[-2:])
            if tuple(features[index].shape[2:]) != expected:
                raise ValueError(
                    f"{name}: backbone feature {index} is {tuple(features[index].shape[2:])} (C, h, w) but the state "
                    f"expects {expected}; check in_channels[{index}] and strides[{index}]={self.strides[index]}"
                )
