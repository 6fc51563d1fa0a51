# Full-scale training data of the video instance recipes (configs/vis/), for users with GPUs and the datasets:
# people as instances from
# - YouTube-VIS 2021 train (data/ytvis_2021/train: JPEGImages/ and instances.json, person = category 26) minus a
#   held-out part for local validation (the servers hold the labels of valid and test):
#       python tools/split_vis_json.py data/ytvis_2021/train/instances.json --minival-videos 200
#   writes instances_train.json and instances_minival.json beside it;
# - OVIS train (data/ovis/train/<video>/, data/ovis/annotations/annotations_train.json, person = 1): crowds and
#   heavy occlusion, which YouTube-VIS has few of;
# - COCO train2017 people (data/coco) as pseudo-clips under a random affine motion (CTVIS trains on such), crowds
#   void, people under 64 pixels void.
# Videos without people are left out. Training is per frame (MinVIS): 2 frames a clip with a stride of up to 4,
# cropped to 384 px; the model computes at 384 px at test time (its input_short_side).
# Validation and test: the held-out YouTube-VIS videos, whole, in clips of 12 frames (its videos hold up to 36
# annotated frames), scored by YouTube-VIS AP and the people tracking metrics. For the server, test on the valid
# JSON with a test pipeline that loads no annotations and YouTubeVISMetric(results_json=..., category_ids={1: 26}).
clip_len = 2
crop_size = (384, 384)
_colour_jitter = dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8)
_crop = dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.3, 1.0), ratio=(0.75, 1.333))
train_pipeline = [
    dict(type="SampleClipFrames", clip_len=clip_len, stride_range=(1, 4)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_instances=True),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
    dict(type="PackVideoInputs"),
]
_coco_pipeline = [
    dict(type="SampleClipFrames", clip_len=1),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_instances=True),
    dict(type="ClipRandomAffineMotion", num_frames=clip_len, with_flow=False),
    _crop,
    dict(type="ClipFlip", prob=0.5),
    dict(type="ClipAlbumentations", transforms=[_colour_jitter]),
    dict(type="PackVideoInputs"),
]
_ytvis_root = "data/ytvis_2021/train"
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type="ConcatVideoDataset",
        datasets=[
            dict(
                type="YouTubeVISPeopleDataset",
                data_root=_ytvis_root,
                ann_file="instances_train.json",
                version=2021,
                skip_videos_without_people=True,
                pipeline=train_pipeline,
            ),
            dict(
                type="YouTubeVISPeopleDataset",
                data_root="data/ovis/train",
                ann_file="../annotations/annotations_train.json",
                version="ovis",
                skip_videos_without_people=True,
                pipeline=train_pipeline,
            ),
            dict(
                type="COCOPeopleDataset",
                data_root="data/coco",
                ann_file="annotations/instances_train2017.json",
                img_dir="train2017",
                include_negatives=False,
                min_person_area=64,
                pipeline=_coco_pipeline,
            ),
        ],
    ),
)
test_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_instances=True),
    dict(type="PackVideoInputs"),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(
        type="YouTubeVISPeopleDataset",
        data_root=_ytvis_root,
        ann_file="instances_minival.json",
        version=2021,
        skip_videos_without_people=True,
        test_mode=True,
        clip_len=12,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="YouTubeVISMetric", classes=(1,), prefix="ytvis"),
    dict(type="PeopleTrackingMetric", person_labels=(1,), prefix="ytvis"),
]
test_evaluator = val_evaluator
