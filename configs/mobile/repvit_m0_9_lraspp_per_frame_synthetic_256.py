# Per-frame RepViT-M0.9 + LR-ASPP-style head, binary people segmentation at 256 px: the data, schedule and
# head of configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py with the backbone swapped.
# Trains in the multi-branch form; call steadyseg.deploy.reparameterize(model) before export or timing.
# Decodes from strides 4, 8 and 32 (48, 96, 384 channels), no dilation.
# The model is stated whole here rather than inherited from configs/_base_/models/mobilenetv3_lraspp.py: what is
# written below is what gets built.
_base_ = [
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
norm_cfg = dict(type="BN", requires_grad=True)
num_classes = 2
model = dict(
    type="PerFrameVideoSegmentor",
    input_short_side=256,
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    segmentor=dict(
        type="EncoderDecoder",
        backbone=dict(type="RepViT", variant="m0_9", out_indices=(0, 1, 3), inference_mode=False),
        # The decoder of the MobileNetV3 people model (see that base's notes on its widths), fed RepViT's
        # stride-4, 8 and 32 features.
        decode_head=dict(
            type="MobileLRASPPHead",
            in_channels=(48, 96, 384),
            in_index=(0, 1, 2),
            skip_channels=(16, 16),
            channels=64,
            fuse_channels=(32, 32),
            fuse_depthwise=True,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=[
                dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True),
                dict(type="DiceLoss", loss_weight=0.5),
            ],
        ),
        train_cfg=dict(),
        test_cfg=dict(mode="whole"),
    ),
)
