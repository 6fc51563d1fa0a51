# The real DAVIS-2016 people clips beside the checkout (../shared/data, or $STEADYSEG_SHARED_DATA), as an
# extra test set: tools/test.py reports them as davis_people/<metric>. Only the clips that the real-people split
# (steadyseg/datasets/real_people.py) keeps for scoring: the others give training cut-outs. car-shadow is left
# out: its annotation is a car, so it has no person ground truth.
_davis_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="PackVideoInputs"),
]
extra_test_sets = [
    dict(
        dataloader=dict(
            batch_size=1,
            num_workers=1,
            sampler=dict(type="VideoContiguousSampler"),
            dataset=dict(
                type="DAVISDataset",
                data_root="{{$STEADYSEG_SHARED_DATA:../shared/data}}/davis_people",
                year=2016,
                sequences=("hike", "tennis", "kite-walk", "swing", "paragliding-launch"),
                test_mode=True,
                clip_len=16,
                pipeline=_davis_pipeline,
            ),
        ),
        evaluator=[
            dict(
                type="VideoIoUMetric",
                num_classes=2,
                class_names=("background", "person"),
                prefix="davis_people",
            ),
            dict(type="DAVISMetric", prefix="davis_people"),
            dict(type="VideoConsistencyMetric", clip_nums=(8, 16), prefix="davis_people"),
        ],
    )
]
