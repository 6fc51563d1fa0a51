# The ConvGRU recipe of configs/vss at VSPW's full scale (124 classes, 480 px, 80k iterations).
_base_ = "./mobilenetv3_lraspp_per_frame_vspw_480.py"
model = dict(
    _delete_=True,
    type="TemporalVideoSegmentor",
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.segmentor.backbone}},
    temporal=dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 16), gru_channels=(8, 12, 64)
    ),
    decode_head={{_base_.model.segmentor.decode_head}},
)
