# Training data of the CPU matting recipes (configs/matting/*_synthetic_256.py, the benchmark's): Robust Video
# Matting's recipe (docs/matting.md, "Training data") on what this machine has.
# - Matting: the people of the synthetic set (tools/make_synthetic.py writes their alpha and foreground) composited
#   on the fly over the shared data's real person-free photos (backgrounds/0001.png and plate_0001.png; 0002.png
#   shows two real people), foreground and background each with its own motion and colour jitter, clips played at
#   0.5-5x and reversed half of the time, as RVM composites VideoMatte240K; and the synthetic clips as generated,
#   whose moving backgrounds (procedural, and the first 53 frames of tree.avi, before a hand enters) give the video
#   backgrounds. tree.avi itself is left out here: LoadClipBackground would also play its frames with the hand.
#   Those clips get no colour jitter: jittering the frame and the foreground alike would not keep the frame their
#   composite (contrast works around each image's mean).
# - Segmentation batches between the matting ones (RVM's 1:1): the synthetic clips with their person masks and the
#   real people of COCO (../shared/data/coco_people) moved into pseudo-clips, photos without people left out.
# Clips of T = 4 frames at 256 x 256, two per batch: a CPU budget (see the recipes for step times).
# Validation and test: the synthetic val split's own frames (no random background at test time), scored by RVM's
# matting metrics on its alpha and foreground and by the person J of alpha > 0.5 on its masks; recipes add the real
# DAVIS people clips (configs/_base_/datasets/davis_people_test.py).
data_root = "data/synthetic_people"
clip_len = 4
crop_size = (256, 256)
_shared_data = "{{$STEADYSEG_SHARED_DATA:../shared/data}}"
_colour_jitter = dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8)
_crop = dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.35, 1.0), ratio=(0.75, 1.333))
train_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(0.5, 5.0)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True, with_fgr=True),
    dict(type="ClipRandomAffineMotion", with_flow=False),
    dict(type="TemporalReverse", prob=0.5),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
    dict(
        type="LoadClipBackground",
        images=[_shared_data + "/backgrounds/0001.png", _shared_data + "/backgrounds/plate_0001.png"],
        transforms=[_colour_jitter],
    ),
    dict(type="ClipComposite"),
    dict(type="PackVideoInputs"),
]
_as_generated_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(0.5, 5.0)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True, with_fgr=True),
    dict(type="TemporalReverse", prob=0.5),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="PackVideoInputs"),
]
_segmentation_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(0.5, 2.0)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="TemporalReverse", prob=0.5),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
    dict(type="PackVideoInputs"),
]
_coco_pipeline = [
    dict(type="SampleClipFrames", clip_len=1),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="ClipRandomAffineMotion", num_frames=clip_len, with_flow=False),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
    dict(type="PackVideoInputs"),
]
_synthetic_matting = dict(
    type="SyntheticPeopleDataset", data_root=data_root, split="train", with_alpha=True, with_fgr=True
)
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    batch_sampler=dict(
        type="AlternatingBatchSampler",
        dataset_groups=("matting", "matting", "segmentation", "segmentation"),
        pattern=("matting", "segmentation"),
    ),
    dataset=dict(
        type="ConcatVideoDataset",
        datasets=[
            dict(**_synthetic_matting, pipeline=train_pipeline),
            dict(**_synthetic_matting, pipeline=_as_generated_pipeline),
            dict(
                type="SyntheticPeopleDataset",
                data_root=data_root,
                split="train",
                pipeline=_segmentation_pipeline,
            ),
            dict(
                type="COCOPeopleDataset",
                data_root=_shared_data + "/coco_people",
                include_negatives=False,
                min_person_area=64,
                pipeline=_coco_pipeline,
            ),
        ],
    ),
)
test_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_alpha=True, with_fgr=True),
    dict(type="PackVideoInputs"),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(
        type="SyntheticPeopleDataset",
        data_root=data_root,
        split="val",
        with_alpha=True,
        with_fgr=True,
        test_mode=True,
        clip_len=8,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="MattingMetric", prefix="synthetic"),
    dict(type="DtSSDMetric", prefix="synthetic"),
    dict(type="VideoIoUMetric", num_classes=2, class_names=("background", "person"), prefix="synthetic"),
    dict(type="DAVISMetric", prefix="synthetic"),
]
test_evaluator = val_evaluator
