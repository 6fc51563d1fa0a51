# Robust Video Matting, stage 3 of 4 (see ..._stage1.py for the whole procedure): the deep guided filter is
# attached and trained on high-resolution clips, 1 epoch of VideoMatte240K (its JPEG HD release), from stage 2's
# last checkpoint. High resolution costs memory, so those clips are short (T = 6); so that the recurrent network
# does not overfit to short clips, low-resolution long clips (T = 40) alternate with them (paper, "Training"). Each
# RVM step is a low-resolution matting pass, a high-resolution one and a segmentation pass (video and image in
# turn): 3 iterations here. Refiner at learning rate 2e-4, the rest at 1e-5.
# Downsample ratio: the high-resolution clips are 2048 x 1152 and the model computes at 512 px on the long side
# (downsample_ratio None), so they run at exactly RVM's s = 0.25 with the filter bringing alpha and foreground
# to 2048 x 1152, while the low-resolution and segmentation clips (512 x 288) run at ratio 1. A fixed 0.25 would
# shrink those to 128 x 72. Unlike RVM, whose low-resolution pass skips the filter, this model runs the filter
# at ratio 1 too (a guided filter at the same resolution). RVM samples high-resolution sizes in 1024-2048; one
# size here keeps the ratio at 0.25. Export and infer HD video at RVM's ratio with --downsample-ratio 0.25
# (tools/export.py) or downsample_ratio=0.25 in a config (tools/infer.py).
# An epoch (of the low-resolution set, as RVM counts it): 236k frames / (40 x 4 clips) = 1475 steps.
_base_ = [
    "../_base_/models/rvm_mobilenetv3_large.py",
    "../_base_/datasets/videomatte240k.py",
    "../_base_/default_runtime.py",
]
# Stage 2's last checkpoint (its max_iters): it has no refiner weights, which partial loading leaves initialized.
load_from = "work_dirs/rvm_mobilenetv3_large_videomatte240k_stage2/iter_4720.pth"
partial_load = True
model_wrapper_cfg = dict(find_unused_parameters=True)
data_root = "data/VideoMatte240K_JPEG_HD"
clip_len = 40
_high_resolution_clip_len = 6
crop_size = (512, 288)
_high_resolution_crop_size = (2048, 1152)
_colour_jitter = dict(type="ColorJitter", brightness=0.15, contrast=0.15, saturation=0.15, hue=0.05)
_foreground_jitter = dict(type="ClipAlbumentations", transforms=[_colour_jitter])
_backgrounds = dict(
    type="LoadClipBackground",
    images=["data/BG-20k/train"],
    videos=["data/DVM_backgrounds"],
    video_probability=0.5,
    speed_range=(0.5, 2.0),
    transforms=[_colour_jitter],
)
_crop = dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.3, 1.0), ratio=(1.5, 2.0))
_high_resolution_crop = dict(_crop, size=_high_resolution_crop_size)
# VideoMatte240K clips: sampled at 0.5-5x (SampleClipFramesAtSpeed), then these steps around the crop.
_load_and_move = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
    dict(type="ClipRandomAffineMotion", with_flow=False),
    dict(type="TemporalReverse", prob=0.5),
]
_composite = [
    dict(type="ClipFlip"),
    _foreground_jitter,
    _backgrounds,
    dict(type="ClipComposite", frames_are_foreground=True),
    dict(type="PackVideoInputs"),
]
train_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(0.5, 5.0)),
    *_load_and_move,
    _crop,
    *_composite,
]
_high_resolution_pipeline = [
    dict(type="SampleClipFramesAtSpeed", clip_len=_high_resolution_clip_len, speed_range=(0.5, 5.0)),
    *_load_and_move,
    _high_resolution_crop,
    *_composite,
]
train_dataloader = dict(
    batch_sampler=dict(
        dataset_groups=("matting", "matting_hr", "video_seg", "image_seg"),
        pattern=("matting", "matting_hr", "video_seg", "matting", "matting_hr", "image_seg"),
        group_batch_sizes=dict(image_seg=clip_len),
    ),
    dataset=dict(
        datasets=[
            dict(type="VideoMatteDataset", data_root=data_root + "/train", pipeline=train_pipeline),
            dict(
                type="VideoMatteDataset", data_root=data_root + "/train", pipeline=_high_resolution_pipeline
            ),
        ],
        # Segmentation apart from the matting sets, so that stage 4 replaces only those.
        extra_datasets=[
            dict(
                type="YouTubeVISPeopleDataset",
                data_root="data/ytvis_2021/train",
                ann_file="instances.json",
                version=2021,
                skip_videos_without_people=True,
                pipeline=[
                    dict(type="SampleClipFramesAtSpeed", clip_len=clip_len, speed_range=(1.0, 1.0)),
                    dict(type="LoadVideoClip"),
                    dict(type="LoadClipAnnotations"),
                    dict(type="TemporalReverse", prob=0.5),
                    _crop,
                    dict(type="ClipFlip"),
                    _foreground_jitter,
                    dict(type="PackVideoInputs"),
                ],
            ),
            dict(
                type="COCOPeopleDataset",
                data_root="data/coco",
                ann_file="annotations/instances_train2017.json",
                img_dir="train2017",
                include_negatives=False,
                pipeline=[
                    dict(type="SampleClipFrames", clip_len=1),
                    dict(type="LoadVideoClip"),
                    dict(type="LoadClipAnnotations"),
                    _crop,
                    dict(type="ClipFlip"),
                    _foreground_jitter,
                    dict(type="PackVideoInputs"),
                ],
            ),
        ],
    ),
)
_gpus = 4
_videomatte_train_frames = 236_000
_steps_per_epoch = _videomatte_train_frames // (clip_len * _gpus)
max_iters = 3 * _steps_per_epoch  # 1 epoch
val_interval = max_iters
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="Adam", lr=1e-5),
    paramwise_cfg=dict(custom_keys={"refiner": dict(lr_mult=20.0)}),
)
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=1000, max_keep_ckpts=3))
