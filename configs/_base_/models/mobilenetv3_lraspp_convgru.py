# The per-frame model's MobileNetV3-small (output stride 32) and LR-ASPP-style head with ConvGRUs between them
# (RVM's recurrent decoder idea) on half of the channels at strides 4, 8 and 32.
_base_ = "./mobilenetv3_lraspp.py"
model = dict(
    _delete_=True,
    type="TemporalVideoSegmentor",
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.segmentor.backbone}},
    temporal=dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 48), strides=(4, 8, 32), gru_channels=(8, 12, 24)
    ),
    decode_head={{_base_.model.segmentor.decode_head}},
)
