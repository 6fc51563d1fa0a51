import pytest
import torch

from steadyseg.models.heads import MobileLRASPPHead


def make_head(**kwargs):
    args = dict(in_channels=(8, 16, 32), in_index=(0, 1, 2), skip_channels=(4, 4), channels=8, num_classes=3)
    args.update(kwargs)
    return MobileLRASPPHead(**args)


@pytest.mark.parametrize("size", [(64, 64), (48, 80), (20, 36)])
def test_any_input_size_decodes_at_shallowest_stride(size):
    """mmseg's LRASPPHead pools 49x49 and fails on small inputs; this one must not."""
    h, w = size
    feats = [
        torch.randn(1, 8, h // 4, w // 4),
        torch.randn(1, 16, h // 8, w // 8),
        torch.randn(1, 32, h // 16, w // 16),
    ]
    out = make_head().eval()(feats)
    assert out.shape == (1, 3, h // 4, w // 4)


def test_gate_uses_global_context():
    torch.manual_seed(0)
    head = make_head().eval()
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)]
    base = head(feats)
    feats[2][..., 0, 0] += 5.0
    # The opposite corner is outside every local receptive field of the deep pixel: only the pooled gate reaches it.
    assert (head(feats) - base)[..., 15, 15].abs().sum() > 0


def test_skip_channels_must_match_inputs():
    with pytest.raises(ValueError, match="skip_channels has 1 entries; expected 2"):
        make_head(skip_channels=(4,))


def test_narrowing_depthwise_decoder_ends_at_last_fuse_width():
    head = make_head(fuse_channels=(4, 6), fuse_depthwise=True).eval()
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)]
    assert head(feats).shape == (1, 3, 16, 16)
    # The stride-8 fusion takes the deep branch (channels=8) plus its skip (4); the stride-4 one takes 6 + 4.
    assert head.fuses[1].depthwise_conv.conv.in_channels == 12
    assert head.fuses[0].depthwise_conv.conv.in_channels == 10
    assert head.conv_seg.in_channels == 4


def test_depthwise_fusion_is_cheaper():
    def fusion_weights(head):
        return sum(p.numel() for fuse in head.fuses for p in fuse.parameters())

    assert fusion_weights(make_head(fuse_depthwise=True)) < fusion_weights(make_head()) / 3


def test_fuse_channels_must_match_skips():
    with pytest.raises(ValueError, match="fuse_channels has 1 entries; expected 2"):
        make_head(fuse_channels=(4,))


@pytest.mark.parametrize("depthwise", [False, True])
@pytest.mark.parametrize("skips", [(4, 4), ()])
def test_linear_output_gives_the_classifier_features_of_either_sign(depthwise, skips):
    torch.manual_seed(0)
    in_channels = (8, 16, 32)[-len(skips) - 1 :]
    feats = [torch.randn(2, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate(in_channels)]
    seen = {}
    for linear in (False, True):
        head = make_head(
            in_channels=in_channels,
            in_index=tuple(range(len(in_channels))),
            skip_channels=skips,
            fuse_depthwise=depthwise,
            linear_output=linear,
        ).eval()
        head.conv_seg.register_forward_hook(
            lambda module, inputs, output, key=linear: seen.update({key: inputs[0]})
        )
        head(feats)
    assert seen[False].min() >= 0, "after a ReLU the classifier reads only non-negative features"
    assert (seen[True] < 0).float().mean() > 0.2
