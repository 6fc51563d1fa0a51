"""``AlternatingBatchSampler``: batches of one group at a time (matting or segmentation), groups in a pattern, the
same group on every rank at every iteration."""

import re

import mmengine.dataset.sampler as mmengine_samplers
import numpy as np
import pytest
from mmengine.dataset import BaseDataset, DefaultSampler, InfiniteSampler
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import steadyseg.datasets.alternating_batch_sampler as alternating
from steadyseg.datasets import AlternatingBatchSampler, ConcatVideoDataset

from .test_matting_datasets import write_image_matting, write_video_matte


class Items(BaseDataset):
    """``size`` items that only carry their number."""

    def __init__(self, size: int):
        self.size = size
        super().__init__(serialize_data=False)

    def load_data_list(self) -> list[dict]:
        return [dict(number=i) for i in range(self.size)]


def concatenation(*sizes: int) -> ConcatVideoDataset:
    return ConcatVideoDataset([Items(size) for size in sizes])


def on_rank(monkeypatch, rank: int, world_size: int) -> None:
    for module in (mmengine_samplers, alternating):
        monkeypatch.setattr(module, "get_dist_info", lambda: (rank, world_size))


def batches(sampler: AlternatingBatchSampler, count: int) -> list[list[int]]:
    iterator = iter(sampler)
    return [next(iterator) for _ in range(count)]


# Members 0-1 (items 0..9 and 10..14) are matting, member 2 (items 15..44) segmentation.
SIZES = (10, 5, 30)
GROUPS = ("matting", "matting", "segmentation")


def group_of(index: int) -> str:
    return "matting" if index < 15 else "segmentation"


def test_batches_alternate_between_groups_in_the_pattern():
    dataset = concatenation(*SIZES)
    sampler = AlternatingBatchSampler(DefaultSampler(dataset, seed=0), 3, GROUPS)
    # 45 items, batches of 3: 15 batches an epoch, half of them matting although matting is a third of the data.
    assert len(sampler) == 15
    epoch = list(sampler)
    assert len(epoch) == 15 and all(len(batch) == 3 for batch in epoch)
    kinds = [{group_of(i) for i in batch} for batch in epoch]
    assert kinds == [{"matting"}, {"segmentation"}] * 7 + [{"matting"}]
    # A group's batches go through its items before repeating any: 8 matting batches = 24 draws of 15 items.
    matting = [i for batch in epoch[::2] for i in batch]
    assert sorted(matting[:15]) == list(range(15)) and len(set(matting)) == 15
    segmentation = [i for batch in epoch[1::2] for i in batch]
    assert len(set(segmentation)) == len(segmentation) == 21 and min(segmentation) >= 15


def test_ratio_and_group_batch_sizes():
    dataset = concatenation(*SIZES)
    sampler = AlternatingBatchSampler(
        DefaultSampler(dataset, seed=1),
        2,
        GROUPS,
        pattern=("matting", "matting", "segmentation"),
        group_batch_sizes=dict(segmentation=6),
    )
    sizes_and_kinds = [(len(batch), {group_of(i) for i in batch}) for batch in batches(sampler, 9)]
    assert sizes_and_kinds == [(2, {"matting"}), (2, {"matting"}), (6, {"segmentation"})] * 3


def test_every_rank_trains_on_the_same_group_at_every_iteration(monkeypatch):
    dataset = concatenation(*SIZES)
    per_rank = []
    for rank in (0, 1):
        on_rank(monkeypatch, rank, 2)
        sampler = AlternatingBatchSampler(
            InfiniteSampler(dataset, seed=3), 2, GROUPS, pattern=("segmentation", "matting")
        )
        per_rank.append(batches(sampler, 40))
    kinds = [[{group_of(i) for i in batch} for batch in rank_batches] for rank_batches in per_rank]
    assert kinds[0] == kinds[1] == [{"segmentation"}, {"matting"}] * 20
    # The ranks split the data: the sampler deals each shuffled pass out among them, so early on they share none.
    first = [{i for batch in rank_batches[:4] for i in batch} for rank_batches in per_rank]
    assert len(first[0]) == len(first[1]) == 8 and not first[0] & first[1]
    # An iteration-based run never runs out of batches; a finite sampler ends the epoch at the same count on both
    # ranks: 45 // (2 ranks * 2) = 11.
    assert len(per_rank[0]) == 40
    lengths = []
    for rank in (0, 1):
        on_rank(monkeypatch, rank, 2)
        lengths.append(len(list(AlternatingBatchSampler(DefaultSampler(dataset, seed=3), 2, GROUPS))))
    assert lengths == [11, 11]


