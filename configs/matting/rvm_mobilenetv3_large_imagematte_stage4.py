# Robust Video Matting, stage 4 of 4 (see rvm_mobilenetv3_large_videomatte240k_stage1.py for the whole procedure):
# image matting data instead of VideoMatte240K, 5 epochs, the decoder's learning rate raised to 5e-5 so the
# network adapts, everything else as stage 3 (low- and high-resolution passes, the refiner at 2e-4, the rest at
# 1e-5, the same segmentation batches), from stage 3's last checkpoint.
# The data is RVM's ImageMatte: the people of Distinctions-646 and Adobe Image Matting merged into one fg/alpha
# set (the photos of RVM's documentation/misc/imagematte_train.txt; the datasets come from their authors), in RVM's
# folder names fgr/ and pha/. Each photo is animated into a clip by its own motion (ClipRandomAffineMotion), then
# composited as in stage 3.
# An RVM epoch of this set is max(photos, background photos + background videos): about 11k with RVM's 8000
# background photos and ~3100 background clips, in batches of 4: 2750 steps of 3 iterations.
# The validation and test sets stay VideoMatte240K's (configs/_base_/datasets/videomatte240k.py).
_base_ = "./rvm_mobilenetv3_large_videomatte240k_stage3.py"
load_from = "work_dirs/rvm_mobilenetv3_large_videomatte240k_stage3/iter_4425.pth"  # stage 3's last checkpoint
partial_load = False
clip_len = 40
_high_resolution_clip_len = 6
_colour_jitter = dict(type="ColorJitter", brightness=0.15, contrast=0.15, saturation=0.15, hue=0.05)
_crop = dict(type="ClipRandomResizedCrop", size=(512, 288), scale=(0.3, 1.0), ratio=(1.5, 2.0))
_high_resolution_crop = dict(_crop, size=(2048, 1152))
_load = [
    dict(type="SampleClipFrames", clip_len=1),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
]
_composite = [
    dict(type="ClipFlip"),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
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
_image_matte = dict(
    type="ImageMattingDataset", data_root="data/ImageMatte/train", fg_dir="fgr", alpha_dir="pha"
)
train_dataloader = dict(
    dataset=dict(
        # Replaces stage 3's VideoMatte240K sets; its segmentation sets (extra_datasets) stay.
        datasets=[
            dict(
                _image_matte,
                pipeline=[
                    *_load,
                    dict(type="ClipRandomAffineMotion", num_frames=clip_len, with_flow=False),
                    _crop,
                    *_composite,
                ],
            ),
            dict(
                _image_matte,
                pipeline=[
                    *_load,
                    dict(
                        type="ClipRandomAffineMotion", num_frames=_high_resolution_clip_len, with_flow=False
                    ),
                    _high_resolution_crop,
                    *_composite,
                ],
            ),
        ]
    )
)
_gpus = 4
_epoch_samples = 11_000
max_iters = 3 * 5 * (_epoch_samples // _gpus)
val_interval = 3 * (_epoch_samples // _gpus)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={"decoder": dict(lr_mult=5.0)}))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
