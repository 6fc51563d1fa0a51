# The real training path in seconds (tests, CI): 64 px clips of 2 frames, a handful of iterations.
_base_ = "../vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
crop_size = (64, 64)
data_root = "data/synthetic_people"
train_pipeline = [
    dict(type="SampleClipFrames", clip_len=2, stride_range=(1, 2)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.5, 1.0)),
    dict(type="ClipFlip", prob=0.5),
    dict(type="PackVideoInputs"),
]
model = dict(input_short_side=64)
max_iters = 6
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type="ConstantLR", factor=1.0, by_epoch=False, begin=0, end=max_iters)]
# Synthetic clips only: the recipe's COCO pseudo-clips would make the smoke run depend on the real data.
train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        datasets=[
            dict(type="SyntheticPeopleDataset", data_root=data_root, split="train", pipeline=train_pipeline)
        ]
    ),
)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(clip_len=4))
test_dataloader = val_dataloader
extra_test_sets = []
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
