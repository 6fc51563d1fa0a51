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


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def build(kind="convgru", **overrides):
    cfg = dict(type="TemporalVideoSegmentor", backbone=BACKBONE, temporal=TEMPORAL[kind], decode_head=HEAD)
    return MODELS.build({**cfg, **overrides})


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
        logits = model(clip)
        _, state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
    assert logits.shape == (2, 3, 2, 40, 56)
    expected = {
        "convgru": [(2, 8, 10, 14), (2, 12, 5, 7), (2, 16, 3, 4)],
        "flowprop": [(2, 16, 10, 14), (2, 24, 5, 7), (2, 576, 3, 4), (2, 3, 40, 56), (2, 1, 1, 1)],
    }[temporal]
    assert [tuple(s.shape) for s in model.initial_state(clip[:, 0])] == expected
    assert [tuple(s.shape) for s in state] == expected
    assert model.is_recurrent


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_step_over_frames_equals_forward_clip(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=3)
    with torch.no_grad():
        clip_logits, clip_state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
        state = None
        for t in range(3):
            step_logits, state = model.step(clip[:, t], state)
            torch.testing.assert_close(step_logits, clip_logits[:, t], atol=1e-5, rtol=1e-5)
    for carried, expected in zip(state, clip_state):
        torch.testing.assert_close(carried, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_state_carries_information_from_previous_frames(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=3)
    with torch.no_grad():
        with_history = model(clip)[:, -1]
        alone, _ = model.step(clip[:, -1])
    assert (with_history - alone).abs().max() > 1e-4


@pytest.mark.parametrize("temporal", ["convgru", "flowprop"])
def test_loss_has_per_frame_terms_and_reaches_the_backbone(temporal):
    model = build(temporal, temporal_losses=[dict(type="RecordingTemporalLoss")])
    clip = textured_clip(batch=2, frames=2)
    samples = [VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64))) for _ in range(2)]
    losses = model(clip, samples, mode="loss")
    assert set(losses) == {"decode.loss_ce", "decode.acc_seg", "loss_recorded"}
    (losses["decode.loss_ce"] + losses["loss_recorded"]).backward()
    assert model.backbone.layer1.depthwise_conv.conv.weight.grad.abs().sum() > 0
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
        with_flow, _ = model.forward_clip(clip, model.initial_state(clip[:, 0]), flow)
        estimated, _ = model.forward_clip(clip, model.initial_state(clip[:, 0]))
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
def test_predict_carries_state_across_chunks_and_resets_on_first_clip(temporal):
    model = build(temporal).eval()
    clip = textured_clip(frames=4)

    def chunk_sample(first):
        return VideoDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), is_first_clip=first))

    with torch.no_grad():
        whole, whole_state = model.forward_clip(clip, model.initial_state(clip[:, 0]))
        model.predict(clip[:, :2], [chunk_sample(True)])
        (second,) = model.predict(clip[:, 2:], [chunk_sample(False)])
        carried_state = model._stream_state
        (restarted,) = model.predict(clip[:, 2:], [chunk_sample(True)])
        fresh, fresh_state = model.forward_clip(clip[:, 2:], model.initial_state(clip[:, 2]))
    assert torch.equal(second.pred_sem_seg, whole[0, 2:].argmax(dim=1))
    for carried, expected in zip(carried_state, whole_state):
        torch.testing.assert_close(carried, expected, atol=1e-5, rtol=1e-5)
    assert torch.equal(restarted.pred_sem_seg, fresh[0].argmax(dim=1))
    for restarted_state, expected in zip(model._stream_state, fresh_state):
        torch.testing.assert_close(restarted_state, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(whole[0, 2:], fresh[0])


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
        assert model(torch.randn(1, 2, 3, 48, 64)).shape == (1, 2, 2, 48, 64)


def test_strides_that_do_not_match_the_backbone_are_named():
    temporal = dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 32), gru_channels=(8, 12, 16)
    )
    model = build(temporal=temporal).eval()
    with pytest.raises(ValueError, match=r"strides\[2\]=32 does not match the backbone's output stride"):
        model(torch.randn(1, 2, 3, 64, 64))


def test_project_temporal_losses_plug_in_with_the_fused_features():
    model = build("flowprop", temporal_losses=[dict(type="FeatureConsistencyLoss", flow_source="data")])
    flow = torch.zeros(1, 1, 2, 64, 64)
    sample = VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64)), gt_flow=flow[0])
    losses = model(textured_clip(frames=2), [sample], mode="loss")
    assert losses["loss_feature_consistency"] > 0
    losses["loss_feature_consistency"].backward()
    assert model.backbone.layer1.depthwise_conv.conv.weight.grad.abs().sum() > 0
