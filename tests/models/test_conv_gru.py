import math

import pytest
import torch

from steadyseg.models.temporal import ConvGRU, MultiScaleConvGRU
from steadyseg.registry import MODELS


def test_conv_gru_shapes_and_last_output_is_state():
    gru = ConvGRU(4)
    out, h = gru(torch.randn(2, 3, 4, 5, 6), torch.zeros(2, 4, 5, 6))
    assert out.shape == (2, 3, 4, 5, 6) and h.shape == (2, 4, 5, 6)
    torch.testing.assert_close(out[:, -1], h)


def test_conv_gru_update_matches_hand_computed_formula():
    gru = ConvGRU(1, kernel_size=1)
    with torch.no_grad():
        gru.gates.weight.zero_()
        gru.gates.bias.copy_(torch.tensor([0.0, math.log(3.0)]))  # reset r = 0.5, update z = 0.75
        gru.candidate.weight.fill_(1.0)  # c = tanh(x + r * h)
        gru.candidate.bias.zero_()
    x, h = torch.full((1, 1, 1, 1, 1), 0.2), torch.full((1, 1, 1, 1), 0.4)
    _, new_h = gru(x, h)
    expected = 0.25 * 0.4 + 0.75 * math.tanh(0.2 + 0.5 * 0.4)
    assert new_h.item() == pytest.approx(expected, abs=1e-6)


def test_conv_gru_rejects_even_kernel():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvGRU(4, kernel_size=2)


def tiny_module(gru_channels=(2, 0, 4)):
    return MultiScaleConvGRU(in_channels=(4, 6, 8), strides=(2, 4, 8), gru_channels=gru_channels)


def clip_features(batch=2, frames=3, height=16, width=24):
    return [
        torch.randn(batch, frames, channels, -(-height // stride), -(-width // stride))
        for channels, stride in ((4, 2), (6, 4), (8, 8))
    ]


def test_initial_state_sizes_round_up_like_strided_convolutions():
    module = tiny_module()
    state = module.initial_state(torch.zeros(2, 3, 33, 50))
    assert [tuple(s.shape) for s in state] == [(2, 2, 17, 25), (2, 4, 5, 7)]
    assert all(s.abs().sum() == 0 for s in state)


def test_outputs_keep_shapes_and_passthrough_channels():
    module = tiny_module()
    features = clip_features()
    outputs, state = module(features, module.initial_state(torch.zeros(2, 3, 16, 24)))
    assert [o.shape for o in outputs] == [f.shape for f in features]
    assert [tuple(s.shape) for s in state] == [(2, 2, 8, 12), (2, 4, 2, 3)]
    torch.testing.assert_close(outputs[0][:, :, :2], features[0][:, :, :2])
    torch.testing.assert_close(outputs[1], features[1])
    torch.testing.assert_close(outputs[2][:, :, :4], features[2][:, :, :4])
    torch.testing.assert_close(outputs[2][:, -1, 4:], state[1])
    assert not torch.allclose(outputs[2][:, :, 4:], features[2][:, :, 4:])


def test_chunked_run_with_carried_state_equals_whole_clip():
    module = tiny_module()
    features = clip_features(frames=4)
    whole, whole_state = module(features, module.initial_state(torch.zeros(2, 3, 16, 24)))
    first, state = module([f[:, :1] for f in features], module.initial_state(torch.zeros(2, 3, 16, 24)))
    second, state = module([f[:, 1:] for f in features], state)
    for index in range(3):
        torch.testing.assert_close(torch.cat([first[index], second[index]], dim=1), whole[index])
    for carried, expected in zip(state, whole_state):
        torch.testing.assert_close(carried, expected)


def test_state_carries_information_from_previous_frames():
    module = tiny_module()
    features = clip_features(frames=2)
    state = module.initial_state(torch.zeros(2, 3, 16, 24))
    with_history, _ = module(features, state)
    alone, _ = module([f[:, 1:] for f in features], state)
    assert not torch.allclose(with_history[2][:, 1], alone[2][:, 0])


def test_registered_and_buildable_from_config():
    module = MODELS.build(dict(type="MultiScaleConvGRU", in_channels=(4,), strides=(8,), gru_channels=(2,)))
    assert isinstance(module, MultiScaleConvGRU)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(in_channels=(4, 6), strides=(2,), gru_channels=(2, 2)), "one entry per backbone feature"),
        (
            dict(in_channels=(4,), strides=(2,), gru_channels=(5,)),
            r"gru_channels\[0\]=5 must be in \[0, in_channels",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiScaleConvGRU(**kwargs)


def test_state_size_mismatch_names_the_stride():
    module = tiny_module()
    with pytest.raises(ValueError, match=r"strides\[0\]=2 does not match the backbone's output stride"):
        module(clip_features(), module.initial_state(torch.zeros(2, 3, 32, 24)))


def test_channel_mismatch_names_in_channels():
    module = tiny_module()
    features = clip_features()
    features[2] = features[2][:, :, :5]
    with pytest.raises(ValueError, match=r"feature 2 has 5 channels; in_channels\[2\] is 8"):
        module(features, module.initial_state(torch.zeros(2, 3, 16, 24)))
