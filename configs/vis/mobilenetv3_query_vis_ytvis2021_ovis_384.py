# The per-frame video instance recipe of mobilenetv3_query_vis_synthetic_256.py at full scale, for users with GPUs
# and the datasets: YouTube-VIS 2021 and OVIS people with COCO people pseudo-clips (the _base_ dataset file says how
# to lay them out and hold out validation videos), at 384 px.
# The head grows with the data: OVIS scenes hold tens of people, so 50 queries and as many track slots (the small
# recipe's 20 suit its clips of up to 3); 128-dim queries over 6 masked-attention layers (two rounds over the three
# memories) and a 128-channel pixel decoder, still a fraction of Mask2Former's 256 dims and 9 layers.
# Schedule: 80k iterations at batch 8 clips x 2 frames; AdamW at Mask2Former's 1e-4 with its 0.05 weight decay and
# gradient clipping, warm-up then poly decay.
_base_ = [
    "../_base_/models/mobilenetv3_query_vis.py",
    "../_base_/datasets/ytvis2021_ovis_people_instances.py",
    "../_base_/schedules/iter_80k_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    input_short_side=384,
    pixel_decoder=dict(channels=128, mask_channels=128),
    head=dict(num_queries=50, embed_dims=128, num_layers=6, ffn_channels=512, num_heads=8),
    max_per_frame=50,
    # The small recipe's association (its thresholds and why: mobilenetv3_query_vis_synthetic_256.py) with a slot
    # for every query.
    tracker=dict(
        type="EmbeddingTracker",
        max_tracks=50,
        momentum=0.8,
        match_threshold=0.5,
        birth_score=0.5,
        keep_score=0.3,
        death_age=10,
    ),
)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05), clip_grad=dict(max_norm=1.0))
default_hooks = dict(checkpoint=dict(interval=8000))
