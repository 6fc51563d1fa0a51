import pytest
import torch
import torch.nn as nn

from steadyseg.deploy import reparameterize
from steadyseg.models.backbones import MobileOne
from steadyseg.models.backbones.mobileone import MobileOneBlock, SqueezeExcite
from tests.models.reparam_helpers import num_parameters, randomize_batchnorm, single_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

# Channels of the stem and stages 1-4 per variant (MobileOne paper, Table 7: 64/128/256/512 x multipliers).
CHANNELS = {
    "s0": (48, 48, 128, 256, 1024),
    "s1": (64, 96, 192, 512, 1280),
    "s2": (64, 96, 256, 640, 2048),
    "s3": (64, 128, 320, 768, 2048),
    "s4": (64, 192, 448, 896, 2048),
}
# Backbone parameters once folded (the paper's totals minus the 1000-class linear layer).
DEPLOY_PARAMS = {"s0": 1_053_504, "s1": 3_483_840, "s2": 5_759_168, "s3": 8_029_312, "s4": 12_789_352}


@pytest.mark.parametrize("variant", sorted(CHANNELS))
def test_variant_shapes_and_reparameterization(variant):
    backbone = randomize_batchnorm(MobileOne(variant, out_indices=(0, 1, 2, 3, 4))).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = backbone(x)
    assert [f.shape[1:] for f in before] == [
        (c, 64 // s, 64 // s) for c, s in zip(CHANNELS[variant], (2, 4, 8, 16, 32))
    ]
    assert backbone.out_channels == CHANNELS[variant]
    training_params = num_parameters(backbone)

    reparameterize(backbone)
    with torch.no_grad():
        after = backbone(x)
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert num_parameters(backbone) == DEPLOY_PARAMS[variant] < training_params
    assert not any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules())
    blocks = [m for m in backbone.modules() if isinstance(m, MobileOneBlock)]
    assert all(b.inference_mode and not hasattr(b, "conv_branches") for b in blocks)


def test_block_folds_to_hand_computed_kernel():
    # Depthwise 3x3, one channel: two 3x3 branches, the 1x1 scale branch and a BN identity branch.
    block = MobileOneBlock(1, 1, 3, num_branches=2).eval()
    with torch.no_grad():
        block.conv_branches[0].conv.weight.fill_(1.0)
        block.conv_branches[1].conv.weight.fill_(2.0)
        block.conv_branches[1].bn.weight.fill_(0.5)  # scale 0.5 / sqrt(1 + eps)
        block.scale_branch.conv.weight.fill_(4.0)
        block.scale_branch.bn.bias.fill_(1.0)
        identity = block.identity_branch
        identity.running_mean.fill_(2.0)
        identity.running_var.fill_(4.0 - identity.eps)  # scale 3 / 2
        identity.weight.fill_(3.0)
    block.reparameterize()
    std = (1 + 1e-5) ** 0.5
    off_centre = 1.0 / std + 2.0 * 0.5 / std
    expected = torch.full((1, 1, 3, 3), off_centre)
    expected[0, 0, 1, 1] = off_centre + 4.0 / std + 1.5
    torch.testing.assert_close(block.reparam_conv.weight, expected)
    torch.testing.assert_close(block.reparam_conv.bias, torch.tensor([1.0 - 2.0 * 1.5]))


def test_s0_is_over_parameterized_and_s4_has_se_where_the_paper_puts_it():
    s0 = MobileOne("s0")
    assert {len(b.conv_branches) for b in s0.stages[1:].modules() if isinstance(b, MobileOneBlock)} == {4}
    assert len(s0.stages[0].conv_branches) == 1
    assert not any(isinstance(m, SqueezeExcite) for m in s0.modules())
    s4 = MobileOne("s4")
    se_per_stage = [sum(isinstance(m, SqueezeExcite) for m in stage.modules()) for stage in s4.stages]
    # Last 5 of stage 3's 10 blocks and stage 4's single block, each a depthwise + a pointwise conv.
    assert se_per_stage == [0, 0, 0, 10, 2]


def test_reparameterize_is_idempotent_and_loads_into_inference_mode():
    backbone = randomize_batchnorm(MobileOne("s0", out_indices=(1, 2))).eval()
    reparameterize(backbone)
    state = {k: v.clone() for k, v in backbone.state_dict().items()}
    reparameterize(backbone)
    assert backbone.state_dict().keys() == state.keys()
    assert all(torch.equal(v, state[k]) for k, v in backbone.state_dict().items())

    deployed = MobileOne("s0", out_indices=(1, 2), inference_mode=True).eval()
    deployed.load_state_dict(state)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(deployed(x), backbone(x)):
            torch.testing.assert_close(a, b)


def test_stages_past_the_last_output_are_not_built():
    backbone = MobileOne("s0", out_indices=(1, 2))
    assert len(backbone.stages) == 3
    assert backbone.out_channels == (48, 128)
    shallow, deep = backbone(torch.randn(1, 3, 32, 32))
    assert shallow.shape == (1, 48, 8, 8) and deep.shape == (1, 128, 4, 4)


def test_training_form_backpropagates_through_every_branch():
    block = MobileOneBlock(4, 4, 3, groups=4, num_branches=2)
    block(torch.randn(2, 4, 8, 8)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"MobileOne: unknown variant 's5'"):
        MobileOne("s5")
    with pytest.raises(ValueError, match=r"MobileOne: out_indices \(2, 1\) must be strictly increasing"):
        MobileOne("s0", out_indices=(2, 1))
    with pytest.raises(ValueError, match=r"within 0..4"):
        MobileOne("s0", out_indices=(5,))
