import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from steadyseg.datasets import PackVideoInputs
from steadyseg.structures import VideoDataSample


def clip(num_frames=3, height=4, width=5):
    imgs = [
        np.random.default_rng(t).integers(0, 255, (height, width, 3), dtype=np.uint8)
        for t in range(num_frames)
    ]
    instance_maps = [np.zeros((height, width), np.uint8) for _ in range(num_frames)]
    instance_maps[0][0, :2] = 3
    instance_maps[0][1, 1] = 7
    instance_maps[1][2, 2] = 7
    return dict(
        imgs=imgs,
        gt_seg_maps=[np.where(m > 0, 1, 0).astype(np.uint8) for m in instance_maps],
        gt_instance_maps=instance_maps,
        gt_alpha=[np.full((height, width), 51 * t, np.uint8) for t in range(num_frames)],
        gt_fgr=[img.copy() for img in imgs],
        gt_flow=[np.full((height, width, 2), (t, -t), np.float32) for t in range(1, num_frames)],
        video_id="walk",
        frame_indices=[np.int64(2), 3, 4],
        num_video_frames=10,
        ori_shape=(8, 10),
        img_shape=(height, width),
        fps=24,
        is_first_clip=False,
        scale_factor=(0.5, 0.5),
    )


def test_types_shapes_and_values():
    results = clip()
    packed = PackVideoInputs()(results)
    inputs, sample = packed["inputs"], packed["data_samples"]
    assert isinstance(sample, VideoDataSample)
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 3, 4, 5)
    assert torch.equal(inputs[1].permute(1, 2, 0), torch.from_numpy(results["imgs"][1]))
    assert sample.gt_sem_seg.dtype == torch.long and sample.gt_sem_seg.shape == (3, 4, 5)
    assert sample.gt_sem_seg[0, 0, :3].tolist() == [1, 1, 0]
    assert sample.gt_alpha.dtype == torch.float32 and sample.gt_alpha.shape == (3, 1, 4, 5)
    assert sample.gt_alpha[:, 0, 0, 0].tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert sample.gt_fgr.shape == (3, 3, 4, 5) and float(sample.gt_fgr.max()) <= 1.0
    assert sample.gt_flow.shape == (2, 2, 4, 5) and sample.gt_flow[1, :, 0, 0].tolist() == [2.0, -2.0]


def test_instances_per_frame_with_track_ids():
    sample = PackVideoInputs()(clip())["data_samples"]
    assert len(sample.gt_instances) == 3 and all(isinstance(i, InstanceData) for i in sample.gt_instances)
    first, second, third = sample.gt_instances
    assert first.track_ids.tolist() == [3, 7] and first.labels.tolist() == [1, 1]
    assert first.masks.dtype == torch.bool and first.masks.shape == (2, 4, 5)
    assert first.masks[0].sum() == 2 and bool(first.masks[1, 1, 1])
    assert second.track_ids.tolist() == [7]
    assert len(third) == 0 and third.masks.shape == (0, 4, 5)


def test_metainfo_keys():
    sample = PackVideoInputs()(clip())["data_samples"]
    assert sample.metainfo == dict(
        video_id="walk",
        frame_indices=[2, 3, 4],
        num_video_frames=10,
        ori_shape=(8, 10),
        img_shape=(4, 5),
        fps=24,
        is_first_clip=False,
    )
    assert all(type(i) is int for i in sample.frame_indices)
    custom = PackVideoInputs(meta_keys=("video_id", "scale_factor"))(clip())["data_samples"]
    assert custom.metainfo == dict(video_id="walk", scale_factor=(0.5, 0.5))


def test_images_only_clip_and_single_frame_flow():
    packed = PackVideoInputs()(dict(imgs=[np.zeros((4, 5, 3), np.uint8)], gt_flow=[]))
    assert packed["inputs"].shape == (1, 3, 4, 5)
    assert packed["data_samples"].gt_flow.shape == (0, 2, 4, 5)
    assert "gt_sem_seg" not in packed["data_samples"]
