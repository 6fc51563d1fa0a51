# Per-frame video instance segmentation of people (MinVIS's recipe on a mobile model, docs/vis.md): MobileNetV3-small,
# a light FPN pixel decoder and 3 masked-attention layers over 20 queries, trained frame by frame with Hungarian
# matching on synthetic people clips and COCO people photos at 256 px; an EmbeddingTracker associates the queries'
# embeddings into tracks online, outside the exported graph (thresholds and why in the model's _base_ file).
# Schedule: the people recipes' 800 CPU iterations from scratch, with gradient clipping for the attention layers
# (Mask2Former clips too); not tuned.
_base_ = [
    "../_base_/models/mobilenetv3_query_vis.py",
    "../_base_/datasets/synthetic_people_instances.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