def test_bad_configurations_are_refused():
    dataset = concatenation(*SIZES)
    with pytest.raises(ValueError, match=re.escape("name 2 groups for the 3 member datasets")):
        AlternatingBatchSampler(DefaultSampler(dataset), 2, ("matting", "segmentation"))
    with pytest.raises(ValueError, match=re.escape("pattern ['matting'] must use every group")):
        AlternatingBatchSampler(DefaultSampler(dataset), 2, GROUPS, pattern=("matting",))
    with pytest.raises(ValueError, match="group_batch_sizes keys among"):
        AlternatingBatchSampler(DefaultSampler(dataset), 2, GROUPS, group_batch_sizes=dict(seg=4))
    with pytest.raises(TypeError, match="needs a sampler over a ConcatVideoDataset"):
        AlternatingBatchSampler(DefaultSampler(Items(4)), 2, GROUPS)
    with pytest.raises(ValueError, match=re.escape("groups ['segmentation'] have no items")):
        AlternatingBatchSampler(DefaultSampler(concatenation(3, 0)), 2, ("matting", "segmentation"))


def test_runner_builds_one_kind_batches_of_real_clips(tmp_path, synthetic_writer):
    matting_root = write_video_matte(tmp_path / "vm", {"0000": 4, "0001": 4})
    segmentation_root = synthetic_writer(tmp_path / "synthetic", num_frames=4)
    matting = dict(
        type="VideoMatteDataset",
        data_root=str(matting_root),
        pipeline=[
            dict(type="SampleClipFramesAtSpeed", clip_len=2, speed_range=(0.5, 2.0)),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True, with_fgr=True),
            dict(type="ClipResize", scale=(32, 24), keep_ratio=False),
            dict(type="PackVideoInputs"),
        ],
    )
    segmentation = dict(
        type="SyntheticPeopleDataset",
        data_root=str(segmentation_root),
        pipeline=[
            dict(type="SampleClipFrames", clip_len=2),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations"),
            dict(type="ClipResize", scale=(32, 24), keep_ratio=False),
            dict(type="PackVideoInputs"),
        ],
    )
    train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        batch_sampler=dict(
            type="AlternatingBatchSampler",
            dataset_groups=("matting", "segmentation"),
            pattern=("matting", "segmentation", "segmentation"),
        ),
        dataset=dict(type="ConcatVideoDataset", datasets=[matting, segmentation]),
    )
    with DefaultScope.overwrite_default_scope("steadyseg"):
        loader = Runner.build_dataloader(train_dataloader, seed=0)
    np.random.seed(0)
    iterator = iter(loader)
    for kind in ["matting", "segmentation", "segmentation"] * 2:
        samples = next(iterator)["data_samples"]
        assert len(samples) == 2
        with_alpha = {"gt_alpha" in sample for sample in samples}
        assert with_alpha == {kind == "matting"}
        assert all(("gt_sem_seg" in sample) == (kind == "segmentation") for sample in samples)


