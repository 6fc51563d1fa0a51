import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample
from tests.models.tiny_components import BACKBONE, HEAD, NORM

TEMPORAL = {
    "convgru": dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 16), gru_channels=(8, 12, 16)
    ),
    "flowprop": dict(
        type="FlowGuidedPropagation", in_channels=(16, 24, 576), strides=(4, 8, 16), gate_channels=8
    ),
}


class RecordingTemporalLoss(nn.Module):
    """Test double for a temporal loss: records what the segmentor passes and returns a differentiable scalar."""

    loss_name = "loss_recorded"

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, **kwargs):
        self.calls.append(kwargs)
        return kwargs["features"].mean() + kwargs["logits"].mean()


MODELS.register_module(name="RecordingTemporalLoss", module=RecordingTemporalLoss, force=True)


class SmoothedHead(nn.Module):
    """docs/contract.md's example of a stateful head: any decode head, its logits averaged over the frames seen."""

    state_names = ("average", "frames")

    def __init__(self, head: dict, stride: int, momentum: float = 0.5):
        super().__init__()
        self.head = MODELS.build(head)
        self.stride, self.momentum = stride, momentum
        # What mmseg's EncoderDecoder reads from its decode head.
        self.align_corners, self.num_classes = self.head.align_corners, self.head.num_classes
        self.out_channels = self.head.out_channels

    def initial_state(self, frame):
        batch, _, height, width = frame.shape
        size = (-(-height // self.stride), -(-width // self.stride))
        return frame.new_zeros(batch, self.head.out_channels, *size), frame.new_zeros(batch, 1, 1, 1)

    def forward(self, features, state):
        average, frames = state
        batch, length = features[0].shape[:2]
        logits = self.head([f.flatten(0, 1) for f in features]).unflatten(0, (batch, length))
        smoothed = []
        for t in range(length):
            average = self.momentum * average + (1 - self.momentum) * logits[:, t]
            frames = frames + 1
            smoothed.append(average / (1 - self.momentum**frames))
        return torch.stack(smoothed, dim=1).flatten(0, 1), (average, frames)

    def loss_by_feat(self, logits, frame_samples):
        return self.head.loss_by_feat(logits, frame_samples)


MODELS.register_module(name="SmoothedHead", module=SmoothedHead, force=True)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def build(kind="convgru", temporal=None, temporal_losses=None, **segmentor_overrides):
    """The temporal model around an mmseg EncoderDecoder of the tiny backbone and head (overridable)."""
    segmentor = {"type": "EncoderDecoder", "backbone": BACKBONE, "decode_head": HEAD, **segmentor_overrides}
    cfg = dict(type="TemporalVideoSegmentor", segmentor=segmentor, temporal=temporal or TEMPORAL[kind])
    return MODELS.build({**cfg, "temporal_losses": temporal_losses})


def textured_clip(batch=1, frames=3, height=64, width=64):
    """Normalized-looking inputs that are a texture moving right by 2 px a frame (DIS finds real motion)."""
    texture = nn.functional.interpolate(
        torch.randn(batch, 3, 8, 12), size=(height, width + 16), mode="bicubic"
    )
    return torch.stack([texture[..., 8 - 2 * t : 8 - 2 * t + width] for t in range(frames)], dim=1)


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_tensor_mode_and_state_shapes(temporal):
    model = build(temporal).eval()
    clip = textured_clip(batch=2, frames=3, height=40, width=56)
    with torch.no_grad():
        logits = model(clip)["logits"]
        _, state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
    assert logits.shape == (2, 3, 2, 40, 56)
    expected = {
        "convgru": [(2, 8, 10, 14), (2, 12, 5, 7), (2, 16, 3, 4)],
        "flowprop": [(2, 16, 10, 14), (2, 24, 5, 7), (2, 576, 3, 4), (2, 3, 40, 56), (2, 1, 1, 1)],
    }[temporal]
    assert [tuple(s.shape) for s in model.initial_state(clip[:, 0])] == expected
    assert [tuple(s.shape) for s in state] == expected
    assert model.is_recurrent
    names = {
        "convgru": ["hidden_stride4", "hidden_stride8", "hidden_stride16"],
        "flowprop": ["memory_stride4", "memory_stride8", "memory_stride16", "previous_image", "has_previous"],
    }[temporal]
    assert model.state_names == tuple(f"temporal.{name}" for name in names)


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_step_over_frames_equals_forward_clip(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=3)
    with torch.no_grad():
        clip_outputs, clip_state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
        state = None
        for t in range(3):
            step_outputs, state = model.step(clip[:, t], state)
            torch.testing.assert_close(
                step_outputs["logits"], clip_outputs["logits"][:, t], atol=1e-5, rtol=1e-5
            )
    for carried, expected in zip(state, clip_state):
        torch.testing.assert_close(carried, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_state_carries_information_from_previous_frames(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=3)
    with torch.no_grad():
        with_history = model(clip)["logits"][:, -1]
        alone = model.step(clip[:, -1])[0]["logits"]
    assert (with_history - alone).abs().max() > 1e-4


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_loss_has_per_frame_terms_and_reaches_the_backbone(temporal):
    model = build(temporal, temporal_losses=[dict(type="RecordingTemporalLoss")])
    clip = textured_clip(batch=2, frames=2)
    samples = [VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64))) for _ in range(2)]
    losses = model(clip, samples, mode="loss")
    assert set(losses) == {"decode.loss_ce", "decode.acc_seg", "loss_recorded"}
    (losses["decode.loss_ce"] + losses["loss_recorded"]).backward()
    assert model.segmentor.backbone.layer1.depthwise_conv.conv.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.temporal.parameters())
    (call,) = model.temporal_losses[0].calls
    assert call["logits"].shape == (2, 2, 2, 64, 64)
    assert call["features"].shape == (2, 2, 576, 4, 4)
    assert call["flow"] is None and call["gt_sem_seg"].shape == (2, 2, 64, 64)


