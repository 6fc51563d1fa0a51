# Training data of Robust Video Matting's first stage (Lin et al., WACV 2022, "Training"; docs/matting.md,
# "Training data"), for GPUs and the real datasets under data/:
# - matting: VideoMatte240K (the JPEG SD release for the low-resolution stages), T = 15 frames played at 0.5-5x,
#   reversed half of the time, with its own motion, composited on the fly over BG-20k photos (RVM's 8000 crawled
#   photos are not published) and DVM's person-free video clips (RVM's BackgroundVideos), each moving by itself;
#   foreground and background get their own colour jitter;
# - segmentation, between matting batches as RVM does: YouTube-VIS 2021 person clips of T frames at 1x and, every
#   other time, COCO people photos as one-frame clips in batches of B x T (RVM's image batches; its Supervisely
#   Person Dataset has no reader here, and COCO is read from the instances JSON, not RVM's panoptic one).
# Batches go matting, video segmentation, matting, image segmentation (AlternatingBatchSampler): one iteration per
# batch, so an iteration here is half of RVM's step (a matting pass and a segmentation pass).
# Written for RVM's batch of B = 4 clips as one clip on each of 4 GPUs; with fewer GPUs raise batch_size so that
# GPUs x batch_size = 4 (the recipes count epochs in batches of 4 clips).
# Crops are 512 x 288 (w x h) boxes with aspect ratios near 16:9 (RVM samples h and w in 256-512 independently;
# a crop here has one output size per dataset).
# Validation: RVM's four validation clips (0000, 0100, 0200, 0300 moved out of VideoMatte240K's train split into
# valid/), test: VideoMatte240K's test split; 100 frames from the middle of each clip (RVM's evaluation clips are
# 100 frames), composited once over held-out backgrounds that stand still, scored at the clips' resolution (the
# model computes at 512 px on the long side) by RVM's matting metrics and the person J of alpha > 0.5.
data_root = "data/VideoMatte240K_JPEG_SD"
clip_len = 15
crop_size = (512, 288)
_colour_jitter = dict(type="ColorJitter", brightness=0.15, contrast=0.15, saturation=0.15, hue=0.05)
_backgrounds = dict(
    type="LoadClipBackground",
    images=["data/BG-20k/train"],
    videos=["data/DVM_backgrounds"],
    video_probability=0.5,
    speed_range=(0.5, 2.0),
    transforms=[_colour_jitter],
)
_foreground_jitter = dict(type="ClipAlbumentations", transforms=[_colour_jitter])
_crop = dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.3, 1.0), ratio=(1.5, 2.0))
train_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(0.5, 5.0)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
    dict(type="ClipRandomAffineMotion", with_flow=False),
    dict(type="TemporalReverse", prob=0.5),
    _crop,
    dict(type="ClipFlip"),
    _foreground_jitter,
    _backgrounds,
    dict(type="ClipComposite", frames_are_foreground=True),
    dict(type="PackVideoInputs"),
]
_video_segmentation_pipeline = [
    # RVM plays its segmentation clips at 1x; short videos are slowed down to fill T frames.
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(1.0, 1.0)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="TemporalReverse", prob=0.5),
    _crop,
    dict(type="ClipFlip"),
    _foreground_jitter,
    dict(type="PackVideoInputs"),
]
_image_segmentation_pipeline = [
    dict(type="SampleClipFrames", clip_len=1),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    _crop,
    dict(type="ClipFlip"),
    _foreground_jitter,
    dict(type="PackVideoInputs"),
]
_video_segmentation = dict(
    type="YouTubeVISPeopleDataset",
    data_root="data/ytvis_2021/train",
    ann_file="instances.json",
    version=2021,
    skip_videos_without_people=True,
    pipeline=_video_segmentation_pipeline,
)
_image_segmentation = dict(
    type="COCOPeopleDataset",
    data_root="data/coco",
    ann_file="annotations/instances_train2017.json",
    img_dir="train2017",
    include_negatives=False,
    pipeline=_image_segmentation_pipeline,
)
train_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    batch_sampler=dict(
        type="AlternatingBatchSampler",
        dataset_groups=("matting", "video_seg", "image_seg"),
        pattern=("matting", "video_seg", "matting", "image_seg"),
        # RVM's image batches: B x T one-frame clips (B = batch_size on each GPU).
        group_batch_sizes=dict(image_seg=clip_len),
    ),
    dataset=dict(
        type="ConcatVideoDataset",
        datasets=[
            dict(type="VideoMatteDataset", data_root=data_root + "/train", pipeline=train_pipeline),
            _video_segmentation,
            _image_segmentation,
        ],
    ),
)
# Held-out backgrounds, still: the composite of a test clip is fixed by the run's seed.
_test_backgrounds = dict(
    type="LoadClipBackground",
    images=["data/BG-20k/testval"],
    videos=["data/DVM_backgrounds_test"],
    scale=(1.0, 1.0),
    max_translation=0.0,
    max_scale=0.0,
    max_acceleration=0.0,
)
test_pipeline = [
    # One 100-frame clip from the middle of each video: the dataset is not in test mode, so a clip is composited
    # once (test-mode chunks would each draw their own background).
    dict(type="SampleClipFramesAtSpeed", clip_len=100, speed_range=(1.0, 1.0), test_mode=True),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
    _test_backgrounds,
    dict(type="ClipComposite", frames_are_foreground=True),
    dict(type="SemSegFromAlpha"),
    dict(type="PackVideoInputs"),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(type="VideoMatteDataset", data_root=data_root + "/valid", pipeline=test_pipeline),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(type="VideoMatteDataset", data_root=data_root + "/test", pipeline=test_pipeline),
)
val_evaluator = [
    dict(type="MattingMetric", prefix="videomatte"),
    dict(type="DtSSDMetric", prefix="videomatte"),
    dict(type="VideoIoUMetric", num_classes=2, class_names=("background", "person"), prefix="videomatte"),
]
test_evaluator = val_evaluator
