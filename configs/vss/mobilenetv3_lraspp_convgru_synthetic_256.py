# Recurrent temporal model (configs/_base_/models/mobilenetv3_lraspp_convgru.py), binary people segmentation at
# 256 px, trained on synthetic people clips of 4 consecutive frames (each from a zero state) and tested streaming
# through whole videos (the state carries across test clips).
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_convgru.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
