"""The folding arithmetic shared by the reparameterizable backbones (MobileOne, RepViT), and their conv-BN.

Every training-time branch these backbones fold is linear in its input, so a block's branches, each written as
the kernel and bias of one conv, add up to a single conv:

- a conv followed by BN is the conv with kernel ``W * s`` and bias ``beta + (b - mu) * s``, with
  ``s = gamma / sqrt(var + eps)`` (running statistics, so the fold holds in eval mode);
- parallel branches whose outputs are added sum their kernels and biases, a smaller odd kernel zero-padded so
  its centre tap lands on the centre of the larger one;
- the identity is a kernel with a 1 at the centre tap of each channel's own input.

Blocks opt in to :func:`steadyseg.deploy.reparameterize` by defining an in-place, idempotent
``reparameterize()`` and an ``inference_mode`` flag; that one walker folds any model, backbones included.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

# A conv as its kernel and bias; a bias of None is zero.
KernelBias = tuple[torch.Tensor, torch.Tensor | None]


def fold_batchnorm(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``bn(conv(x))`` as a single conv, using the BN's running statistics."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    if bias is not None:
        shift = shift + bias * scale
    return weight * scale.reshape(-1, 1, 1, 1), shift


def identity_kernel(conv: nn.Conv2d) -> torch.Tensor:
    """The kernel that makes ``conv`` (same channels in and out, any groups) return its input unchanged."""
    if conv.in_channels != conv.out_channels:
        raise ValueError(
            f"identity_kernel: a conv from {conv.in_channels} to {conv.out_channels} channels has no identity"
        )
    channels, per_group, height, width = conv.weight.shape
    kernel = conv.weight.new_zeros(channels, per_group, height, width)
    kernel[torch.arange(channels), torch.arange(channels) % per_group, height // 2, width // 2] = 1
    return kernel


def pad_to(kernel: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Zero-pad a smaller odd kernel so its centre tap lands on the centre of a kxk kernel."""
    pad = (kernel_size - kernel.shape[-1]) // 2
    return F.pad(kernel, [pad, pad, pad, pad])


def sum_branches(branches: Iterable[KernelBias], kernel_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of parallel convs whose outputs are added, as one ``kernel_size`` conv."""
    branches = list(branches)
    weight = sum(pad_to(kernel, kernel_size) for kernel, _ in branches)
    bias = weight.new_zeros(weight.shape[0])
    for _, branch_bias in branches:
        if branch_bias is not None:
            bias = bias + branch_bias
    return weight, bias


def conv_like(template: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    """A conv with ``template``'s geometry (stride, padding, groups) holding ``weight`` and ``bias``."""
    conv = nn.Conv2d(
        template.in_channels,
        template.out_channels,
        template.kernel_size,
        stride=template.stride,
        padding=template.padding,
        dilation=template.dilation,
        groups=template.groups,
        bias=True,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv


class ConvBN(nn.Module):
    """Conv (``kernel_size // 2`` padding, no bias) + BN; :meth:`reparameterize` folds the BN into the conv.

    With ``inference_mode=True`` it is built folded: a conv with bias, the layout a reparameterized
    checkpoint has.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        inference_mode: bool = False,
    ):
        super().__init__()
        self.inference_mode = inference_mode
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=inference_mode,
        )
        self.bn = nn.Identity() if inference_mode else nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of this conv-BN as one conv, in either form."""
        if self.inference_mode:
            return self.conv.weight, self.conv.bias
        return fold_batchnorm(self.conv.weight, self.conv.bias, self.bn)

    @torch.no_grad()
    def reparameterize(self) -> None:
        if self.inference_mode:
            return
        self.conv = conv_like(self.conv, *self.fused())
        self.bn = nn.Identity()
        self.inference_mode = True
