# The ConvGRU recipe of configs/vss at VSPW's full scale (124 classes, 480 px, 80k iterations).
# The 124 classes get a wider decoder than the 16-channel one sized for binary people segmentation on a phone.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_convgru.py",
    "../_base_/datasets/vspw_480.py",
    "../_base_/schedules/iter_80k_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    input_short_side=480,
    segmentor=dict(
        decode_head=dict(num_classes=124, channels=128, skip_channels=(32, 64), fuse_channels=(128, 128))
    ),
)
default_hooks = dict(checkpoint=dict(interval=8000))