def test_a_matting_recipe_feeds_the_matting_model_one_kind_at_a_time(tmp_path, shared_data, synthetic_writer):
    """The dataloader of docs/matting.md's recipe on small data: composited VideoMatte clips, animated image-matting
    photos, synthetic video segmentation and COCO photos in one-frame batches, through the model's loss."""
    import torch

    from steadyseg.registry import MODELS

    frames = 2
    backgrounds = dict(
        type="LoadClipBackground",
        images=[shared_data / "backgrounds" / "0001.png"],
        videos=[shared_data / "backgrounds" / "tree.avi"],
        transforms=[dict(type="ColorJitter", brightness=0.15, contrast=0.15, saturation=0.15, hue=0.05)],
    )
    jitter = dict(type="ClipAlbumentations", transforms=[dict(type="ColorJitter", brightness=0.15, hue=0.05)])
    crop = dict(type="ClipRandomResizedCrop", size=(48, 32), scale=(0.3, 1.0))
    matting_tail = [
        crop,
        dict(type="ClipFlip"),
        jitter,
        backgrounds,
        dict(type="ClipComposite", frames_are_foreground=True),
    ]
    video_matte = dict(
        type="VideoMatteDataset",
        data_root=str(write_video_matte(tmp_path / "vm", {"0000": 6})),
        pipeline=[
            dict(type="SampleClipFramesAtSpeed", clip_len=frames, speed_range=(0.5, 5.0)),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
            dict(type="ClipRandomAffineMotion", with_flow=False),
            dict(type="TemporalReverse"),
            *matting_tail,
            dict(type="PackVideoInputs"),
        ],
    )
    image_matting = dict(
        type="ImageMattingDataset",
        data_root=str(write_image_matting(tmp_path / "aim", ["a", "b"])),
        pipeline=[
            dict(type="SampleClipFrames", clip_len=1),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
            dict(type="ClipRandomAffineMotion", num_frames=frames, with_flow=False),
            *matting_tail,
            dict(type="PackVideoInputs"),
        ],
    )
    video_segmentation = dict(
        type="SyntheticPeopleDataset",
        data_root=str(synthetic_writer(tmp_path / "synthetic", num_frames=4)),
        pipeline=[
            dict(type="SampleClipFramesAtSpeed", clip_len=frames, speed_range=(0.5, 2.0)),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations"),
            crop,
            jitter,
            dict(type="PackVideoInputs"),
        ],
    )
    image_segmentation = dict(
        type="COCOPeopleDataset",
        data_root=str(shared_data / "coco_people"),
        include_negatives=False,
        pipeline=[
            dict(type="SampleClipFrames", clip_len=1),
            dict(type="LoadVideoClip"),
            dict(type="LoadClipAnnotations"),
            crop,
            jitter,
            dict(type="PackVideoInputs"),
        ],
    )
    train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        batch_sampler=dict(
            type="AlternatingBatchSampler",
            dataset_groups=("matting", "matting", "video_seg", "image_seg"),
            pattern=("matting", "video_seg", "matting", "image_seg"),
            group_batch_sizes=dict(image_seg=2 * frames),
        ),
        dataset=dict(
            type="ConcatVideoDataset",
            datasets=[video_matte, image_matting, video_segmentation, image_segmentation],
        ),
    )
    losses = [
        dict(type="AlphaL1Loss"),
        dict(type="ForegroundL1Loss"),
        dict(type="SegmentationBCELoss"),
    ]
    with DefaultScope.overwrite_default_scope("steadyseg"):
        loader = Runner.build_dataloader(train_dataloader, seed=0)
        torch.manual_seed(0)
        model = MODELS.build(
            dict(
                type="VideoMattingModel",
                backbone=dict(
                    type="StridedMobileNetV3", arch="small", output_stride=16, out_indices=(0, 1, 3, 8)
                ),
                context=dict(type="LRASPPContext", channels=16),
                decoder=dict(type="RecurrentMattingDecoder", block_channels=(16, 8, 8, 8)),
                refiner=None,
                losses=losses,
                downsample_ratio=1.0,
            )
        )
    np.random.seed(0)
    iterator = iter(loader)
    expected = [
        ("matting", 2, frames, {"loss_alpha_l1", "loss_fgr_l1"}),
        ("video_seg", 2, frames, {"loss_seg_bce"}),
        ("matting", 2, frames, {"loss_alpha_l1", "loss_fgr_l1"}),
        ("image_seg", 2 * frames, 1, {"loss_seg_bce"}),
    ]
    with torch.no_grad():
        for group, batch_size, clip_len, terms in expected:
            batch = next(iterator)
            assert len(batch["inputs"]) == batch_size, group
            assert all(clip.shape == (clip_len, 3, 32, 48) for clip in batch["inputs"]), group
            losses = model(**model.data_preprocessor(batch, True), mode="loss")
            assert set(losses) == terms, group
            assert all(torch.isfinite(value) for value in losses.values()), group
