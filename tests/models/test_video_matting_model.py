import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample
from tests.models.tiny_components import NORM

# MobileNetV3-small cut at its stride-16 stage: one feature at each of strides 2, 4, 8, 16 (16, 16, 24, 48 channels).
BACKBONE = dict(
    type="StridedMobileNetV3", arch="small", output_stride=16, out_indices=(0, 1, 3, 8), norm_cfg=NORM
)
# State widths: half of each recurrent block, finest first (stride 2, 4, 8, 16).
HIDDEN = (4, 4, 8, 8)
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


class RecordingLoss(nn.Module):
    """Test double for a matting or segmentation loss: records its keyword arguments, returns a differentiable
    scalar of the outputs its kind supervises."""

    def __init__(self, batch_kind: str, loss_name: str):
        super().__init__()
        self.batch_kind, self.loss_name = batch_kind, loss_name
        self.calls = []

    def forward(self, **kwargs):
        self.calls.append(kwargs)
        if self.batch_kind == "matting":
            alpha_error = (kwargs["alpha"] - kwargs["gt_alpha"]).abs().mean()
            return alpha_error + (kwargs["fgr"] - kwargs["gt_fgr"]).abs().mean()
        target = kwargs["gt_sem_seg"].unsqueeze(2).float()
        return nn.functional.binary_cross_entropy_with_logits(kwargs["seg_logits"], target)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def build(refiner=True, downsample_ratio=0.5, losses=None, **overrides):
    torch.manual_seed(0)
    cfg = dict(
        type="VideoMattingModel",
        backbone=BACKBONE,
        context=dict(type="LRASPPContext", channels=16),
        decoder=dict(type="RecurrentMattingDecoder", block_channels=(16, 8, 8, 8)),
        refiner=dict(type="DeepGuidedFilter", channels=8) if refiner else None,
        losses=losses,
        downsample_ratio=downsample_ratio,
    )
    return MODELS.build({**cfg, **overrides})


def normalized(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] ``[..., 3, H, W]`` -> the model's input (what VideoDataPreprocessor gives)."""
    return (rgb * 255.0 - MEAN) / STD


