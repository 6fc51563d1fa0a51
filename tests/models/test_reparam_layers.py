import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.deploy import reparameterize
from steadyseg.models.backbones.reparam_layers import ConvBN, fold_batchnorm, identity_kernel, sum_branches
from tests.models.reparam_helpers import randomize_batchnorm


def test_fold_batchnorm_hand_computed():
    bn = nn.BatchNorm2d(2).eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([4.0, 1.0]) - bn.eps)  # std 2 and 1
        bn.weight.copy_(torch.tensor([2.0, 3.0]))  # scales 1 and 3
        bn.bias.copy_(torch.tensor([0.5, 0.0]))
    weight, bias = fold_batchnorm(torch.ones(2, 1, 1, 1), torch.tensor([1.0, -1.0]), bn)
    torch.testing.assert_close(weight, torch.tensor([1.0, 3.0]).reshape(2, 1, 1, 1))
    # beta + (b - mu) * s: 0.5 + (1 - 1) * 1 and 0 + (-1 - 2) * 3.
    torch.testing.assert_close(bias, torch.tensor([0.5, -9.0]))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_identity_kernel_returns_the_input_for_any_grouping(groups):
    conv = nn.Conv2d(4, 4, 3, padding=1, groups=groups)
    x = torch.randn(1, 4, 5, 5)
    kernel = identity_kernel(conv)
    assert kernel.shape == conv.weight.shape
    torch.testing.assert_close(F.conv2d(x, kernel, padding=1, groups=groups), x)


def test_identity_kernel_needs_as_many_channels_out_as_in():
    with pytest.raises(ValueError, match="a conv from 4 to 8 channels has no identity"):
        identity_kernel(nn.Conv2d(4, 8, 1))


def test_sum_branches_pads_to_the_centre_and_counts_no_bias_as_zero():
    weight, bias = sum_branches(
        [(torch.ones(1, 1, 3, 3), torch.tensor([2.0])), (torch.full((1, 1, 1, 1), 5.0), None)], 3
    )
    expected = torch.ones(1, 1, 3, 3)
    expected[0, 0, 1, 1] = 6.0
    torch.testing.assert_close(weight, expected)
    torch.testing.assert_close(bias, torch.tensor([2.0]))


def test_summed_branches_compute_what_the_branches_compute_together():
    wide, narrow = nn.Conv2d(3, 2, 5, padding=2), nn.Conv2d(3, 2, 1, bias=False)
    weight, bias = sum_branches([(wide.weight, wide.bias), (narrow.weight, None)], 5)
    x = torch.randn(1, 3, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(F.conv2d(x, weight, bias, padding=2), wide(x) + narrow(x))


def test_conv_bn_folds_into_a_conv_with_its_geometry():
    block = randomize_batchnorm(ConvBN(4, 6, 3, stride=2, groups=2)).eval()
    x = torch.randn(1, 4, 9, 9)
    with torch.no_grad():
        before = block(x)
    assert reparameterize(block) is block
    conv = block.conv
    assert block.inference_mode and isinstance(block.bn, nn.Identity)
    assert (conv.stride, conv.padding, conv.groups, conv.bias is not None) == ((2, 2), (1, 1), 2, True)
    with torch.no_grad():
        torch.testing.assert_close(block(x), before)
    reparameterize(block)
    assert block.conv is conv, "a second fold changes nothing"
