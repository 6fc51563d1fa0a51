# The per-frame model (./mobilenetv3_lraspp.py: MobileNetV3-small at output stride 32 and the LR-ASPP-style head),
# with the previous frame's features warped by backward flow and gated into the current ones at every scale. Where
# no flow is given (test clips, streaming, data without gt_flow) OpenCV DIS estimates it between the previous and
# the current frame. The module's in_channels and strides are measured from the backbone.
_base_ = "./mobilenetv3_lraspp.py"
model = dict(
    type="TemporalVideoSegmentor",
    temporal=dict(type="FlowGuidedPropagation", gate_channels=32, flow_fallback="dis"),
)
