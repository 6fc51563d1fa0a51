# Robust Video Matting (Lin et al., "Robust High-Resolution Video Matting with Temporal Guidance", WACV 2022),
# MobileNetV3-Large, trained in RVM's four stages for GPUs and the real datasets (docs/matting.md, "Configs"):
#   stage 1 (this file): VideoMatte240K at low resolution without the deep guided filter, T = 15 (short clips, so
#     the network updates more often), 15 epochs, MobileNetV3 from ImageNet weights at learning rate 1e-4, the rest
#     at 2e-4 (paper, "Training" section);
#   stage 2: T = 50, learning rates halved, 2 epochs (..._stage2.py);
#   stage 3: the guided filter added, high-resolution clips (T = 6, ratio 0.25) beside the low-resolution ones
#     (T = 40), 1 epoch, refiner at 2e-4 and the rest at 1e-5 (..._stage3.py);
#   stage 4: Distinctions-646 + AIM image matting instead of VideoMatte240K, 5 epochs, decoder at 5e-5
#     (rvm_mobilenetv3_large_imagematte_stage4.py).
# Adam without decay and constant learning rates in every stage, segmentation batches in every stage, B = 4 clips
# on 4 GPUs, mixed precision (tools/train.py --amp), as RVM's released training (its documentation/training.md
# runs stage 1 for 20 epochs; the paper says 15).
# An RVM epoch is one clip starting every T frames of every training clip, in batches of B = 4: 236k frames
# (VideoMatte240K's 240,709 in 484 clips, less its 5 test clips and RVM's 4 validation clips) / (15 x 4) = 3933
# matting batches, each followed by a segmentation batch: 2 iterations here.
# Launch: torchrun --nproc_per_node=4 tools/train.py configs/matting/rvm_mobilenetv3_large_videomatte240k_stage1.py
#   --launcher pytorch --amp (work dir work_dirs/rvm_mobilenetv3_large_videomatte240k_stage1, which stage 2 loads).
_base_ = [
    "../_base_/models/rvm_mobilenetv3_large.py",
    "../_base_/datasets/videomatte240k.py",
    "../_base_/default_runtime.py",
]
model = dict(
    # The ImageNet weights mmseg's LR-ASPP MobileNetV3 recipes start from (downloaded when training starts).
    backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="open-mmlab://contrib/mobilenet_v3_large")),
    refiner=None,
)
model_wrapper_cfg = dict(find_unused_parameters=True)
clip_len = 15  # the data's T (configs/_base_/datasets/videomatte240k.py): it sets the length of an epoch
_gpus = 4
_videomatte_train_frames = 236_000
_matting_batches_per_epoch = _videomatte_train_frames // (clip_len * _gpus)
max_iters = 2 * 15 * _matting_batches_per_epoch
val_interval = 2 * _matting_batches_per_epoch
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="Adam", lr=2e-4),
    paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=0.5)}),
)
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=val_interval, max_keep_ckpts=3))
