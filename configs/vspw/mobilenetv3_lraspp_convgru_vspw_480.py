# The ConvGRU recipe of configs/vss at VSPW's full scale (124 classes, 480 px, 80k iterations).
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_convgru.py",
    "../_base_/datasets/vspw_480.py",
    "../_base_/schedules/iter_80k_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(decode_head=dict(num_classes=124))
default_hooks = dict(checkpoint=dict(interval=8000))