def test_loss_uses_the_clips_gt_flow():
    model = build("flowprop", temporal_losses=[dict(type="RecordingTemporalLoss")]).eval()
    clip = textured_clip(frames=3)
    flow = torch.randn(1, 2, 2, 64, 64) * 3
    sample = VideoDataSample(gt_sem_seg=torch.randint(0, 2, (3, 64, 64)), gt_flow=flow[0])
    model(clip, [sample], mode="loss")
    recorded = model.temporal_losses[0].calls[0]["logits"]
    with torch.no_grad():
        with_flow = model.forward_clip(clip, model.initial_state(clip[:, 0]), flow)[0]["logits"]
        estimated = model.forward_clip(clip, model.initial_state(clip[:, 0]))[0]["logits"]
    torch.testing.assert_close(recorded.detach(), with_flow)
    assert not torch.allclose(with_flow, estimated)


def test_auxiliary_head_supervises_the_backbone_features():
    aux = dict(
        type="FCNHead", in_channels=576, in_index=2, channels=8, num_convs=1, num_classes=2, norm_cfg=NORM
    )
    model = build(auxiliary_head=aux)
    samples = [VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64)))]
    losses = model(textured_clip(frames=2), samples, mode="loss")
    assert {"decode.loss_ce", "aux.loss_ce"} <= set(losses)


