# Robust Video Matting, stage 2 of 4 (see ..._stage1.py for the whole procedure): long clips, T = 50 (the longest
# RVM fit on its GPUs; the network learns long-term dependencies), learning rates halved (MobileNetV3 5e-5, the
# rest 1e-4), 2 more epochs, everything else as stage 1, from stage 1's last checkpoint.
# The training mixture is restated with T = 50: a config cannot re-evaluate its base's pipelines with another
# clip length (mmengine evaluates each file on its own and replaces lists whole).
# An epoch: 236k frames / (50 x 4 clips) = 1180 matting batches, each followed by a segmentation batch.
_base_ = "./rvm_mobilenetv3_large_videomatte240k_stage1.py"
# Stage 1's last checkpoint (its max_iters, 2 x 15 x 3933); the ImageNet weights are not needed any more.
load_from = "work_dirs/rvm_mobilenetv3_large_videomatte240k_stage1/iter_117990.pth"
model = dict(backbone=dict(init_cfg=None))
clip_len = 50
crop_size = (512, 288)
_colour_jitter = dict(type="ColorJitter", brightness=0.15, contrast=0.15, saturation=0.15, hue=0.05)
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
    dict(
        type="LoadClipBackground",
        images=["data/BG-20k/train"],
        videos=["data/DVM_backgrounds"],
        video_probability=0.5,
        speed_range=(0.5, 2.0),
        transforms=[_colour_jitter],
    ),
    dict(type="ClipComposite", frames_are_foreground=True),
    dict(type="PackVideoInputs"),
]
train_dataloader = dict(
    batch_sampler=dict(group_batch_sizes=dict(image_seg=clip_len)),
    dataset=dict(
        datasets=[
            dict(
                type="VideoMatteDataset",
                data_root="data/VideoMatte240K_JPEG_SD/train",
                pipeline=train_pipeline,
            ),
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
        ]
    ),
)
_gpus = 4
_videomatte_train_frames = 236_000
_matting_batches_per_epoch = _videomatte_train_frames // (clip_len * _gpus)
max_iters = 2 * 2 * _matting_batches_per_epoch
val_interval = 2 * _matting_batches_per_epoch
optim_wrapper = dict(optimizer=dict(lr=1e-4))  # MobileNetV3 at half of it (stage 1's lr_mult): 5e-5
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
