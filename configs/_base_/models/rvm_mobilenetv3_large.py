# Robust Video Matting's MobileNetV3 model (Lin et al., WACV 2022), in steadyseg's parts (docs/matting.md): the
# matting recipes of configs/matting/ start from it and change only what their stage or budget needs.
# - Encoder: MobileNetV3-Large at output stride 16, its last stage dilated (RVM's encoder), one feature at each of
#   strides 2, 4, 8 (16, 24, 40 channels) and 16 (the 960-channel last conv); the context, decoder and refiner
#   channels are measured from it at build time.
# - LR-ASPP context of 128 channels, the recurrent decoder with RVM's block widths, and the deep guided filter: 3.749M
#   parameters, RVM's count. Recipes trained at low resolution set `refiner=None`, as RVM's stages 1 and 2 do.
# - RVM's losses at RVM's weights over all frames of the clip: L1 and Laplacian pyramid on alpha, temporal
#   coherence of alpha (x5), L1 of the foreground where the true alpha is positive and its coherence (x5), and BCE
#   on the segmentation logit for the segmentation batches interleaved with the matting ones.
# - downsample_ratio None: 512 px on the long side for larger frames, smaller frames at their own size (RVM's
#   advice of a 256-512 px internal size); the high-resolution recipes fix it.
# A batch of one kind leaves the other kind's parts without gradients: distributed runs need
# model_wrapper_cfg = dict(find_unused_parameters=True), which every matting recipe sets.
model = dict(
    type="VideoMattingModel",
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    backbone=dict(type="StridedMobileNetV3", arch="large", output_stride=16, out_indices=(1, 3, 6, 16)),
    context=dict(type="LRASPPContext", channels=128),
    decoder=dict(type="RecurrentMattingDecoder", block_channels=(80, 40, 32, 16)),
    refiner=dict(type="DeepGuidedFilter", channels=16),
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
