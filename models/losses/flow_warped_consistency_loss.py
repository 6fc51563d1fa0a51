"""``FlowWarpedConsistencyLoss``: short- (and long-) term temporal loss of Lai et al. / ETC on predictions.

Also holds :func:`flow_warped_consistency`, the same loss on any per-frame tensor, which
``FeatureConsistencyLoss`` applies to features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from steadyseg.flow import (
    check_flow_source,
    compose_backward_flow,
    dis_flow,
    occlusion_mask,
    pool_to_stride,
    resize_flow,
    warp,
)
from steadyseg.registry import MODELS


def _check_clip(name: str, tensor: torch.Tensor | None, owner: str) -> torch.Tensor:
    if tensor is None or tensor.ndim != 5:
        shape = None if tensor is None else tuple(tensor.shape)
        raise ValueError(f"{owner}: {name} must be a [B, T, C, H, W] tensor, got {shape}")
    return tensor


def clip_flows(
    images: torch.Tensor, flow: torch.Tensor | None, flow_source: str, owner: str, to_first: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Backward flows ``[B, T-1, 2, H, W]`` of a batch of clips at the images' resolution, without gradient.

    ``flow_source``: ``'data'`` uses ``flow`` (an error when it is None), ``'dis'`` computes DIS flow from
    ``images``, ``'auto'`` the first when given, else the second. With ``to_first`` the flows of frames
    ``1 .. T-1`` to frame 0 instead: data flows are chained (:func:`compose_backward_flow`), DIS runs between
    each frame and frame 0. Also returns the chain's validity ``[B, T-1, 1, H, W]`` (None when not chained).
    """
    batch, frames, _, height, width = images.shape
    use_data = flow_source == "data" or (flow_source == "auto" and flow is not None)
    if use_data:
        if flow is None:
            raise ValueError(
                f"{owner}: flow_source='data' but the batch has no flow (every clip needs a 'gt_flow'); "
                f"use flow_source='auto' or 'dis' to compute DIS flow from the frames"
            )
        expected = (batch, frames - 1, 2, height, width)
        if tuple(flow.shape) != expected:
            raise ValueError(
                f"{owner}: flow must be [B, T-1, 2, H, W] = {expected} to match images "
                f"{tuple(images.shape)}, got {tuple(flow.shape)}"
            )
        flow = flow.detach().to(images.device, torch.float32)
        return compose_backward_flow(flow) if to_first else (flow, None)
    computed = torch.stack([dis_flow(clip, to_first=to_first) for clip in images.detach().float()])
    return computed.to(images.device), None


