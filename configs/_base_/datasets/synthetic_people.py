# Synthetic people video written by tools/make_synthetic.py (the demo and CI generate it).
data_root = "data/synthetic_people"
clip_len = 4
crop_size = (256, 256)
train_pipeline = [
    dict(type="SampleClipFrames", clip_len=clip_len, stride_range=(1, 3)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.35, 1.0), ratio=(0.75, 1.333)),
    dict(type="ClipFlip", prob=0.5),
    dict(
        type="ClipAlbumentations",
        transforms=[dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8)],
    ),
    dict(type="TemporalReverse", prob=0.5),
    dict(type="PackVideoInputs"),
]
# Only the frames are resized: metrics compare predictions with the annotations at their original size.
test_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="ClipResize", short_side=256, resize_annotations=False),
    dict(type="LoadClipAnnotations"),
    dict(type="PackVideoInputs"),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="SyntheticPeopleDataset", data_root=data_root, split="train", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type="SyntheticPeopleDataset",
        data_root=data_root,
        split="val",
        test_mode=True,
        clip_len=8,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="VideoIoUMetric", num_classes=2, class_names=("background", "person"), prefix="synthetic"),
    dict(type="DAVISMetric", prefix="synthetic"),
    dict(type="VideoConsistencyMetric", clip_nums=(8,), prefix="synthetic"),
]
test_evaluator = val_evaluator
