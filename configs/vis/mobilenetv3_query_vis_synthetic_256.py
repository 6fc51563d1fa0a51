# Per-frame video instance segmentation of people (MinVIS's recipe on a mobile model, docs/vis.md): MobileNetV3-small,
# a light FPN pixel decoder and 3 masked-attention layers over 20 queries, trained frame by frame with Hungarian
# matching on synthetic people clips and COCO people photos at 256 px; an EmbeddingTracker associates the queries'
# embeddings into tracks online, outside the exported graph (thresholds and why below).
# tools/test.py scores the synthetic val split and, as an extra test set, the real schoolgirls clip (each girl with
# her backpack), which its synthetic set must not paste cut-outs from (the dataset _base_ file says how to make it).
# Schedule: the people recipes' 800 CPU iterations from scratch, with gradient clipping for the attention layers
# (Mask2Former clips too); not tuned.
_base_ = [
    "../_base_/models/mobilenetv3_query_vis.py",
    "../_base_/datasets/synthetic_people_instances.py",
    "../_base_/datasets/schoolgirls_instances_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
model = dict(
    # Online association of the queries' embeddings (MinVIS matching against a CTVIS memory, docs/vis.md). It runs
    # outside the exported graph (the graph is the per-frame head); its state is carried across contiguous clips.
    # Its embed_dim is the head's embed_dims, filled in.
    tracker=dict(
        type="EmbeddingTracker",
        # 10 slots: the synthetic clips hold up to 3 people, COCO's photos mostly under 10; as the model's max_per_frame.
        max_tracks=10,
        # CTVIS's memory momentum: a track's embedding follows a person's slow change in look, and one odd frame
        # (motion blur, partial occlusion) moves it by a fifth only.
        momentum=0.8,
        # Cosine similarity of unit query features: a track continues only on a clearly similar query, so two
        # people crossing do not swap ids on a weak match (a new id costs IDF1 less than a swap costs both).
        match_threshold=0.5,
        # A track starts where an instance would without a tracker (the model's score_threshold): false tracks cost the
        # tracking metrics, as false tubes do.
        birth_score=0.5,
        # A weaker detection (a person half hidden) may still continue a track it matches, never start one; below
        # 0.3 the many background queries are left out entirely.
        keep_score=0.3,
        # About 0.4 s at 25 fps: a person hidden that long keeps their id when they reappear; longer, the slot is
        # freed (the memory of a departed person would otherwise attract the next newcomer).
        death_age=10,
    ),
)
