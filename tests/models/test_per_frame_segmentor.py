import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample
from tests.models.tiny_components import BACKBONE, HEAD, NORM


def tiny_model_cfg(backbone=None, head=None):
    backbone = backbone or dict(BACKBONE)
    head = head or dict(HEAD)
    return dict(
        type="PerFrameVideoSegmentor",
        data_preprocessor=dict(type="VideoDataPreprocessor"),
        segmentor=dict(type="EncoderDecoder", backbone=backbone, decode_head=head),
    )


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def test_tensor_mode_keeps_batch_and_time():
    model = MODELS.build(tiny_model_cfg()).eval()
    outputs = model(torch.randn(2, 3, 3, 64, 96))
    assert list(outputs) == list(model.output_names) == ["logits"]
    assert outputs["logits"].shape == (2, 3, 2, 64, 96)
    assert model.state_names == () and not model.is_recurrent


def test_loss_backpropagates_to_backbone():
    model = MODELS.build(tiny_model_cfg())
    samples = [VideoDataSample(gt_sem_seg=torch.randint(0, 2, (2, 64, 64))) for _ in range(2)]
    losses = model(torch.randn(2, 2, 3, 64, 64), samples, mode="loss")
    losses["decode.loss_ce"].backward()
    grad = model.segmentor.backbone.layer1.depthwise_conv.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_predict_resizes_to_original_shape_and_matches_step():
    model = MODELS.build(tiny_model_cfg()).eval()
    clip = torch.randn(1, 3, 3, 64, 80)
    sample = VideoDataSample(metainfo=dict(img_shape=(64, 80), ori_shape=(48, 60), is_first_clip=True))
    with torch.no_grad():
        (pred,) = model(clip, [sample], mode="predict")
        assert pred.pred_sem_seg.shape == (3, 48, 60)
        step_outputs, state = model.step(clip[:, 1])
        clip_logits = model(clip)["logits"]
    assert state == ()
    torch.testing.assert_close(step_outputs["logits"], clip_logits[:, 1])


def test_mmseg_backbone_and_head_work_inside_video_model():
    """Any mmseg component is usable by type= (here mmseg's own MobileNetV3 and FCNHead)."""
    cfg = tiny_model_cfg(
        backbone=dict(type="MobileNetV3", arch="small", out_indices=(12,), norm_cfg=NORM),
        head=dict(
            type="FCNHead",
            in_channels=576,
            channels=16,
            num_convs=1,
            num_classes=2,
            norm_cfg=NORM,
            concat_input=False,
        ),
    )
    model = MODELS.build(cfg).eval()
    assert model(torch.randn(1, 2, 3, 64, 64))["logits"].shape == (1, 2, 2, 64, 64)


def test_invalid_mode_is_an_error():
    model = MODELS.build(tiny_model_cfg())
    with pytest.raises(ValueError, match="Invalid mode 'train'"):
        model(torch.randn(1, 1, 3, 32, 32), mode="train")


def test_data_preprocessor_normalizes_and_pads_ground_truth():
    preprocessor = MODELS.build(
        dict(type="VideoDataPreprocessor", mean=(10, 10, 10), std=(2, 2, 2), size_divisor=8)
    )
    clips = [torch.full((2, 3, 5, 6), 12, dtype=torch.uint8), torch.full((2, 3, 8, 8), 10, dtype=torch.uint8)]
    samples = [VideoDataSample(gt_sem_seg=torch.ones(2, 5, 6, dtype=torch.long)) for _ in range(2)]
    out = preprocessor({"inputs": clips, "data_samples": samples}, training=True)
    assert out["inputs"].shape == (2, 2, 3, 8, 8)
    assert out["inputs"][0, 0, 0, 0, 0] == 1.0  # (12 - 10) / 2
    assert out["inputs"][1].abs().sum() == 0
    gt = out["data_samples"][0].gt_sem_seg
    assert gt.shape == (2, 8, 8) and gt[0, 7, 7] == 255 and gt[0, 0, 0] == 1
