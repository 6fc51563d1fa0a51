# VSPW in its original layout (data/<video>/{origin,mask}, train.txt / val.txt), 124 classes (0 and 255 void),
# at the 480p release's scale: 480 x 480 training crops of 4-frame clips, whole frames (short side 480) at test.
# VSPW has no flow: flow-based losses and metrics estimate it with OpenCV DIS.
data_root = "data/VSPW_480p"
clip_len = 4
crop_size = (480, 480)
train_pipeline = [
    dict(type="SampleClipFrames", clip_len=clip_len, stride_range=(1, 2)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", num_classes=124),
    dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.25, 1.0), ratio=(0.75, 1.333)),
    dict(type="ClipFlip", prob=0.5),
    dict(
        type="ClipAlbumentations",
        transforms=[dict(type="ColorJitter", brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=0.5)],
    ),
    dict(type="PackVideoInputs"),
]
# Whole frames reach the model, which resizes them to its input scale (the VSPW configs' input_short_side=480).
test_pipeline = [
    dict(type="LoadVideoClip"),
    # The labels as stored too (0 and 255 are two voids): video consistency compares them, as VSPW's reference.
    # No transform after this moves annotations, so the raw labels stay aligned with gt_sem_seg.
    dict(type="LoadClipAnnotations", num_classes=124, with_raw_sem_seg=True),
    dict(type="PackVideoInputs"),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="VSPWDataset", data_root=data_root, split="train", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(
        type="VSPWDataset",
        data_root=data_root,
        split="val",
        test_mode=True,
        clip_len=16,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="VideoIoUMetric", num_classes=124),
    dict(type="VideoConsistencyMetric", clip_nums=(8, 16), gt_key="gt_sem_seg_raw"),
    dict(type="FlowTCMetric", num_classes=124),
]
test_evaluator = val_evaluator
