# The flow-guided propagation recipe of configs/vss at VSPW's full scale. VSPW has no flow: DIS estimates it.
_base_ = "./mobilenetv3_lraspp_per_frame_vspw_480.py"
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