def clip(batch=1, frames=3, height=64, width=96, seed=0):
    """Smooth random frames in [0.2, 0.8] (away from the clamp at 0 and 1), normalized."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch * frames, 3, 6, 8, generator=generator)
    rgb = 0.2 + 0.6 * nn.functional.interpolate(coarse, size=(height, width), mode="bilinear")
    return normalized(rgb).unflatten(0, (batch, frames))


def matting_sample(frames=2, height=64, width=96):
    return VideoDataSample(
        gt_alpha=torch.rand(frames, 1, height, width), gt_fgr=torch.rand(frames, 3, height, width)
    )


def segmentation_sample(frames=2, height=64, width=96):
    return VideoDataSample(gt_sem_seg=torch.randint(0, 2, (frames, height, width)))


def hidden_shapes(batch, height, width):
    """Each hidden state's shape for an internal size ``height x width``: ceil(size / stride)."""
    return [(batch, c, -(-height // s), -(-width // s)) for c, s in zip(HIDDEN, (2, 4, 8, 16))]


def test_outputs_are_named_at_full_resolution_and_in_range():
    model = build().eval()
    inputs = clip(batch=2, frames=3)
    with torch.no_grad():
        outputs, state = model.forward_clip(inputs, model.initial_state(inputs[:, 0]))
        step_outputs, _ = model.step(inputs[:, 0])
    assert model.output_names == ("alpha", "fgr", "seg_logits")
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {
        "alpha": (2, 3, 1, 64, 96),
        "fgr": (2, 3, 3, 64, 96),
        "seg_logits": (2, 3, 1, 64, 96),
    }
    assert {k: tuple(v.shape) for k, v in step_outputs.items()} == {
        "alpha": (2, 1, 64, 96),
        "fgr": (2, 3, 64, 96),
        "seg_logits": (2, 1, 64, 96),
    }
    for name in ("alpha", "fgr"):
        assert outputs[name].min() >= 0 and outputs[name].max() <= 1
        # Not all clamped to one bound: the outputs carry a prediction.
        assert outputs[name].std() > 0
    assert model.state_names == tuple(f"decoder.hidden_stride{s}" for s in (2, 4, 8, 16))
    assert model.is_recurrent
    # The decoder computed at half the frame size: 32 x 48.
    assert [tuple(t.shape) for t in state] == hidden_shapes(2, 32, 48)


def test_the_refiner_reads_the_full_frame():
    """A checkerboard of +-0.1 vanishes from the half-size frame (halving averages 2x2 blocks), so only a model
    that reads the full frame can answer it in alpha: the refiner does, bilinear upsampling does not (its foreground
    adds the residual to the full frame, so it shows the checkerboard either way)."""
    rows, cols = torch.meshgrid(torch.arange(64), torch.arange(96), indexing="ij")
    checkerboard = 0.1 * (1 - 2 * ((rows + cols) % 2)).float()
    base = 0.3 + 0.4 * torch.linspace(0, 1, 96).expand(1, 1, 3, 64, 96)
    plain, textured = normalized(base), normalized(base + checkerboard)
    for refiner, differs in ((True, True), (False, False)):
        model = build(refiner=refiner).eval()
        with torch.no_grad():
            low_plain, low_textured = (model._downsample(x[:, 0]) for x in (plain, textured))
            plain_out = model.step(plain[:, 0])[0]
            textured_out = model.step(textured[:, 0])[0]
        torch.testing.assert_close(low_plain, low_textured, atol=1e-5, rtol=0)
        difference = (plain_out["alpha"] - textured_out["alpha"]).abs().max()
        assert (difference > 1e-3) == differs, (refiner, difference)


def test_streaming_steps_equal_forward_clip():
    model = build().eval()
    inputs = clip(frames=4)
    with torch.no_grad():
        clip_outputs, clip_state = model.forward_clip(inputs, model.initial_state(inputs[:, 0]))
        state = None
        for t in range(4):
            step_outputs, state = model.step(inputs[:, t], state)
            for name in model.output_names:
                torch.testing.assert_close(step_outputs[name], clip_outputs[name][:, t], atol=1e-5, rtol=1e-5)
    for carried, expected in zip(state, clip_state):
        torch.testing.assert_close(carried, expected, atol=1e-5, rtol=1e-5)


def test_step_carries_the_state():
    model = build().eval()
    inputs = clip(frames=2)
    with torch.no_grad():
        first, state = model.step(inputs[:, 0])
        assert all(t.abs().max() > 0 for t in state)
        second_with_history, next_state = model.step(inputs[:, 1], state)
        second_alone, _ = model.step(inputs[:, 1])
    assert (second_with_history["alpha"] - second_alone["alpha"]).abs().max() > 1e-4
    assert all((a - b).abs().max() > 0 for a, b in zip(next_state, state))


@pytest.mark.parametrize(
    "ratio, frame_size, internal",
    [
        (0.5, (64, 96), (32, 48)),
        (0.25, (60, 100), (15, 25)),
        (None, (16, 640), (12, 512)),
        (None, (40, 56), (40, 56)),
    ],
)
def test_state_follows_the_internal_size(ratio, frame_size, internal):
    model = build(downsample_ratio=ratio).eval()
    inputs = clip(frames=2, height=frame_size[0], width=frame_size[1])
    assert model.internal_size(*frame_size) == internal
    with torch.no_grad():
        initial = model.initial_state(inputs[:, 0])
        outputs, state = model.forward_clip(inputs, initial)
    assert [tuple(t.shape) for t in initial] == hidden_shapes(1, *internal)
    assert [tuple(t.shape) for t in state] == hidden_shapes(1, *internal)
    assert outputs["alpha"].shape == (1, 2, 1, *frame_size)


def test_auto_ratio_keeps_the_internal_long_side_between_256_and_512():
    model = build(downsample_ratio=None)
    assert model.internal_size(1080, 1920) == (288, 512)
    assert model.internal_size(288, 512) == (288, 512)
    assert model.ratio_for(288, 512) == 1.0
    # A configured ratio is used as given.
    assert build(downsample_ratio=0.25).internal_size(1080, 1920) == (270, 480)


def test_loss_terms_are_finite_and_gradients_reach_the_decoder():
    matting = RecordingLoss("matting", "loss_matting")
    segmentation = RecordingLoss("segmentation", "loss_segmentation")
    model = build(losses=[matting, segmentation]).train()
    losses = model(clip(batch=2, frames=2), [matting_sample(), matting_sample()], mode="loss")
    assert set(losses) == {"loss_matting"} and torch.isfinite(losses["loss_matting"])
    losses["loss_matting"].backward()
    for part in (
        model.decoder.bottleneck,
        model.decoder.up8,
        model.decoder.output,
        model.refiner,
        model.backbone,
    ):
        gradients = [p.grad for p in part.parameters()]
        assert all(g is not None for g in gradients) and any(g.abs().max() > 0 for g in gradients)


def test_each_batch_calls_only_the_losses_of_its_kind():
    matting = RecordingLoss("matting", "loss_matting")
    segmentation = RecordingLoss("segmentation", "loss_segmentation")
    model = build(losses=[matting, segmentation]).train()
    losses = model(clip(batch=2, frames=2), [segmentation_sample(), segmentation_sample()], mode="loss")
    assert set(losses) == {"loss_segmentation"} and torch.isfinite(losses["loss_segmentation"])
    assert not matting.calls and len(segmentation.calls) == 1
    call = segmentation.calls[0]
    assert call["gt_alpha"] is None and call["gt_fgr"] is None
    assert call["gt_sem_seg"].shape == (2, 2, 64, 96) and call["seg_logits"].shape == (2, 2, 1, 64, 96)
    losses["loss_segmentation"].backward()
    assert model.segmentation_projection.weight.grad.abs().max() > 0
    model(clip(batch=1, frames=2), [matting_sample()], mode="loss")
    assert len(matting.calls) == 1 and len(segmentation.calls) == 1
    call = matting.calls[0]
    assert call["gt_alpha"].shape == call["alpha"].shape == (1, 2, 1, 64, 96)
    assert call["gt_fgr"].shape == call["fgr"].shape == (1, 2, 3, 64, 96)


def test_batches_that_mix_or_lack_ground_truth_are_named():
    model = build(losses=[RecordingLoss("matting", "loss_matting")]).train()
    inputs = clip(batch=2, frames=2)
    with pytest.raises(ValueError, match=r"data samples \[1\] carry gt_alpha and the others do not"):
        model(inputs, [segmentation_sample(), matting_sample()], mode="loss")
    with pytest.raises(ValueError, match="data sample 0 has neither gt_alpha"):
        model(inputs, [VideoDataSample(), segmentation_sample()], mode="loss")
    with pytest.raises(
        ValueError, match="a segmentation batch, but no loss in `losses` has batch_kind='segmentation'"
    ):
        model(inputs, [segmentation_sample(), segmentation_sample()], mode="loss")


def test_losses_must_declare_their_kind_and_a_name_of_their_own():
    with pytest.raises(ValueError, match=r"losses\[0\] \(L1Loss\) has batch_kind=None"):
        build(losses=[nn.L1Loss()])
    twice = [RecordingLoss("matting", "loss_a"), RecordingLoss("segmentation", "loss_a")]
    with pytest.raises(ValueError, match=r"losses\[1\] \(RecordingLoss\) has loss_name='loss_a'"):
        build(losses=twice)


def test_postprocess_crops_padding_resizes_and_thresholds():
    """Alpha 0.9 left of column 4 and 0.1 right of it on the 6 x 8 frame, padded to 8 rows with 0.9 (which must be
    cropped); at twice the size, the bilinear step crosses 0.5 exactly between columns 7 and 8: 0.7 at column 7
    (3/4 of 0.9 + 1/4 of 0.1), 0.3 at column 8."""
    alpha = torch.full((1, 2, 1, 8, 8), 0.1)
    alpha[..., :4] = 0.9
    alpha[..., 6:, :] = 0.9
    fgr = torch.rand(1, 2, 3, 8, 8)
    sample = VideoDataSample(metainfo=dict(img_shape=(6, 8), ori_shape=(12, 16)))
    build().postprocess({"alpha": alpha, "fgr": fgr, "seg_logits": torch.zeros(1, 2, 1, 8, 8)}, [sample])
    assert sample.pred_alpha.shape == (2, 1, 12, 16) and sample.pred_fgr.shape == (2, 3, 12, 16)
    torch.testing.assert_close(sample.pred_alpha[0, 0, :, 7], torch.full((12,), 0.7))
    torch.testing.assert_close(sample.pred_alpha[0, 0, :, 8], torch.full((12,), 0.3))
    expected = torch.zeros(2, 12, 16, dtype=torch.long)
    expected[..., :8] = 1
    assert torch.equal(sample.pred_sem_seg, expected)
    cropped = nn.functional.interpolate(fgr[0, :, :, :6], size=(12, 16), mode="bilinear", align_corners=False)
    torch.testing.assert_close(sample.pred_fgr, cropped)


def test_predict_gives_predictions_at_the_original_size():
    model = build().eval()
    samples = [VideoDataSample(metainfo=dict(img_shape=(64, 96), ori_shape=(32, 40)))]
    with torch.no_grad():
        (sample,) = model(clip(frames=2), samples, mode="predict")
    assert sample.pred_alpha.shape == (2, 1, 32, 40) and sample.pred_fgr.shape == (2, 3, 32, 40)
    assert torch.equal(sample.pred_sem_seg, (sample.pred_alpha[:, 0] > 0.5).long())


def test_a_backbone_without_the_needed_strides_is_named():
    backbone = {**BACKBONE, "out_indices": (1, 3, 8)}
    with pytest.raises(ValueError, match=r"features at strides \(4, 8, 16\).*choose backbone.out_indices"):
        build(backbone=backbone)


def test_channels_come_from_the_backbone_and_disagreements_are_named():
    model = build()
    assert model.context.in_channels == 48
    assert model.decoder.feature_channels == (16, 16, 24, 16)
    assert model.refiner.hidden_channels == 8
    with pytest.raises(ValueError, match=r"context.in_channels=99 disagrees .* which give 48"):
        build(context=dict(type="LRASPPContext", in_channels=99, channels=16))
    decoder = dict(
        type="RecurrentMattingDecoder", feature_channels=(16, 16, 24, 32), block_channels=(16, 8, 8, 8)
    )
    with pytest.raises(ValueError, match=r"decoder.feature_channels=\(16, 16, 24, 32\) disagrees"):
        build(decoder=decoder)


@pytest.mark.parametrize("ratio", [0, 1.5, "0.5", True])
def test_a_bad_downsample_ratio_is_named(ratio):
    with pytest.raises(ValueError, match="downsample_ratio must be in"):
        build(downsample_ratio=ratio)


def test_a_state_of_another_frame_size_is_named():
    model = build().eval()
    with pytest.raises(ValueError, match="state hidden_stride2 is"):
        model.step(clip(height=32, width=48)[:, 0], model.initial_state(clip()[:, 0]))


def test_onnx_export_of_the_step_at_a_fixed_ratio_round_trips(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from steadyseg.deploy.export import export_model

    report = export_model(build(), tmp_path / "matting.onnx", shape=(64, 96), check_frames=3)
    states = [f"decoder_hidden_stride{s}" for s in (2, 4, 8, 16)]
    # The frame and the four states are the only inputs: the ratio is part of the graph, not an input.
    assert list(report["inputs"]) == ["frame", *states]
    assert report["inputs"]["frame"] == [1, 3, 64, 96]
    assert [report["inputs"][name] for name in states] == [list(s) for s in hidden_shapes(1, 32, 48)]
    assert list(report["outputs"]) == ["alpha", "fgr", "seg_logits", *(f"next_{name}" for name in states)]
    assert report["outputs"]["alpha"] == [1, 1, 64, 96]
    assert report["check"]["max_abs_diff"] <= 1e-4
