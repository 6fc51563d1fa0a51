# The IoU-only baseline of mobilenetv3_query_vis_synthetic_256.py: the same model, data and schedule (same training),
# only a different association. A MaskIoUTracker links each frame's person masks to the tracks' last masks by mask
# IoU (Hungarian matching) and never reads the query embeddings, where the recipe's EmbeddingTracker matches the
# embeddings. Neither tracker has weights, so a checkpoint of one config loads into the other: evaluating one
# checkpoint under both measures what the embeddings add to tracking (docs/vis.md, benchmarks/vis_people.py).
# Both configs take the model from one _base_ file and state their trackers alone (a tracker inherited from the
# recipe would keep its arguments, such as momentum); tests/models/test_mask_iou_tracker.py checks that the two
# configs differ in the tracker alone.
_base_ = [
    "../_base_/models/mobilenetv3_query_vis.py",
    "../_base_/datasets/synthetic_people_instances.py",
    "../_base_/datasets/schoolgirls_instances_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    tracker=dict(
        type="MaskIoUTracker",
        # The recipe's slots and score thresholds, so that only the association differs.
        max_tracks=10,
        birth_score=0.5,
        keep_score=0.3,
        # A track unmatched for up to 10 frames may still continue, but only on a mask that overlaps its last one:
        # with no appearance to go by, a person who moves while hidden comes back with a new id.
        death_age=10,
        # The recipe's masks at its 256 px input: stride 4 gives 64 x 64, compared without resampling.
        mask_size=64,
        # SORT's least IoU for boxes (Bewley et al., ICIP 2016). A box of width w moving d pixels sideways keeps IoU
        # (w - d) / (w + d) >= 0.3 up to d = 0.54 w a frame; a mask (thin limbs) loses overlap faster than its box,
        # so no stricter, and Hungarian matching keeps two overlapping people apart.
        match_threshold=0.3,
    ),
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