def infer_stride(image_size: Sequence[int], size: Sequence[int], owner: str) -> int:
    """The stride of outputs of ``size`` computed from images of ``image_size``: 1 at the same size, else the
    power of two ``s`` with ``size == ceil(image_size / s)`` (unique while a map is more than one cell; every
    backbone here downsamples by powers of two). An error naming ``owner`` when none fits."""
    height, width = (int(s) for s in image_size)
    stride = 1
    while stride < 2 * max(height, width):
        if tuple(size) == (-(-height // stride), -(-width // stride)):
            return stride
        stride *= 2
    raise ValueError(
        f"{owner}: outputs of size {tuple(size)} are not a power-of-two stride grid (ceil(H / s), ceil(W / s)) of "
        f"images of size {(height, width)}; pass their stride"
    )


def _pair_terms(
    current: torch.Tensor,
    previous: torch.Tensor,
    image_current: torch.Tensor,
    image_previous: torch.Tensor,
    flow: torch.Tensor,
    alpha: float,
    chain_valid: torch.Tensor | None,
    stride: int,
) -> torch.Tensor:
    """``M * valid * |O_t - W(O_prev)|`` per element ``[N, C, h, w]`` for ``N`` frame pairs.

    Flow and images are at the image resolution; for outputs on a stride-``stride`` grid the occlusion mask
    (times the validity of the image warp and of a flow chain) is averaged over each cell and the flow
    resampled to the cells (:func:`resize_flow`).
    """
    warped_image, valid = warp(image_previous, flow)
    weight = occlusion_mask(image_current, warped_image, alpha) * valid
    if chain_valid is not None:
        weight = weight * chain_valid
    if stride != 1:
        size = current.shape[-2:]
        weight = pool_to_stride(weight, size, stride)
        flow = resize_flow(flow, size, stride=stride)
    warped, valid = warp(previous, flow)
    return weight * valid * (current - warped).abs()


def flow_warped_consistency(
    outputs: torch.Tensor,
    images: torch.Tensor,
    flow: torch.Tensor | None,
    alpha: float,
    flow_source: str,
    long_term: bool,
    owner: str,
    stride: int | None = None,
) -> torch.Tensor:
    """Lai et al.'s temporal loss on ``outputs [B, T, C, h, w]`` of clips ``images [B, T, 3, H, W]``.

    ``outputs`` are at the images' resolution or on the grid of a stride-``stride`` feature map (see
    :func:`~steadyseg.flow.resize_flow`); without ``stride`` it is inferred by :func:`infer_stride`.

    Short-term: ``sum_{t>=1} mean(M_t * |O_t - W_t(O_{t-1})|)`` with the L1 norm of Lai et al. (ECCV 2018,
    Eq. 2 and their released training code), the visibility mask ``M_t`` of :func:`occlusion_mask`, and
    out-of-frame samples set to zero; the mean runs over batch, channels and all pixels (excluded ones count as
    zero, as in Lai et al.'s masked L1), so it does not blow up when few pixels are valid. ``long_term`` adds
    Lai et al.'s long-term term ``sum_{t>=2} mean(M_{t->0} * |O_t - W_{t->0}(O_0)|)`` to the clip's first
    frame. Gradients reach both frames of each pair; none flows through the flow or the mask.
    """
    outputs = _check_clip("outputs", outputs, owner).float()
    images = _check_clip("images", images, owner).float()
    if outputs.shape[:2] != images.shape[:2] or images.shape[2] != 3:
        raise ValueError(
            f"{owner}: outputs {tuple(outputs.shape)} and RGB images {tuple(images.shape)} must share B and T"
        )
    batch, frames = outputs.shape[:2]
    loss = outputs.sum() * 0
    if frames < 2:
        return loss
    if stride is None:
        stride = infer_stride(images.shape[-2:], outputs.shape[-2:], owner)
    flows, _ = clip_flows(images, flow, flow_source, owner)
    terms = _pair_terms(
        outputs[:, 1:].flatten(0, 1),
        outputs[:, :-1].flatten(0, 1),
        images[:, 1:].flatten(0, 1),
        images[:, :-1].flatten(0, 1),
        flows.flatten(0, 1),
        alpha,
        None,
        stride,
    )
    loss = loss + terms.view(batch, frames - 1, -1).mean(dim=(0, 2)).sum()
    if long_term and frames > 2:
        to_first, chain_valid = clip_flows(images, flow, flow_source, owner, to_first=True)
        later = frames - 2
        terms = _pair_terms(
            outputs[:, 2:].flatten(0, 1),
            outputs[:, :1].expand(-1, later, -1, -1, -1).flatten(0, 1),
            images[:, 2:].flatten(0, 1),
            images[:, :1].expand(-1, later, -1, -1, -1).flatten(0, 1),
            to_first[:, 1:].flatten(0, 1),
            alpha,
            None if chain_valid is None else chain_valid[:, 1:].flatten(0, 1),
            stride,
        )
        loss = loss + terms.view(batch, later, -1).mean(dim=(0, 2)).sum()
    return loss


@MODELS.register_module()
class FlowWarpedConsistencyLoss(nn.Module):
    """Flow-warped temporal consistency of predictions (Lai et al. ECCV 2018; ETC, Liu et al. ECCV 2020).

    Args:
        loss_weight: factor applied to the loss.
        alpha: sharpness of the visibility mask ``exp(-alpha * ||I_t - W(I_{t-1})||^2)`` (RGB in [0, 1]).
        on: ``'probs'`` (softmax over classes; sigmoid for one channel) or ``'logits'``.
        long_term: add the long-term term to each clip's first frame.
        flow_source: ``'data'`` (the clips' ``gt_flow``; an error when missing), ``'dis'`` (OpenCV DIS from
            the frames, on the CPU) or ``'auto'`` (data when given, else DIS).
        loss_name: key of the loss in the model's loss dict.

    Called with keyword arguments ``logits [B, T, C, H, W]``, ``images [B, T, 3, H, W]`` and ``flow
    [B, T-1, 2, H, W]`` (or None); other arguments are ignored. See :func:`flow_warped_consistency`.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        alpha: float = 50.0,
        on: str = "probs",
        long_term: bool = False,
        flow_source: str = "auto",
        loss_name: str = "loss_flow_warp",
    ):
        super().__init__()
        if on not in ("probs", "logits"):
            raise ValueError(f"FlowWarpedConsistencyLoss: on must be 'probs' or 'logits', got {on!r}")
        self.loss_weight = loss_weight
        self.alpha = alpha
        self.on = on
        self.long_term = long_term
        self.flow_source = check_flow_source(flow_source, type(self).__name__)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(
        self,
        logits: torch.Tensor,
        images: torch.Tensor,
        flow: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        owner = type(self).__name__
        outputs = _check_clip("logits", logits, owner)
        if self.on == "probs":
            outputs = outputs.sigmoid() if outputs.shape[2] == 1 else outputs.softmax(dim=2)
        loss = flow_warped_consistency(
            outputs, images, flow, self.alpha, self.flow_source, self.long_term, owner
        )
        return self.loss_weight * loss
