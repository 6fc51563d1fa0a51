# The real DAVIS-2017 schoolgirls clip beside the checkout (../shared/data, or $STEADYSEG_SHARED_DATA) as an extra
# video instance segmentation test set: tools/test.py reports it as schoolgirls/<metric>. Four girls walk side by
# side (ids 1, 3, 5, 7); the backpacks of three of them are annotated apart (2, 4, 6), so MergeTracks joins each to
# the girl carrying it under her id: four person tubes over all 80 frames, scored in clips of 8 as the synthetic
# validation set is. The clip is a cut-out source of the synthetic generator too (steadyseg/datasets/real_people.py):
# a recipe scored here trains on a synthetic set made without its cut-outs (generator_arguments(data,
# instance_cutouts=False)).
_schoolgirls_pipeline = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_instances=True),
    # A group's last id is the merged track's: the girl's.
    dict(type="MergeTracks", groups="1,2+3,4+5,6+7"),
    dict(type="PackVideoInputs"),
]
extra_test_sets = [
    dict(
        dataloader=dict(
            batch_size=1,
            num_workers=1,
            sampler=dict(type="VideoContiguousSampler"),
            dataset=dict(
                type="InstanceMaskVideoDataset",
                data_root="{{$STEADYSEG_SHARED_DATA:../shared/data}}/davis_schoolgirls",
                video="schoolgirls.mp4",
                mask_dir="masks",
                test_mode=True,
                clip_len=8,
                pipeline=_schoolgirls_pipeline,
            ),
        ),
        evaluator=[
            dict(type="YouTubeVISMetric", classes=(1,), prefix="schoolgirls"),
            dict(type="PeopleTrackingMetric", person_labels=(1,), prefix="schoolgirls"),
        ],
    )
]
