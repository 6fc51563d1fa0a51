# The per-frame model's MobileNetV3-small (output stride 32) and LR-ASPP-style head, with the previous frame's
# features warped by backward flow and gated into the current ones at every scale. Where no flow is given (test
# clips, streaming, data without gt_flow) OpenCV DIS estimates it between the previous and the current frame.
_base_ = "./mobilenetv3_lraspp.py"
model = dict(
    _delete_=True,
    type="TemporalVideoSegmentor",
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.segmentor.backbone}},
    temporal=dict(
        type="FlowGuidedPropagation",
        in_channels=(16, 24, 48),
        strides=(4, 8, 32),
        gate_channels=32,
        flow_fallback="dis",
    ),
    decode_head={{_base_.model.segmentor.decode_head}},
)
