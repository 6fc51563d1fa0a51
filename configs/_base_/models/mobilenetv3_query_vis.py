# Per-frame query-based video instance segmentation (MinVIS's recipe: Mask2Former trained frame by frame, queries
# associated across frames by an embedding tracker) on the people model's MobileNetV3-small, sized for a phone at
# 256 px:
# - the backbone of the VSS recipes (output stride 32, last block halved) read at strides 4, 8, 16 and 32 (16, 24,
#   48, 48 channels); the pixel decoder's and head's input widths are measured from it, not listed here;
# - a 64-channel FPN pixel decoder (depthwise-separable 3x3 fusions: a full 3x3 at stride 4 would cost more than the
#   backbone, see configs/_base_/models/mobilenetv3_lraspp.py) giving 64-channel mask features at stride 4 and
#   memories at strides 32, 16 and 8, Mask2Former's three scales;
# - 3 masked-attention layers of 64 dims (4 heads, FFN 256), one round over the three memories (Mask2Former: 9 layers
#   of 256 dims, FFN 2048), and 20 queries: the synthetic clips hold up to 3 people, COCO's people photos mostly under
#   10 once people under 64 pixels are void;
# - Mask2Former's loss weights (class 2, mask BCE 5, dice 5, no-object 0.1) in matching and loss alike.
norm_cfg = dict(type="BN", requires_grad=True)
model = dict(
    type="VideoInstanceSegmentor",
    # The scale it computes at (frames are resized inside step / predict_stream): the training crops' 256 px.
    input_short_side=256,
    data_preprocessor=dict(type="VideoDataPreprocessor"),
    backbone=dict(
        type="StridedMobileNetV3",
        arch="small",
        output_stride=32,
        reduction_factor=2,
        out_indices=(1, 3, 8, 11),
        norm_cfg=norm_cfg,
    ),
    pixel_decoder=dict(
        type="QueryPixelDecoder", channels=64, mask_channels=64, num_memories=3, norm_cfg=norm_cfg
    ),
    head=dict(
        type="QueryMaskHead", num_queries=20, embed_dims=64, num_layers=3, num_heads=4, ffn_channels=256
    ),
    criterion=dict(
        type="HungarianMaskLoss", class_weight=2.0, mask_weight=5.0, dice_weight=5.0, no_object_weight=0.1
    ),
    # People only: class 0 is the datasets' person label 1.
    class_labels=(1,),
    # These two pick instances only when tracker=None (tracks by query index); the tracker's thresholds do otherwise.
    # The tracker is the recipe's choice (configs/vis/): EmbeddingTracker, or MaskIoUTracker for the IoU-only baseline.
    # The tracking metrics count every kept tube as detections (false positives cost MOTA and HOTA), so a query is
    # an instance only from probability 0.5; YouTube-VIS AP alone would prefer a lower threshold (more recall).
    score_threshold=0.5,
    max_per_frame=10,
)
