"""VideoDataSample: instance tubes are checked on assignment and travel with the sample."""

import re

import pytest
import torch
from mmengine.structures import InstanceData

from steadyseg.structures import VideoDataSample

N, T, H, W = 2, 3, 4, 5


def tubes(num_instances: int = N, **changes) -> InstanceData:
    fields = dict(
        masks=torch.zeros(num_instances, T, H, W, dtype=torch.bool),
        track_ids=torch.arange(1, num_instances + 1),
        labels=torch.ones(num_instances, dtype=torch.long),
    )
    return InstanceData(**{**fields, **changes})


def test_tubes_are_stored_as_given():
    instances = tubes()
    instances.masks[1, 2, 3, 4] = True
    sample = VideoDataSample(gt_instances=instances)
    assert sample.gt_instances is instances and bool(sample.gt_instances.masks[1, 2, 3, 4])
    sample.pred_instances = tubes(scores=torch.tensor([0.9, 0.2]))
    assert sample.pred_instances.scores.tolist() == pytest.approx([0.9, 0.2])
    del sample.gt_instances
    assert "gt_instances" not in sample


def test_an_empty_clip_has_zero_tubes_of_the_clip_shape():
    sample = VideoDataSample(gt_instances=tubes(0))
    assert len(sample.gt_instances) == 0 and sample.gt_instances.masks.shape == (0, T, H, W)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "gt_instances",
            [tubes()],
            "VideoDataSample.gt_instances must be an InstanceData of tubes, got list",
        ),
        (
            "gt_instances",
            tubes(masks=torch.zeros(N, T, H, W, dtype=torch.uint8)),
            "VideoDataSample.gt_instances.masks must be a bool tensor [N, T, H, W], got torch.uint8 (2, 3, 4, 5)",
        ),
        (
            "gt_instances",
            tubes(masks=torch.zeros(N, H, W, dtype=torch.bool)),  # the old per-frame layout
            "VideoDataSample.gt_instances.masks must be a bool tensor [N, T, H, W], got torch.bool (2, 4, 5)",
        ),
        (
            "gt_instances",
            tubes(track_ids=torch.tensor([1, 2], dtype=torch.int32)),
            "VideoDataSample.gt_instances.track_ids must be a int64 tensor [N], got torch.int32 (2,)",
        ),
        (
            "gt_instances",
            InstanceData(
                masks=torch.zeros(N, T, H, W, dtype=torch.bool), labels=torch.ones(N, dtype=torch.long)
            ),
            "VideoDataSample.gt_instances.track_ids must be a int64 tensor [N], got NoneType",
        ),
        (
            # InstanceData checks lengths only once it holds entries, so zero tubes with two labels get in.
            "gt_instances",
            tubes(0, labels=torch.ones(2, dtype=torch.long)),
            "VideoDataSample.gt_instances.labels has 2 entries for the 0 tubes of VideoDataSample.gt_instances.masks",
        ),
        (
            "pred_instances",
            tubes(),
            "VideoDataSample.pred_instances.scores must be a floating point tensor [N], got NoneType",
        ),
        (
            "pred_instances",
            tubes(scores=torch.tensor([1, 0])),
            "VideoDataSample.pred_instances.scores must be a floating point tensor [N], got torch.int64 (2,)",
        ),
    ],
)
def test_bad_tubes_are_refused_naming_field_and_shape(field, value, message):
    sample = VideoDataSample()
    with pytest.raises(TypeError, match=re.escape(message)):
        setattr(sample, field, value)
    assert field not in sample


def test_a_refused_assignment_keeps_the_previous_tubes():
    instances = tubes()
    sample = VideoDataSample(gt_instances=instances)
    with pytest.raises(TypeError, match="gt_instances.masks must be a bool tensor"):
        sample.gt_instances = tubes(masks=torch.zeros(N, T, H, W))
    assert sample.gt_instances is instances and "gt_instances" in sample


def test_tubes_move_with_the_sample():
    sample = VideoDataSample(
        gt_sem_seg=torch.zeros(T, H, W, dtype=torch.long),
        gt_instances=tubes(),
        pred_instances=tubes(scores=torch.tensor([0.5, 0.25])),
    )
    # The meta device stands in for an accelerator: it checks where every tensor goes without one.
    moved = sample.to("meta")
    for instances in (moved.gt_instances, moved.pred_instances):
        assert isinstance(instances, InstanceData)
        assert all(value.device.type == "meta" for value in instances.values())
        assert instances.masks.shape == (N, T, H, W) and instances.masks.dtype == torch.bool
    assert moved.pred_instances.scores.device.type == "meta" and moved.gt_sem_seg.device.type == "meta"
    assert sample.gt_instances.masks.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tubes_move_to_cuda_and_back():
    sample = VideoDataSample(gt_instances=tubes())
    sample.gt_instances.masks[0, 1, 2, 3] = True
    on_device = sample.cuda()
    assert on_device.gt_instances.masks.is_cuda and on_device.gt_instances.track_ids.is_cuda
    assert torch.equal(on_device.cpu().gt_instances.masks, sample.gt_instances.masks)
