# Training data of the people recipes: synthetic people video (procedural figures and real people cut out of the
# cut-out clips, schoolgirls and COCO photos, over real backgrounds and person-free video, written by
# tools/make_synthetic.py; the demo and benchmarks generate it), with exact flow, so every recipe, temporal losses
# included, trains on the same data. Validation and test clips are the synthetic set's; models estimate flow there
# (DIS). The real-people split (steadyseg/datasets/real_people.py) keeps every scored clip out of this data.
# A ConcatVideoDataset, so a derived recipe adds data with extra_datasets: COCO pseudo-clips
# (..._coco_synthetic_256.py), unlabelled video for distillation (..._distill_mediapipe_synthetic_256.py).
# Only flow-preserving augmentation: clips step by one frame (flow across larger steps is not stored), crops and
# flips rescale and mirror the flow, colour jitter leaves it unchanged; no TemporalReverse (the backward flow of a
# reversed clip is unknown).
data_root = "data/synthetic_people"
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
# Test clips reach the model at their own size: the model resizes them to its input scale (input_short_side, the
# scale of the training crops), as it does in inference, and metrics compare predictions with the annotations at
# their size.
test_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="PackVideoInputs"),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type="ConcatVideoDataset",
        datasets=[
            dict(
                type="SyntheticPeopleDataset",
                data_root=data_root,
                split="train",
                with_flow=True,
                pipeline=train_pipeline,
            ),
        ],
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
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
