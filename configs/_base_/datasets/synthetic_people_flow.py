# synthetic_people.py with the generator's exact flow loaded as gt_flow, for temporal models and losses.
# Only flow-preserving training augmentation: clips step by one frame (flow across larger steps is not
# stored), crops and flips rescale and mirror the flow, colour jitter leaves it unchanged. No TemporalReverse
# (the backward flow of a reversed clip is unknown) and no geometric albumentations (refused with flow).
# Validation and test clips are those of synthetic_people.py: models estimate flow there (DIS).
_base_ = "./synthetic_people.py"
clip_len = 4
crop_size = (256, 256)
train_pipeline = [
    dict(type="SampleClipFrames", clip_len=clip_len, stride_range=(1, 1)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_flow=True),
    dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.35, 1.0), ratio=(0.75, 1.333)),
    dict(type="ClipFlip", prob=0.5),
    dict(
        type="ClipAlbumentations",
        transforms=[dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8)],
    ),
    dict(type="PackVideoInputs"),
]
train_dataloader = dict(dataset=dict(with_flow=True, pipeline=train_pipeline))
