import pytest
import torch

from steadyseg.flow import dis_flow
from steadyseg.models.temporal import FlowGuidedPropagation

HEIGHT, WIDTH = 32, 48


def tiny_module(**kwargs):
    kwargs.setdefault("propagate_index", (1, 2))
    return FlowGuidedPropagation(in_channels=(4, 6, 8), strides=(2, 4, 8), gate_channels=4, **kwargs)


def clip_features(batch=2, frames=3):
    return [
        torch.randn(batch, frames, channels, HEIGHT // stride, WIDTH // stride)
        for channels, stride in ((4, 2), (6, 4), (8, 8))
    ]


def textured_clip(batch=1, frames=3, shift=2):
    """A smooth random texture translated by ``shift`` pixels to the right per frame, RGB in [0, 1]."""
    texture = torch.nn.functional.interpolate(
        torch.rand(batch, 3, 12, 16), size=(HEIGHT, WIDTH + 16), mode="bicubic"
    )
    texture = texture.clamp(0, 1)
    return torch.stack([texture[..., 8 - t * shift : 8 - t * shift + WIDTH] for t in range(frames)], dim=1)


def force_gate(module, value):
    """Makes every gate output the constant ``value`` (weights zero, bias the logit)."""
    with torch.no_grad():
        for gate in module.gates:
            for layer in gate:
                if isinstance(layer, torch.nn.Conv2d):
                    layer.weight.zero_()
                    layer.bias.zero_()
            gate[2].bias.fill_(torch.logit(torch.tensor(value)).item())


def test_state_and_output_shapes():
    module = tiny_module()
    state = module.initial_state(torch.zeros(2, 3, 33, 50))
    assert [tuple(s.shape) for s in state] == [(2, 6, 9, 13), (2, 8, 5, 7), (2, 3, 33, 50), (2, 1, 1, 1)]
    features = clip_features()
    images = torch.rand(2, 3, 3, HEIGHT, WIDTH)
    outputs, state = module(features, module.initial_state(images[:, 0]), images)
    assert [o.shape for o in outputs] == [f.shape for f in features]
    assert [tuple(s.shape) for s in state] == [
        (2, 6, 8, 12),
        (2, 8, 4, 6),
        (2, 3, HEIGHT, WIDTH),
        (2, 1, 1, 1),
    ]
    torch.testing.assert_close(outputs[0], features[0])  # not in propagate_index
    torch.testing.assert_close(state[0], outputs[1][:, -1])
    torch.testing.assert_close(state[2], images[:, -1])
    assert state[3].eq(1).all()


def test_first_frame_of_a_video_keeps_the_current_features():
    module = tiny_module()
    force_gate(module, 0.9)
    features = clip_features(frames=1)
    images = torch.rand(2, 1, 3, HEIGHT, WIDTH)
    outputs, _ = module(features, module.initial_state(images[:, 0]), images)
    for output, feature in zip(outputs, features):
        torch.testing.assert_close(output, feature)


def test_integer_translation_with_exact_flow_aligns_previous_features():
    """Frame 1 is frame 0's pattern moved by (dx, dy) feature pixels: the warped memory lands on it exactly."""
    module = tiny_module(propagate_index=(1,))
    force_gate(module, 1.0 - 1e-7)
    dx, dy, stride = 2, 1, 4
    pattern = torch.randn(1, 6, HEIGHT // stride, WIDTH // stride)
    moved = torch.zeros_like(pattern)
    moved[..., dy:, dx:] = pattern[..., :-dy, :-dx]
    current = moved + torch.randn_like(moved)  # what the backbone sees now differs from the memory
    features = clip_features(batch=1, frames=2)
    features[1] = torch.stack([pattern, current], dim=1)
    # Backward flow: frame_1(x) = frame_0(x + flow) with flow = -(dx, dy) * stride at image resolution.
    flow = torch.empty(1, 1, 2, HEIGHT, WIDTH)
    flow[:, :, 0], flow[:, :, 1] = -dx * stride, -dy * stride
    images = torch.rand(1, 2, 3, HEIGHT, WIDTH)
    outputs, _ = module(features, module.initial_state(images[:, 0]), images, flow)
    fused = outputs[1][:, 1]
    torch.testing.assert_close(fused[..., dy:, dx:], moved[..., dy:, dx:], atol=1e-5, rtol=0)
    # Where the flow points outside the previous frame the current features are kept.
    torch.testing.assert_close(fused[..., :dy, :], current[..., :dy, :])
    torch.testing.assert_close(fused[..., :, :dx], current[..., :, :dx])


def test_flow_moves_features_by_whole_cells_when_the_width_is_not_a_multiple_of_the_stride():
    """A 40 x 56 frame has 3 x 4 stride-16 cells (ceil): a flow of (16 k, 16 m) pixels is (k, m) cells, not
    (k, m) * 4 / 56 * 16 = 1.14 (k, m)."""
    stride, k, m = 16, 2, 1
    module = FlowGuidedPropagation(in_channels=(6,), strides=(stride,), gate_channels=4)
    force_gate(module, 1.0 - 1e-7)
    pattern = torch.randn(1, 6, 3, 4)
    current = torch.randn(1, 6, 3, 4)
    flow = torch.empty(1, 1, 2, 40, 56)
    flow[:, :, 0], flow[:, :, 1] = -stride * k, -stride * m
    images = torch.rand(1, 2, 3, 40, 56)
    outputs, _ = module(
        [torch.stack([pattern, current], dim=1)], module.initial_state(images[:, 0]), images, flow
    )
    fused = outputs[0][:, 1]
    torch.testing.assert_close(fused[..., m:, k:], pattern[..., :-m, :-k], atol=1e-5, rtol=0)
    torch.testing.assert_close(fused[..., :m, :], current[..., :m, :])
    torch.testing.assert_close(fused[..., :, :k], current[..., :, :k])


def test_gate_sees_the_warp_error_averaged_over_each_cell():
    """The overhanging last cell of a 56-pixel row at stride 16 averages pixels 48..55 (not 42..55, the bins
    of an adaptive pooling to 4 cells)."""
    seen = {}

    def gate(inputs):
        seen["error"] = inputs[:, -1]
        return torch.zeros_like(inputs[:, :1])

    current = torch.zeros(1, 6, 3, 4)
    warp_error = torch.arange(56.0).view(1, 1, 1, 56).expand(1, 1, 40, 56)
    FlowGuidedPropagation.fuse(
        current, current, torch.zeros(1, 2, 40, 56), warp_error, torch.ones(1, 1, 1, 1), gate, 16
    )
    torch.testing.assert_close(seen["error"][0], torch.tensor([7.5, 23.5, 39.5, 51.5]).expand(3, 4))


def test_gate_blends_current_and_warped_memory():
    module = tiny_module(propagate_index=(2,))
    force_gate(module, 0.25)
    features = clip_features(batch=1, frames=2)
    images = torch.rand(1, 2, 3, HEIGHT, WIDTH)
    flow = torch.zeros(1, 1, 2, HEIGHT, WIDTH)
    outputs, _ = module(features, module.initial_state(images[:, 0]), images, flow)
    expected = 0.75 * features[2][:, 1] + 0.25 * features[2][:, 0]
    torch.testing.assert_close(outputs[2][:, 1], expected)


def test_dis_fallback_estimates_the_flow_between_consecutive_frames():
    module = tiny_module()
    images = textured_clip()
    features = clip_features(batch=1)
    state = module.initial_state(images[:, 0])
    estimated, _ = module(features, state, images)
    explicit, _ = module(features, state, images, dis_flow(images[0])[None])
    for a, b in zip(estimated, explicit):
        torch.testing.assert_close(a, b)
    zero, _ = module(features, state, images, torch.zeros(1, 2, 2, HEIGHT, WIDTH))
    assert not torch.allclose(estimated[2], zero[2])


def test_streaming_state_keeps_the_previous_frame_for_flow_across_chunks():
    module = tiny_module()
    images = textured_clip(frames=4)
    features = clip_features(batch=1, frames=4)
    whole, whole_state = module(features, module.initial_state(images[:, 0]), images)
    first, state = module([f[:, :2] for f in features], module.initial_state(images[:, 0]), images[:, :2])
    second, state = module([f[:, 2:] for f in features], state, images[:, 2:])
    for index in range(3):
        torch.testing.assert_close(torch.cat([first[index], second[index]], dim=1), whole[index])
    for carried, expected in zip(state, whole_state):
        torch.testing.assert_close(carried, expected)


def test_zero_fallback_is_propagation_without_motion():
    module = tiny_module(flow_fallback="zero")
    images = textured_clip()
    features = clip_features(batch=1)
    state = module.initial_state(images[:, 0])
    fallback, _ = module(features, state, images)
    explicit, _ = module(features, state, images, torch.zeros(1, 2, 2, HEIGHT, WIDTH))
    for a, b in zip(fallback, explicit):
        torch.testing.assert_close(a, b)


def test_state_carries_information_from_previous_frames():
    module = tiny_module()
    images = textured_clip(frames=2)
    features = clip_features(batch=1, frames=2)
    with_history, _ = module(features, module.initial_state(images[:, 0]), images)
    alone, _ = module([f[:, 1:] for f in features], module.initial_state(images[:, 0]), images[:, 1:])
    assert not torch.allclose(with_history[2][:, 1], alone[2][:, 0])


def test_gradients_reach_gates_and_features():
    module = tiny_module()
    features = [f.requires_grad_() for f in clip_features()]
    images = torch.rand(2, 3, 3, HEIGHT, WIDTH)
    outputs, _ = module(
        features, module.initial_state(images[:, 0]), images, torch.zeros(2, 2, 2, HEIGHT, WIDTH)
    )
    sum(o.square().sum() for o in outputs).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert features[2].grad[:, 0].abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(flow_fallback="raft"), "flow_fallback must be one of"),
        (
            dict(propagate_index=(3,)),
            r"propagate_index \(3,\) must list distinct feature indices in \[0, 3\)",
        ),
        (dict(propagate_index=(1, 1)), r"propagate_index \(1, 1\) must list distinct"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_module(**kwargs)


def test_bad_inputs_are_named():
    module = tiny_module()
    features = clip_features()
    images = torch.rand(2, 3, 3, HEIGHT, WIDTH)
    state = module.initial_state(images[:, 0])
    with pytest.raises(ValueError, match="needs the clip's images"):
        module(features, state)
    with pytest.raises(ValueError, match=r"flow \(the clips' gt_flow\) has shape \(2, 3, 2, 32, 48\)"):
        module(features, state, images, torch.zeros(2, 3, 2, HEIGHT, WIDTH))
    with pytest.raises(ValueError, match=r"strides\[1\]=4"):
        module(
            features, module.initial_state(torch.zeros(2, 3, 2 * HEIGHT, WIDTH)), torch.rand(2, 3, 3, 64, 48)
        )
