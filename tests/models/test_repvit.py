import pytest
import torch
import torch.nn as nn

from steadyseg.deploy import reparameterize
from steadyseg.models.backbones import RepViT
from steadyseg.models.backbones.mobileone import SqueezeExcite
from steadyseg.models.backbones.repvit import RepVGGDepthwise, RepViTBlock
from tests.models.reparam_helpers import num_parameters, randomize_batchnorm, single_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

# Stage widths per variant (RepViT paper; strides 4, 8, 16, 32).
CHANNELS = {
    "m0_9": (48, 96, 192, 384),
    "m1_0": (56, 112, 224, 448),
    "m1_1": (64, 128, 256, 512),
    "m1_5": (64, 128, 256, 512),
    "m2_3": (80, 160, 320, 640),
}
# Backbone parameters once folded (the paper's 5.1M .. 22.9M minus the classifier).
DEPLOY_PARAMS = {
    "m0_9": 4_682_056,
    "m1_0": 6_361_312,
    "m1_1": 7_731_312,
    "m1_5": 13_536_992,
    "m2_3": 22_285_792,
}


@pytest.mark.parametrize("variant", sorted(CHANNELS))
def test_variant_shapes_and_reparameterization(variant):
    backbone = randomize_batchnorm(RepViT(variant)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = backbone(x)
    expected = [(c, 64 // s, 64 // s) for c, s in zip(CHANNELS[variant], (4, 8, 16, 32))]
    assert [f.shape[1:] for f in before] == expected
    assert backbone.out_channels == CHANNELS[variant]
    training_params = num_parameters(backbone)

    reparameterize(backbone)
    with torch.no_grad():
        after = backbone(x)
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert num_parameters(backbone) == DEPLOY_PARAMS[variant] < training_params
    assert not any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules())
    mixers = [m for m in backbone.modules() if isinstance(m, RepVGGDepthwise)]
    assert mixers and all(m.inference_mode and not hasattr(m, "bn") for m in mixers)


def test_token_mixer_folds_to_hand_computed_kernel():
    mixer = RepVGGDepthwise(1).eval()
    with torch.no_grad():
        mixer.conv.conv.weight.fill_(1.0)  # BN of the 3x3 branch stays the identity (up to eps)
        mixer.scale.weight.fill_(2.0)
        mixer.scale.bias.fill_(0.5)
        mixer.bn.running_mean.fill_(1.0)
        mixer.bn.running_var.fill_(0.25 - mixer.bn.eps)  # std 0.5
        mixer.bn.weight.fill_(2.0)  # scale 4
        mixer.bn.bias.fill_(-1.0)
    mixer.reparameterize()
    inner = 1.0 / (1 + 1e-5) ** 0.5
    expected = torch.full((1, 1, 3, 3), 4.0 * inner)
    expected[0, 0, 1, 1] = 4.0 * (inner + 2.0 + 1.0)
    torch.testing.assert_close(mixer.reparam_conv.weight, expected)
    torch.testing.assert_close(mixer.reparam_conv.bias, torch.tensor([-1.0 + 4.0 * (0.5 - 1.0)]))


def test_se_on_every_other_block():
    backbone = RepViT("m0_9")
    se_per_stage = [sum(isinstance(m, SqueezeExcite) for m in stage.modules()) for stage in backbone.stages]
    # Depths 2, 2, 14, 2: SE on blocks 0, 2, 4, ...; never in the block that opens a downsampling layer.
    assert se_per_stage == [1, 1, 7, 1]
    assert backbone.stages[2][1].se.reduce.out_channels == 48  # 192 / 4, a multiple of 8


def test_reparameterize_is_idempotent_and_loads_into_inference_mode():
    backbone = randomize_batchnorm(RepViT("m0_9", out_indices=(0, 1))).eval()
    reparameterize(backbone)
    state = {k: v.clone() for k, v in backbone.state_dict().items()}
    reparameterize(backbone)
    assert all(torch.equal(v, state[k]) for k, v in backbone.state_dict().items())

    deployed = RepViT("m0_9", out_indices=(0, 1), inference_mode=True).eval()
    deployed.load_state_dict(state)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(deployed(x), backbone(x)):
            torch.testing.assert_close(a, b)


def test_residual_branches_start_at_zero():
    backbone = RepViT("m0_9", out_indices=(0,)).eval()
    block = backbone.stages[0][1]
    x = torch.randn(1, 48, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(block.channel_mixer(x), x)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"RepViT: unknown variant 'm3'"):
        RepViT("m3")
    with pytest.raises(ValueError, match=r"RepViT: out_indices \(\) must be strictly increasing"):
        RepViT(out_indices=())
    with pytest.raises(ValueError, match=r"within 0..3"):
        RepViT(out_indices=(0, 4))


def test_training_form_backpropagates_through_every_branch():
    block = RepViTBlock(8, use_se=True)
    # The channel mixer's projection starts at zero; give it weight so gradients reach the expansion too.
    nn.init.ones_(block.channel_mixer.project.bn.weight)
    block(torch.randn(2, 8, 6, 6)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())
