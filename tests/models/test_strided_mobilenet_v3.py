import pytest
import torch
from mmseg.models.backbones import MobileNetV3

from steadyseg.models.backbones import StridedMobileNetV3


@pytest.mark.parametrize(
    ("arch", "output_stride", "deepest"),
    [("small", 8, 8), ("small", 16, 4), ("small", 32, 2), ("large", 16, 4), ("large", 32, 2)],
)
def test_output_stride(arch, output_stride, deepest):
    last = 12 if arch == "small" else 16
    backbone = StridedMobileNetV3(arch=arch, output_stride=output_stride, out_indices=(1, last)).eval()
    shallow, deep = backbone(torch.randn(1, 3, 64, 64))
    assert deep.shape[-1] == deepest
    assert shallow.shape[-1] == (16 if arch == "small" else 32)


def test_stride_8_is_mmseg_mobilenet_v3():
    ours = StridedMobileNetV3(arch="small", output_stride=8, out_indices=(12,)).eval()
    theirs = MobileNetV3(arch="small", out_indices=(12,))
    theirs.eval()  # mmseg's MobileNetV3.train returns None, so it cannot be chained
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])


def test_bad_output_stride():
    with pytest.raises(ValueError, match="output_stride must be 8, 16 or 32, got 4"):
        StridedMobileNetV3(output_stride=4)


def test_layers_after_the_deepest_output_are_dropped():
    """Unused layers would cost eager time and leave parameters without gradients (DDP refuses those)."""
    backbone = StridedMobileNetV3(arch="small", output_stride=32, reduction_factor=2, out_indices=(1, 3, 11))
    assert backbone.layers[-1] == "layer11" and not hasattr(backbone, "layer12")
    outs = backbone(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 16, 16), (24, 8, 8), (48, 2, 2)]
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in backbone.parameters())
