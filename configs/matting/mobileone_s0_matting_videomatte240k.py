# Robust Video Matting's architecture on MobileOne-S0 (Vasu et al., CVPR 2023), trained on stage 1's data
# (configs/_base_/datasets/videomatte240k.py: VideoMatte240K at low resolution, T = 15, segmentation batches in
# between) for stage 1's 15 epochs, for GPUs and the real datasets: the MobileOne member of the matting family
# beside RVM's MobileNetV3 (rvm_mobilenetv3_large_videomatte240k_stage1.py); its later stages follow that
# recipe's stages 2-4 with this model.
# - Encoder: MobileOne-S0, one feature at each of strides 2, 4, 8, 16 (48, 48, 128, 256 channels; its stride-32
#   stage is not built). It trains in its multi-branch form; steadyseg.deploy.reparameterize(model) folds it into
#   plain convs before export and timing (tools/export.py does).
# - RVM's context, decoder and losses at RVM's weights, no refiner (low-resolution stage).
# The model is stated whole, not inherited from configs/_base_/models/rvm_mobilenetv3_large.py: merging a
# MobileOne backbone into that MobileNetV3 one would keep its MobileNetV3-only keys.
# No ImageNet MobileOne weights load into this backbone here, so it trains from scratch, at RVM's 2e-4 throughout
# (RVM holds back its pretrained MobileNetV3 at 1e-4).
# Launch: torchrun --nproc_per_node=4 tools/train.py configs/matting/mobileone_s0_matting_videomatte240k.py
#   --launcher pytorch --amp
_base_ = ["../_base_/datasets/videomatte240k.py", "../_base_/default_runtime.py"]
model = dict(
    type="VideoMattingModel",
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    backbone=dict(type="MobileOne", variant="s0", out_indices=(0, 1, 2, 3), inference_mode=False),
    context=dict(type="LRASPPContext", channels=128),
    decoder=dict(type="RecurrentMattingDecoder", block_channels=(80, 40, 32, 16)),
    refiner=None,
    losses=[
        dict(type="AlphaL1Loss"),
        dict(type="AlphaLaplacianLoss"),
        dict(type="AlphaCoherenceLoss", loss_weight=5.0),
        dict(type="ForegroundL1Loss"),
        dict(type="ForegroundCoherenceLoss", loss_weight=5.0),
        dict(type="SegmentationBCELoss"),
    ],
    downsample_ratio=None,
)
model_wrapper_cfg = dict(find_unused_parameters=True)
# The data's T: it sets the length of an epoch (see rvm_mobilenetv3_large_videomatte240k_stage1.py).
clip_len = 15
_gpus = 4
_videomatte_train_frames = 236_000
_matting_batches_per_epoch = _videomatte_train_frames // (clip_len * _gpus)
max_iters = 2 * 15 * _matting_batches_per_epoch
val_interval = 2 * _matting_batches_per_epoch
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=2e-4))
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=val_interval, max_keep_ckpts=3))
