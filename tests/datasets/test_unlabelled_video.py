"""UnlabelledVideoDataset: real videos without ground truth as training clips with all-ignore labels."""

import re

import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset, pseudo_collate
from mmengine.registry import init_default_scope

from steadyseg.datasets import LoadClipAnnotations, UnlabelledVideoDataset, VideoDataError
from steadyseg.registry import DATASETS, MODELS
from tests.models.tiny_components import BACKBONE, HEAD

DAVIS_UNLABELLED = [
    "bmx-bumps",
    "horsejump-low",
    "kite-surf",
    "motocross-bumps",
    "motocross-jump",
    "motorbike",
    "scooter-black",
    "scooter-gray",
    "soapbox",
    "stroller",
    "surf",
]
PIPELINE = [
    dict(type="SampleClipFrames", clip_len=3, stride_range=(1, 3)),
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations"),
    dict(type="PackVideoInputs"),
]


def video_ids(dataset):
    return [dataset.get_data_info(i)["video_id"] for i in range(len(dataset))]


def test_davis_unlabelled_gives_training_clips_with_all_ignore_labels(shared_data):
    dataset = DATASETS.build(
        dict(
            type="UnlabelledVideoDataset",
            data_root=str(shared_data / "people_videos" / "davis_unlabelled"),
            pipeline=PIPELINE,
        )
    )
    assert video_ids(dataset) == DAVIS_UNLABELLED
    assert not dataset.test_mode and dataset.get_data_info(0)["label_mode"] is None
    np.random.seed(0)
    packed = dataset[DAVIS_UNLABELLED.index("surf")]
    sample = packed["data_samples"]
    assert packed["inputs"].shape == (3, 3, 480, 854)
    assert sample.video_id == "surf" and len(sample.frame_indices) == 3 and sample.is_first_clip
    assert sample.gt_sem_seg.shape == (3, 480, 854) and sample.gt_sem_seg.dtype == torch.int64
    assert (sample.gt_sem_seg == 255).all()


def test_glob_and_list_file_entries_are_under_data_root(shared_data, tmp_path):
    scooters = UnlabelledVideoDataset(shared_data, videos="people_videos/davis_unlabelled/s*.mp4")
    assert video_ids(scooters) == ["scooter-black", "scooter-gray", "soapbox", "stroller", "surf"]
    frames = tmp_path / "walk"
    frames.mkdir()
    for t in range(2):
        (frames / f"{t:05d}.png").write_bytes(
            (shared_data / "davis_schoolgirls/masks/00000.png").read_bytes()
        )
    listing = tmp_path / "videos.txt"
    listing.write_text(
        f"# people\npeople_videos/carphone.mp4\n\n  davis_schoolgirls/schoolgirls.mp4\n{frames}\n"
    )
    listed = UnlabelledVideoDataset(shared_data, videos=str(listing), fps=5)
    assert video_ids(listed) == ["carphone", "schoolgirls", "walk"]
    assert listed.get_data_info(2)["num_video_frames"] == 2 and listed.get_data_info(2)["fps"] == 5


def test_bad_paths_are_named(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(VideoDataError, match=re.escape(f"{missing}: no such video file or folder")):
        UnlabelledVideoDataset(missing)
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path / 'list.txt'}: video list file not found")
    ):
        UnlabelledVideoDataset(tmp_path, videos="list.txt")
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path / 'empty.txt'}: the video list file lists no")
    ):
        UnlabelledVideoDataset(tmp_path, videos="empty.txt")
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path / '*.mp4'}: the pattern matches no video")
    ):
        UnlabelledVideoDataset(tmp_path, videos="*.mp4")
    (tmp_path / "listed.txt").write_text("gone.mp4\n")
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'gone.mp4'}: video file not found")):
        UnlabelledVideoDataset(tmp_path, videos="listed.txt")


def test_unlabelled_clips_have_no_instances():
    results = dict(video_id="v", frame_indices=[0], num_video_frames=1, ori_shape=(2, 3), label_mode=None)
    assert LoadClipAnnotations()(dict(results))["gt_seg_maps"][0].tolist() == [[255] * 3] * 2
    assert "gt_seg_maps" not in LoadClipAnnotations(with_sem_seg=False)(dict(results))
    with pytest.raises(VideoDataError, match="v: an unlabelled video .* has no instances"):
        LoadClipAnnotations(with_instances=True)(dict(results))


def test_labelled_and_unlabelled_clips_batch_together(shared_data, tiny_synthetic_set):
    """One ConcatDataset, one pipeline: a batch of a synthetic and a real unlabelled clip trains the model,
    whose label loss then counts only the synthetic clip's pixels."""
    init_default_scope("steadyseg")
    pipeline = [
        dict(type="SampleClipFrames", clip_len=2),
        dict(type="LoadVideoClip"),
        dict(type="LoadClipAnnotations"),
        dict(type="ClipRandomResizedCrop", size=(64, 64)),
        dict(type="PackVideoInputs"),
    ]
    unlabelled_root = shared_data / "people_videos" / "davis_unlabelled"
    dataset = ConcatDataset(
        [
            dict(
                type="SyntheticPeopleDataset",
                data_root=str(tiny_synthetic_set),
                split="train",
                pipeline=pipeline,
            ),
            dict(type="UnlabelledVideoDataset", data_root=str(unlabelled_root), pipeline=pipeline),
        ]
    )
    assert len(dataset) == 4 + 11
    labelled, unlabelled = dataset[0], dataset[4]
    assert (unlabelled["data_samples"].gt_sem_seg == 255).all()
    assert (labelled["data_samples"].gt_sem_seg != 255).any()
    model = MODELS.build(
        dict(
            type="PerFrameVideoSegmentor",
            data_preprocessor=dict(type="VideoDataPreprocessor"),
            segmentor=dict(
                type="EncoderDecoder",
                backbone=BACKBONE,
                decode_head=dict(HEAD, loss_decode=dict(type="CrossEntropyLoss", avg_non_ignore=True)),
            ),
        )
    ).eval()  # BatchNorm with fixed statistics, so the two batches see the same normalization
    data = model.data_preprocessor(pseudo_collate([labelled, unlabelled]), training=True)
    mixed = model(**data, mode="loss")["decode.loss_ce"]
    alone = model(data["inputs"][:1], data["data_samples"][:1], mode="loss")["decode.loss_ce"]
    assert torch.isfinite(mixed)
    torch.testing.assert_close(mixed, alone)
