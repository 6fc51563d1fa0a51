import pytest
import torch
from mmengine.structures import InstanceData

from steadyseg.models import VideoDataPreprocessor
from steadyseg.structures import VideoDataSample

T = 3
PAD_VALUES = {
    "gt_sem_seg": 254,
    "gt_sem_seg_raw": 254,
    "gt_flow": 0,
    "gt_alpha": 0,
    "gt_fgr": 0,
}  # seg_pad_val=254


def annotated_clip(height: int, width: int, seed: int) -> tuple[torch.Tensor, VideoDataSample]:
    """A uint8 clip and a sample with every ground-truth field, random values of the right dtypes."""
    generator = torch.Generator().manual_seed(seed)
    clip = torch.randint(0, 256, (T, 3, height, width), dtype=torch.uint8, generator=generator)
    sample = VideoDataSample(
        gt_sem_seg=torch.randint(0, 3, (T, height, width), generator=generator),
        gt_sem_seg_raw=torch.randint(0, 2, (T, height, width), generator=generator) * 255,  # VSPW voids
        gt_flow=torch.randn(T - 1, 2, height, width, generator=generator),
        gt_alpha=torch.rand(T, 1, height, width, generator=generator) * 0.5 + 0.5,  # never the pad value
        gt_fgr=torch.rand(T, 3, height, width, generator=generator) * 0.5 + 0.5,
    )
    sample.gt_instances = InstanceData(
        masks=torch.ones(2, T, height, width, dtype=torch.bool),
        track_ids=torch.tensor([4, 7]),
        labels=torch.tensor([1, 1]),
    )
    return clip, sample


def test_clips_of_different_sizes_batch_with_every_ground_truth_field_padded():
    preprocessor = VideoDataPreprocessor(seg_pad_val=254)
    (small_clip, small), (large_clip, large) = annotated_clip(5, 7, 0), annotated_clip(6, 4, 1)
    originals = [{name: sample.get(name).clone() for name in PAD_VALUES} for sample in (small, large)]
    out = preprocessor(dict(inputs=[small_clip, large_clip], data_samples=[small, large]), training=True)
    assert out["inputs"].shape == (2, T, 3, 6, 7)
    samples = out["data_samples"]
    # Every field now stacks as the losses stack it.
    assert torch.stack([s.gt_sem_seg for s in samples]).shape == (2, T, 6, 7)
    assert torch.stack([s.gt_sem_seg_raw for s in samples]).shape == (2, T, 6, 7)
    assert torch.stack([s.gt_flow for s in samples]).shape == (2, T - 1, 2, 6, 7)
    assert torch.stack([s.gt_alpha for s in samples]).shape == (2, T, 1, 6, 7)
    assert torch.stack([s.gt_fgr for s in samples]).shape == (2, T, 3, 6, 7)
    assert torch.stack([s.gt_instances.masks for s in samples]).shape == (2, 2, T, 6, 7)
    # The 5 x 7 clip gains one bottom row; the 6 x 4 clip three right columns.
    for sample, before, (height, width) in zip(samples, originals, ((5, 7), (6, 4))):
        for name, pad_value in PAD_VALUES.items():
            padded = sample.get(name)
            assert torch.equal(padded[..., :height, :width], before[name]), name
            assert padded[..., height:, :].eq(pad_value).all(), name
            assert padded[..., :, width:].eq(pad_value).all(), name
        masks = sample.gt_instances.masks
        assert masks.dtype == torch.bool and masks[..., :height, :width].all()
        assert not masks[..., height:, :].any() and not masks[..., :, width:].any()
    assert samples[0].gt_sem_seg.dtype == torch.long and samples[0].gt_flow.dtype == torch.float32
    assert torch.equal(samples[0].gt_instances.track_ids, torch.tensor([4, 7]))


def test_ground_truth_keeps_its_size_at_test_time():
    preprocessor = VideoDataPreprocessor()
    (small_clip, small), (large_clip, large) = annotated_clip(5, 7, 0), annotated_clip(6, 4, 1)
    out = preprocessor(dict(inputs=[small_clip, large_clip], data_samples=[small, large]), training=False)
    assert out["inputs"].shape == (2, T, 3, 6, 7)
    assert out["data_samples"][0].gt_flow.shape == (T - 1, 2, 5, 7)
    assert out["data_samples"][1].gt_instances.masks.shape == (2, T, 6, 4)


def test_ground_truth_larger_than_the_batch_is_an_error():
    clip, sample = annotated_clip(5, 7, 0)
    sample.gt_alpha = torch.zeros(T, 1, 5, 9)
    with pytest.raises(ValueError, match=r"data sample 0's gt_alpha is \(5, 9\) \(H, W\), larger than"):
        VideoDataPreprocessor()(dict(inputs=[clip], data_samples=[sample]), training=True)
