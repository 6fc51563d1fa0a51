# The per-frame model's MobileNetV3-small (output stride 16) and LR-ASPP-style head with ConvGRUs between them
# (RVM's recurrent decoder idea): RVM's half of the channels at strides 4 and 8; 64 of the 576 deep channels
# (half would cost more than the backbone).
_base_ = "./mobilenetv3_lraspp.py"
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
