# Recurrent temporal model: the per-frame baseline's MobileNetV3-small (output stride 16) and LR-ASPP-style head
# with ConvGRUs between them (RVM's recurrent decoder idea), binary people segmentation at 256 px, trained on
# synthetic people clips of 4 consecutive frames (each from a zero state) and tested streaming through whole
# videos (the state carries across test clips).
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
    # RVM's half of the channels at strides 4 and 8; 64 of the 576 deep channels (half would cost more than
    # the backbone).
    temporal=dict(
        type="MultiScaleConvGRU", in_channels=(16, 24, 576), strides=(4, 8, 16), gru_channels=(8, 12, 64)
    ),
    decode_head={{_base_.model.segmentor.decode_head}},
)
