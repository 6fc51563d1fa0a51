"""MobileOne (Vasu et al., "MobileOne: An Improved One millisecond Mobile Backbone", CVPR 2023).

Trained as an over-parameterized multi-branch network and deployed as a plain stack of depthwise
3x3 and pointwise 1x1 convolutions with ReLU: no branches, no BN, no residual adds at inference, so
it has the memory-access pattern phone NPUs and GPUs run fastest.

Every stage block is a depthwise block followed by a pointwise block. In training form each is::

    y = act(se(sum_k ConvBN_k(x) + ConvBN_1x1(x) + BN(x)))

with ``k`` kxk conv-BN branches, a 1x1 "scale" conv-BN branch (only when the kernel is larger than
1x1) and an identity BN branch (only when the shape is kept). Each branch is linear in ``x``, so
:meth:`MobileOneBlock.reparameterize` folds them into one conv with bias:
``W = sum_b s_b * W_b`` and ``b = sum_b (beta_b - mu_b * s_b)`` with ``s_b = gamma_b / sqrt(var_b + eps)``,
the 1x1 kernel zero-padded to kxk and the identity written as a kernel with a 1 at the centre tap
(the arithmetic is ``reparam_layers.py``'s, shared with RepViT). Fold this backbone, alone or inside a model,
with :func:`steadyseg.deploy.reparameterize`.

Outputs (``out_indices`` select from these five; input ``H x W``):

=====  ========  ======  =====  =====  =====  =====
index  stride    s0      s1     s2     s3     s4
=====  ========  ======  =====  =====  =====  =====
0      2 (stem)  48      64     64     64     64
1      4         48      96     96     128    192
2      8         128     192    256    320    448
3      16        256     512    640    768    896
4      32        1024    1280   2048   2048   2048
=====  ========  ======  =====  =====  =====  =====

Stage depths (blocks of depthwise + pointwise) are 2, 8, 10, 1; widths are 64, 128, 256, 512 times the
variant's multipliers (stem: ``min(64, 64 * alpha_1)``); s0 trains with k = 4 branches, the others with
k = 1; s4 adds squeeze-excitation to the last 5 blocks of stage 3 and to stage 4.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from steadyseg.registry import MODELS

from .reparam_layers import ConvBN, conv_like, fold_batchnorm, identity_kernel, sum_branches


def check_out_indices(backbone: str, out_indices: tuple[int, ...], num_outputs: int) -> tuple[int, ...]:
    indices = tuple(out_indices)
    if not indices or indices != tuple(sorted(set(indices))) or indices[0] < 0 or indices[-1] >= num_outputs:
        raise ValueError(
            f"{backbone}: out_indices {indices} must be strictly increasing indices within 0..{num_outputs - 1}"
        )
    return indices


class SqueezeExcite(nn.Module):
    """Channel gate ``x * sigmoid(W2 relu(W1 mean_hw(x)))``; global mean, so it works at any input size."""

    def __init__(self, channels: int, reduced_channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced_channels, 1)
        self.expand = nn.Conv2d(reduced_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.expand(F.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class MobileOneBlock(nn.Module):
    """One MobileOne conv (depthwise when ``groups == in_channels``, pointwise when ``kernel_size == 1``).

    Training form: ``num_branches`` kxk conv-BN branches, a 1x1 conv-BN branch when ``kernel_size > 1``
    and a BN identity branch when input and output shapes match, summed, then SE (optional) and ReLU.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        num_branches: int = 1,
        use_se: bool = False,
        inference_mode: bool = False,
    ):
        super().__init__()
        self.inference_mode = inference_mode
        if inference_mode:
            self.reparam_conv = nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups
            )
        else:
            self.conv_branches = nn.ModuleList(
                ConvBN(in_channels, out_channels, kernel_size, stride, groups) for _ in range(num_branches)
            )
            self.scale_branch = (
                ConvBN(in_channels, out_channels, 1, stride, groups) if kernel_size > 1 else None
            )
            self.identity_branch = (
                nn.BatchNorm2d(in_channels) if in_channels == out_channels and stride == 1 else None
            )
        # MobileOne's SE reduces by 16 (rd_ratio 0.0625), without rounding to a multiple of 8.
        self.se = SqueezeExcite(out_channels, int(out_channels * 0.0625)) if use_se else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inference_mode:
            out = self.reparam_conv(x)
        else:
            out = sum(branch(x) for branch in self.conv_branches)
            if self.scale_branch is not None:
                out = out + self.scale_branch(x)
            if self.identity_branch is not None:
                out = out + self.identity_branch(x)
        return self.act(self.se(out))

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold all branches into ``reparam_conv`` (a conv with bias); a no-op once folded."""
        if self.inference_mode:
            return
        template = self.conv_branches[0].conv
        branches = [branch.fused() for branch in self.conv_branches]
        if self.scale_branch is not None:
            branches.append(self.scale_branch.fused())
        if self.identity_branch is not None:
            branches.append(fold_batchnorm(identity_kernel(template), None, self.identity_branch))
        self.reparam_conv = conv_like(template, *sum_branches(branches, template.kernel_size[0]))
        del self.conv_branches, self.scale_branch, self.identity_branch
        self.inference_mode = True


@MODELS.register_module()
class MobileOne(BaseModule):
    """MobileOne backbone returning a tuple of stage features (mmseg convention).

    Args:
        variant: ``"s0"`` .. ``"s4"``.
        out_indices: increasing indices of the outputs to return among stem, stages 1-4 (strides 2, 4, 8,
            16, 32); stages deeper than the last index are not built.
        inference_mode: build the folded single-branch form directly (to load a reparameterized checkpoint).
        init_cfg: mmengine init config (e.g. ``dict(type="Pretrained", checkpoint=...)``).
    """

    arch_settings = {
        "s0": dict(widths=(0.75, 1.0, 1.0, 2.0), num_branches=4, use_se=False),
        "s1": dict(widths=(1.5, 1.5, 2.0, 2.5), num_branches=1, use_se=False),
        "s2": dict(widths=(1.5, 2.0, 2.5, 4.0), num_branches=1, use_se=False),
        "s3": dict(widths=(2.0, 2.5, 3.0, 4.0), num_branches=1, use_se=False),
        "s4": dict(widths=(3.0, 3.5, 3.5, 4.0), num_branches=1, use_se=True),
    }
    base_widths = (64, 128, 256, 512)
    stage_blocks = (2, 8, 10, 1)
    strides = (2, 4, 8, 16, 32)

    def __init__(
        self,
        variant: str = "s0",
        out_indices: tuple[int, ...] = (1, 2, 3, 4),
        inference_mode: bool = False,
        init_cfg: dict | list[dict] | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        if variant not in self.arch_settings:
            raise ValueError(
                f"MobileOne: unknown variant {variant!r}; choose one of {sorted(self.arch_settings)}"
            )
        setting = self.arch_settings[variant]
        self.variant = variant
        self.out_indices = check_out_indices("MobileOne", out_indices, len(self.strides))
        widths = [int(base * alpha) for base, alpha in zip(self.base_widths, setting["widths"])]
        self.channels = (min(64, widths[0]), *widths)
        self.out_channels = tuple(self.channels[i] for i in self.out_indices)

        # The stem keeps a single kxk branch in the paper's network; only stage blocks are over-parameterized.
        stages = [MobileOneBlock(3, self.channels[0], 3, stride=2, inference_mode=inference_mode)]
        # Stages past the deepest requested output are not built: they would be dead weight in exports.
        for stage, num_blocks in enumerate(self.stage_blocks[: self.out_indices[-1]]):
            # SE only in s4: the second half of stage 3 and all of stage 4.
            num_se = {2: num_blocks // 2, 3: num_blocks}.get(stage, 0) if setting["use_se"] else 0
            blocks = []
            in_channels, out_channels = self.channels[stage], self.channels[stage + 1]
            for index in range(num_blocks):
                options = dict(
                    num_branches=setting["num_branches"],
                    use_se=index >= num_blocks - num_se,
                    inference_mode=inference_mode,
                )
                stride = 2 if index == 0 else 1
                blocks.append(MobileOneBlock(in_channels, in_channels, 3, stride, in_channels, **options))
                blocks.append(MobileOneBlock(in_channels, out_channels, 1, **options))
                in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
