"""A full training pipeline built from config dicts, as a config file would."""

import numpy as np
import torch
from mmengine.registry import init_default_scope

from steadyseg.registry import DATASETS
from steadyseg.structures import VideoDataSample


def test_davis_train_pipeline_from_config(shared_data):
    init_default_scope("steadyseg")
    cfg = dict(
        type="DAVISDataset",
        data_root=str(shared_data / "davis_people"),
        sequences=["hike", "rollerblade"],
        pipeline=[
            dict(type="SampleClipFrames", clip_len=4, stride_range=(1, 3)),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations", with_instances=True),
            dict(type="ClipRandomResizedCrop", size=(64, 48), scale=(0.3, 1.0)),
            dict(type="ClipFlip", prob=0.5),
            dict(type="ClipAlbumentations", transforms=[dict(type="ColorJitter", brightness=0.2, p=1.0)]),
            dict(type="TemporalReverse", prob=0.5),
            dict(type="PackVideoInputs"),
        ],
    )
    dataset = DATASETS.build(cfg)
    assert len(dataset) == 2
    np.random.seed(0)
    packed = dataset[1]
    sample = packed["data_samples"]
    assert isinstance(sample, VideoDataSample)
    assert packed["inputs"].shape == (4, 3, 48, 64) and packed["inputs"].dtype == torch.uint8
    assert sample.gt_sem_seg.shape == (4, 48, 64) and set(sample.gt_sem_seg.unique().tolist()) <= {0, 1}
    # Rollerblade's one DAVIS 2016 object, cropped, flipped and maybe reversed with the frames.
    assert sample.gt_instances.track_ids.tolist() == [1]
    assert torch.equal(sample.gt_instances.masks[0], sample.gt_sem_seg == 1)
    assert (
        sample.video_id == "rollerblade" and sample.img_shape == (48, 64) and sample.ori_shape == (480, 854)
    )
    steps = set(np.abs(np.diff(sample.frame_indices)).tolist())
    assert len(steps) == 1 and steps <= {1, 2, 3}
    np.random.seed(0)
    again = dataset[1]
    assert torch.equal(again["inputs"], packed["inputs"])
