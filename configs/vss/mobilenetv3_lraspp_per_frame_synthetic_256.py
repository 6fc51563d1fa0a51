# Per-frame baseline: MobileNetV3-small + LR-ASPP-style head, binary people segmentation at 256 px,
# trained on synthetic people video, evaluated on synthetic validation clips and real DAVIS people.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
