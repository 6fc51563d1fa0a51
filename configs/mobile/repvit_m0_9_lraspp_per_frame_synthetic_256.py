# Per-frame RepViT-M0.9 + LR-ASPP-style head, binary people segmentation at 256 px: the data, schedule and
# head of configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py with the backbone swapped.
# Trains in the multi-branch form; call steadyseg.deploy.reparameterize(model) before export or timing.
# Decodes from strides 4, 8 and 32 (48, 96, 384 channels), no dilation.
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
            _delete_=True, type="RepViT", variant="m0_9", out_indices=(0, 1, 3), inference_mode=False
        ),
        decode_head=dict(in_channels=(48, 96, 384), in_index=(0, 1, 2), skip_channels=(16, 16)),
    )
)