def test_loss_without_gt_sem_seg_is_named():
    model = build()
    with pytest.raises(ValueError, match="data sample 0 has no gt_sem_seg"):
        model(textured_clip(frames=2), [VideoDataSample()], mode="loss")


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_predict_stream_takes_and_returns_the_state_and_keeps_none(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=4)

    def chunk_sample():
        return VideoDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))

    with torch.no_grad():
        whole, whole_state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
        whole = whole["logits"]
        _, state = model.predict_stream(clip[:, :2], [chunk_sample()], None)
        (second,), carried_state = model.predict_stream(clip[:, 2:], [chunk_sample()], state)
        (restarted,) = model.predict(clip[:, 2:], [chunk_sample()])
        fresh = model.forward_clip(clip[:, 2:], model.initial_state(clip[:, 2]))[0]["logits"]
    assert torch.equal(second.pred_sem_seg, whole[0, 2:].argmax(dim=1))
    for carried, expected in zip(carried_state, whole_state):
        torch.testing.assert_close(carried, expected, atol=1e-5, rtol=1e-5)
    # predict (what mmengine's loops call) starts every batch from the initial state: the model holds nothing.
    assert torch.equal(restarted.pred_sem_seg, fresh[0].argmax(dim=1))
    assert not torch.allclose(whole[0, 2:], fresh[0])
    assert not any(isinstance(value, tuple) for value in vars(model).values())


def test_any_mmseg_backbone_and_head():
    """mmseg's own MobileNetV3 (output stride 8) and FCNHead around a ConvGRU."""
    model = build(
        backbone=dict(type="MobileNetV3", arch="small", out_indices=(12,), norm_cfg=NORM),
        temporal=dict(type="MultiScaleConvGRU", in_channels=(576,), strides=(8,), gru_channels=(8,)),
        decode_head=dict(
            type="FCNHead",
            in_channels=576,
            channels=8,
            num_convs=1,
            num_classes=2,
            norm_cfg=NORM,
            concat_input=False,
        ),
    ).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 2, 3, 48, 64))["logits"].shape == (1, 2, 2, 48, 64)


def test_strides_that_do_not_match_the_backbone_are_named_at_build():
    temporal = dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 32), gru_channels=(8, 12, 16)
    )
    with pytest.raises(
        ValueError, match=r"temporal.strides=\(4, 8, 32\) disagrees with the backbone's features"
    ):
        build(temporal=temporal)


def test_temporal_channels_and_strides_come_from_the_backbone():
    model = build(temporal=dict(type="MultiScaleConvGRU", gru_channels=(8, 12, 16)))
    assert model.temporal.in_channels == (16, 24, 576) and model.temporal.strides == (4, 8, 16)
    built = MODELS.build(TEMPORAL["flowprop"])
    assert build(temporal=built).temporal is built, "a built module is taken as it is"


def test_head_channels_that_disagree_with_the_backbone_are_named():
    with pytest.raises(
        ValueError, match=r"segmentor.decode_head.in_channels=\(16, 24, 96\) disagrees .* \(16, 24, 576\)"
    ):
        build(decode_head={**HEAD, "in_channels": (16, 24, 96)})
    aux = dict(
        type="FCNHead", in_channels=48, in_index=2, channels=8, num_convs=1, num_classes=2, norm_cfg=NORM
    )
    with pytest.raises(ValueError, match=r"segmentor.auxiliary_head\[0\].in_channels=48 .* which have 576"):
        build(auxiliary_head=aux)


def test_a_per_frame_checkpoint_fits_the_segmentor_of_the_temporal_model():
    per_frame = MODELS.build(
        dict(
            type="PerFrameVideoSegmentor",
            segmentor=dict(type="EncoderDecoder", backbone=BACKBONE, decode_head=HEAD),
        )
    )
    temporal_keys = set(build().state_dict())
    assert set(per_frame.state_dict()) == {k for k in temporal_keys if k.startswith("segmentor.")}


def test_project_temporal_losses_plug_in_with_the_fused_features():
    model = build("flowprop", temporal_losses=[dict(type="FeatureConsistencyLoss", flow_source="data")])
    flow = torch.zeros(1, 1, 2, 64, 64)
    sample = VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64)), gt_flow=flow[0])
    losses = model(textured_clip(frames=2), [sample], mode="loss")
    assert losses["loss_feature_consistency"] > 0
    losses["loss_feature_consistency"].backward()
    assert model.segmentor.backbone.layer1.depthwise_conv.conv.weight.grad.abs().sum() > 0


