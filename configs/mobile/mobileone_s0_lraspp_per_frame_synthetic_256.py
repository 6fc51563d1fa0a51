# Per-frame MobileOne-S0 + LR-ASPP-style head, binary people segmentation at 256 px: the data, schedule and
# head of configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py with the backbone swapped.
# Trains in the multi-branch form; call steadyseg.deploy.reparameterize(model) before export or timing.
# Decodes from strides 4, 8 and 32 (48, 128, 1024 channels): no dilation, so the backbone costs what the
# classification network costs, and the stride-32 map (8x8 at 256 px) sees the whole person.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    segmentor=dict(
        backbone=dict(
            _delete_=True, type="MobileOne", variant="s0", out_indices=(1, 2, 4), inference_mode=False
        ),
        decode_head=dict(in_channels=(48, 128, 1024), in_index=(0, 1, 2), skip_channels=(16, 16)),
    )
)
