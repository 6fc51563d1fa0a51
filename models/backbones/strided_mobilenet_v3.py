"""mmseg's MobileNetV3 with a selectable output stride.

mmseg always converts MobileNetV3 to output stride 8 (strides removed, dilation 2/4), which costs
several times the compute of the network it came from and is slow on phones. Mobile people
segmentation decodes from stride 16 or 32 with a light head, so this backbone restores the strides
the chosen output stride allows and dilates only the layers after the last kept stride.

Layers after the deepest output are dropped: a decoder that reads an earlier block (e.g. the halved last block
instead of the 576-channel classifier conv) would otherwise pay for them in eager mode and leave parameters
without gradients, which distributed training refuses.
"""

from __future__ import annotations

from mmcv.cnn.bricks import Conv2dAdaptivePadding
from mmseg.models.backbones import MobileNetV3
from mmseg.models.utils import InvertedResidualV3

from steadyseg.registry import MODELS

# Index (into MobileNetV3.layers) of the two stride-2 blocks mmseg turns into dilated ones.
_DOWNSAMPLE_LAYERS = {"small": (4, 9), "large": (7, 13)}


@MODELS.register_module()
class StridedMobileNetV3(MobileNetV3):
    """MobileNetV3 (``arch`` small or large) whose deepest output has stride ``output_stride`` (8, 16 or 32)."""

    def __init__(self, output_stride: int = 16, **kwargs):
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        super().__init__(**kwargs)
        self.output_stride = output_stride
        first, second = _DOWNSAMPLE_LAYERS[self.arch]
        kept_strides = {8: (), 16: (first,), 32: (first, second)}[output_stride]
        dilation = 1
        for index in range(first, len(self.layers)):
            layer = getattr(self, self.layers[index])
            conv = layer.depthwise_conv.conv if isinstance(layer, InvertedResidualV3) else layer.conv
            if index in (first, second):
                if index in kept_strides:
                    conv.stride = (2, 2)
                else:
                    dilation *= 2
            conv.dilation = (dilation, dilation)
            if not isinstance(conv, Conv2dAdaptivePadding):
                pad = dilation * (conv.kernel_size[0] - 1) // 2
                conv.padding = (pad, pad)
        last_used = max(max(self.out_indices), self.frozen_stages)
        for name in self.layers[last_used + 1 :]:
            delattr(self, name)
        self.layers = self.layers[: last_used + 1]

    def train(self, mode: bool = True) -> StridedMobileNetV3:
        # mmseg's MobileNetV3.train returns None, which breaks the usual ``backbone.eval()`` chaining.
        super().train(mode)
        return self
