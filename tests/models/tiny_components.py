"""Tiny mobile backbone and head configs shared by the video-model tests (fast on CPU at 64 px)."""

NORM = dict(type="BN", requires_grad=True)
BACKBONE = dict(
    type="StridedMobileNetV3", arch="small", output_stride=16, out_indices=(1, 3, 12), norm_cfg=NORM
)
HEAD = dict(
    type="MobileLRASPPHead",
    in_channels=(16, 24, 576),
    in_index=(0, 1, 2),
    skip_channels=(8, 8),
    channels=16,
    num_classes=2,
    norm_cfg=NORM,
    loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False),
)
