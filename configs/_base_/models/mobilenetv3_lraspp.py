# MobileNetV3-small + LR-ASPP-style head, per frame, sized for phone latency at 256 px (MediaPipe selfie
# segmenter's budget; see docs/backbones.md and benchmarks/latency.py):
# - output stride 32 with the last block halved (reduction_factor=2, the MobileNetV3 paper's segmentation
#   setting), decoding from that block's 48 channels instead of the 576-channel classifier conv;
# - a decoder with depthwise-separable fusions that narrows as it gets finer (64 channels at 1/32, 32 at 1/8 and
#   1/4): the stride-4 3x3 fusion of a 64-channel decoder alone cost ~190M MACs, three times this whole model.
#   Half these widths runs as fast but often fails to transfer from synthetic to real people.
norm_cfg = dict(type="BN", requires_grad=True)
num_classes = 2
model = dict(
    type="PerFrameVideoSegmentor",
    # The scale it computes at (frames are resized inside step / predict_stream): the training crops' 256 px.
    input_short_side=256,
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    segmentor=dict(
        type="EncoderDecoder",
        backbone=dict(
            type="StridedMobileNetV3",
            arch="small",
            output_stride=32,
            reduction_factor=2,
            out_indices=(1, 3, 11),
            norm_cfg=norm_cfg,
        ),
        decode_head=dict(
            type="MobileLRASPPHead",
            in_channels=(16, 24, 48),
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
