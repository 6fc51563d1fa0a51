# MobileNetV3-small (output stride 16) + LR-ASPP-style head with adaptive pooling, per frame.
norm_cfg = dict(type="BN", requires_grad=True)
num_classes = 2
model = dict(
    type="PerFrameVideoSegmentor",
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    segmentor=dict(
        type="EncoderDecoder",
        backbone=dict(
            type="StridedMobileNetV3",
            arch="small",
            output_stride=16,
            out_indices=(1, 3, 12),
            norm_cfg=norm_cfg,
        ),
        decode_head=dict(
            type="MobileLRASPPHead",
            in_channels=(16, 24, 576),
            in_index=(0, 1, 2),
            skip_channels=(16, 16),
            channels=64,
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
