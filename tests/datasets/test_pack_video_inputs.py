import re

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
    # Tracks 3 (frame 0), 7 (frames 0 and 1, overlapping track 3 at (0, 1)) and 9 (no pixel left: dropped).
    instance_masks = [np.zeros((height, width, 3), bool) for _ in range(num_frames)]
    instance_masks[0][0, :2, 0] = True
    instance_masks[0][0:2, 1, 1] = True
    instance_masks[1][2, 2, 1] = True
    return dict(
        imgs=imgs,
        gt_seg_maps=[m.any(axis=-1).astype(np.uint8) for m in instance_masks],
        gt_instance_masks=instance_masks,
        gt_instance_track_ids=np.array([3, 7, 9]),
        gt_instance_labels=np.array([1, 1, 1]),
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


def test_instances_are_tubes_with_track_ids():
    sample = PackVideoInputs()(clip())["data_samples"]
    tubes = sample.gt_instances
    assert isinstance(tubes, InstanceData) and len(tubes) == 2
    assert tubes.track_ids.tolist() == [3, 7] and tubes.labels.tolist() == [1, 1]
    assert tubes.track_ids.dtype == tubes.labels.dtype == torch.long
    assert tubes.masks.dtype == torch.bool and tubes.masks.shape == (2, 3, 4, 5)
    assert tubes.masks[0].nonzero().tolist() == [[0, 0, 0], [0, 0, 1]]
    assert tubes.masks[1].nonzero().tolist() == [[0, 0, 1], [0, 1, 1], [1, 2, 2]]
    assert tubes.masks.is_contiguous()


def test_a_clip_without_instances_packs_zero_tubes():
    results = clip()
    results["gt_instance_masks"] = [np.zeros((4, 5, 0), bool)] * 3
    results["gt_instance_track_ids"] = results["gt_instance_labels"] = np.zeros(0, np.int64)
    tubes = PackVideoInputs()(results)["data_samples"].gt_instances
    assert len(tubes) == 0 and tubes.masks.shape == (0, 3, 4, 5) and tubes.track_ids.shape == (0,)


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
    from_json = PackVideoInputs()(dict(clip(), ann_video_id=17))["data_samples"]
    assert from_json.ann_video_id == 17
    custom = PackVideoInputs(meta_keys=("video_id", "scale_factor"))(clip())["data_samples"]
    assert custom.metainfo == dict(video_id="walk", scale_factor=(0.5, 0.5))


def test_images_only_clip_and_single_frame_flow():
    packed = PackVideoInputs()(dict(imgs=[np.zeros((4, 5, 3), np.uint8)], gt_flow=[]))
    assert packed["inputs"].shape == (1, 3, 4, 5)
    assert packed["data_samples"].gt_flow.shape == (0, 2, 4, 5)
    assert "gt_sem_seg" not in packed["data_samples"]


def test_raw_labels_pack_as_integer_gt_sem_seg_raw():
    results = clip()
    raw = [np.full((4, 5), 255 * (t % 2), np.uint8) for t in range(3)]  # VSPW's voids 0 and 255 alternate
    sample = PackVideoInputs()({**results, "gt_seg_maps_raw": raw})["data_samples"]
    assert sample.gt_sem_seg_raw.dtype == torch.long and sample.gt_sem_seg_raw.shape == (3, 4, 5)
    assert sample.gt_sem_seg_raw[:, 0, 0].tolist() == [0, 255, 0]
    assert "gt_sem_seg_raw" not in PackVideoInputs()(results)["data_samples"]
    with pytest.raises(TypeError, match=r"VideoDataSample.gt_sem_seg_raw must be a 3-d tensor, got \(4, 5\)"):
        sample.gt_sem_seg_raw = torch.zeros(4, 5, dtype=torch.long)


def test_raw_labels_of_another_size_than_the_labels_are_an_error():
    # What a crop after LoadClipAnnotations leaves: it moves gt_seg_maps, not the raw labels.
    results = {**clip(), "gt_seg_maps_raw": [np.zeros((8, 10), np.uint8)] * 3}
    message = "PackVideoInputs: video 'walk': gt_seg_maps_raw (3, 8, 10) and gt_seg_maps (3, 4, 5) differ"
    with pytest.raises(ValueError, match=re.escape(message)):
        PackVideoInputs()(results)
