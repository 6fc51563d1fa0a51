# Flow-guided feature propagation: the per-frame baseline's MobileNetV3-small (output stride 16) and
# LR-ASPP-style head, with the previous frame's features warped by backward flow and gated into the current
# ones at every scale. Trained on synthetic clips of 4 consecutive frames with their exact flow (gt_flow);
# where no flow is given (test clips, streaming, the first frame of each test clip, data without gt_flow)
# the flow is estimated with OpenCV DIS between the previous and the current frame.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp.py",
    "../_base_/datasets/synthetic_people_flow.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_400_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    _delete_=True,
    type="TemporalVideoSegmentor",
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.segmentor.backbone}},
    temporal=dict(
        type="FlowGuidedPropagation",
        in_channels=(16, 24, 576),
        strides=(4, 8, 16),
        gate_channels=32,
        flow_fallback="dis",
    ),
    decode_head={{_base_.model.segmentor.decode_head}},
)
