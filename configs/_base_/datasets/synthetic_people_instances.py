# Per-frame training data of the video instance recipes (configs/vis/): people as instances (LoadClipAnnotations'
# with_instances: one tube per track), from
# - the synthetic people clips (tools/make_synthetic.py, up to 3 people per clip with their track ids), listed twice
#   so they make about half of the samples beside the COCO photos (the VSS recipe with COCO at two thirds of the
#   samples stayed under-confident at the CPU budget, docs/benchmarks.md); made with the real cut-outs of the split
#   (steadyseg/datasets/real_people.py) but the schoolgirls', whose clip judges these recipes:
#       python tools/make_synthetic.py --out data/synthetic_people_instances --backgrounds ../shared/data/backgrounds \
#           --cutouts davis:../shared/data/davis_people:breakdance,breakdance-flare,dance-twirl,rollerblade \
#           coco:../shared/data/coco_people --cutout-weights coco_people=4 --cutout-probability 0.75
# - COCO's real people (../shared/data/coco_people, 61 photos with 254 people) as pseudo-clips under a random affine
#   motion; crowds and people under 64 pixels are void, so they are no targets; photos without people left out.
# The model trains frame by frame (MinVIS), so a clip is just frames of one video: 2 frames a clip with a stride of up
# to 4 (more varied than neighbours), 4 clips a batch, 8 frames at 256 x 256 per step. Frame order does not matter,
# hence no temporal augmentation.
# Validation and test: the synthetic val split's tracks, scored as tubes by YouTube-VIS AP and the people tracking
# metrics (HOTA, MOTA, IDF1) over whole videos cut into clips of 8 frames.
data_root = "data/synthetic_people_instances"
clip_len = 2
crop_size = (256, 256)
_shared_data = "{{$STEADYSEG_SHARED_DATA:../shared/data}}"
_colour_jitter = dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=0.8)
_crop = dict(type="ClipRandomResizedCrop", size=crop_size, scale=(0.35, 1.0), ratio=(0.75, 1.333))
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
_synthetic = dict(type="SyntheticPeopleDataset", data_root=data_root, split="train", pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type="ConcatVideoDataset",
        datasets=[
            _synthetic,
            _synthetic,
            dict(
                type="COCOPeopleDataset",
                data_root=_shared_data + "/coco_people",
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
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="VideoContiguousSampler"),
    dataset=dict(
        type="SyntheticPeopleDataset",
        data_root=data_root,
        split="val",
        test_mode=True,
        clip_len=8,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="YouTubeVISMetric", classes=(1,), prefix="synthetic"),
    dict(type="PeopleTrackingMetric", person_labels=(1,), prefix="synthetic"),
]
test_evaluator = val_evaluator
