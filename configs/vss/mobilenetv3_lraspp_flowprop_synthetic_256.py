# Flow-guided feature propagation (configs/_base_/models/mobilenetv3_lraspp_flowprop.py) at 256 px, trained on
# synthetic clips of 4 consecutive frames with their exact flow (gt_flow); tested streaming with DIS flow.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_flowprop.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