def test_a_stateful_decode_head_is_a_config_choice():
    """The segmentor collects the head's state beside the temporal module's; step, clip and loss all carry it."""
    model = build(decode_head=dict(type="SmoothedHead", head=HEAD, stride=4)).eval()
    # Registration order: the segmentor (holding the head) is built before the temporal module.
    assert model.state_names == (
        "segmentor.decode_head.average",
        "segmentor.decode_head.frames",
        "temporal.hidden_stride4",
        "temporal.hidden_stride8",
        "temporal.hidden_stride16",
    )
    clip = textured_clip(frames=3)
    with torch.no_grad():
        whole, whole_state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
        state = None
        for t in range(3):
            outputs, state = model.step(clip[:, t], state)
        plain = build().eval()
        plain.load_state_dict(
            {k.replace("decode_head.head.", "decode_head."): v for k, v in model.state_dict().items()}
        )
        unsmoothed = plain(clip)["logits"]
    torch.testing.assert_close(outputs["logits"], whole["logits"][:, -1], atol=1e-5, rtol=1e-5)
    assert state[1].item() == 3.0 and whole_state[1].item() == 3.0
    # The first frame's average is that frame's own logits (bias-corrected); later frames blend in history.
    torch.testing.assert_close(whole["logits"][:, 0], unsmoothed[:, 0], atol=1e-5, rtol=1e-5)
    assert (whole["logits"][:, -1] - unsmoothed[:, -1]).abs().max() > 1e-3
    samples = [VideoDataSample(gt_sem_seg=torch.randint(0, 2, (3, 64, 64)))]
    assert torch.isfinite(model.train()(clip, samples, mode="loss")["decode.loss_ce"])


def test_the_model_owns_its_input_scale():
    """Full frames in: step and predict_stream compute at input_short_side (state included) and give
    predictions at the frames' size; training-size inputs pass through untouched."""
    model = build()
    model.input_short_side = 32
    model.eval()
    clip = textured_clip(frames=3, height=48, width=80)
    scaled = nn.functional.interpolate(
        clip.flatten(0, 1), size=(32, 53), mode="bilinear", align_corners=False
    )
    scaled = scaled.unflatten(0, clip.shape[:2])
    assert model.input_size(48, 80) == (32, 53)  # 80 * 32 / 48 = 53.3
    assert torch.equal(model.to_input_scale(clip), scaled)
    assert model.to_input_scale(scaled) is scaled
    with torch.no_grad():
        expected, expected_state = model.forward_clip(scaled, model.initial_state(scaled[:, 0]))
        state = None
        for t in range(3):
            outputs, state = model.step(clip[:, t], state)
            assert outputs["logits"].shape == (1, 2, 32, 53)
            torch.testing.assert_close(outputs["logits"], expected["logits"][:, t], atol=1e-5, rtol=1e-5)
        sample = VideoDataSample(metainfo=dict(img_shape=(48, 80), ori_shape=(48, 80)))
        (predicted,), stream_state = model.predict_stream(clip, [sample], None)
    for carried, wanted in zip(stream_state, expected_state):
        torch.testing.assert_close(carried, wanted, atol=1e-5, rtol=1e-5)
    upsampled = nn.functional.interpolate(
        expected["logits"][0], size=(48, 80), mode="bilinear", align_corners=False
    )
    assert predicted.pred_sem_seg.shape == (3, 48, 80)
    assert torch.equal(predicted.pred_sem_seg, upsampled.argmax(dim=1))


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_a_bad_input_short_side_is_named(value):
    with pytest.raises(ValueError, match="input_short_side must be a positive int or None"):
        MODELS.build(
            dict(
                type="TemporalVideoSegmentor",
                segmentor=dict(type="EncoderDecoder", backbone=BACKBONE, decode_head=HEAD),
                temporal=TEMPORAL["convgru"],
                input_short_side=value,
            )
        )
