import re

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from steadyseg.datasets import DAVISDataset, VideoDataError

EVAL_PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_instances=True),
    dict(type="PackVideoInputs"),
]


def test_davis2016_hike_chunks(shared_data):
    dataset = DAVISDataset(
        shared_data / "davis_people", pipeline=EVAL_PIPELINE, sequences=["hike"], test_mode=True, clip_len=8
    )
    assert len(dataset) == 10  # 80 frames / 8
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info["frame_indices"][0] for info in infos] == list(range(0, 80, 8))
    assert [info["is_first_clip"] for info in infos] == [True] + [False] * 9
    assert dataset.metainfo["classes"] == ("background", "person")
    sample = dataset[9]
    assert sample["inputs"].shape == (8, 3, 480, 854)
    data_sample = sample["data_samples"]
    assert data_sample.gt_sem_seg.shape == (8, 480, 854)
    assert set(data_sample.gt_sem_seg.unique().tolist()) == {0, 1}
    assert data_sample.frame_indices == list(range(72, 80))
    assert data_sample.video_id == "hike" and data_sample.num_video_frames == 80 and data_sample.fps == 24
    assert data_sample.gt_instances.track_ids.tolist() == [1]
    assert torch.equal(data_sample.gt_instances.masks[0], data_sample.gt_sem_seg == 1)


def test_davis2016_all_sequences_in_training_and_whole_videos_in_test(shared_data):
    train = DAVISDataset(shared_data / "davis_people")
    assert [train.get_data_info(i)["video_id"] for i in range(len(train))] == [
        "bmx-trees",
        "breakdance",
        "breakdance-flare",
        "car-shadow",
        "dance-twirl",
        "hike",
        "kite-walk",
        "paragliding-launch",
        "rollerblade",
        "swing",
        "tennis",
    ]
    assert train.get_data_info(8)["num_video_frames"] == 35
    assert "frame_indices" not in train.get_data_info(0)
    test = DAVISDataset(shared_data / "davis_people", sequences=["rollerblade", "car-shadow"], test_mode=True)
    assert [
        (test.get_data_info(i)["video_id"], len(test.get_data_info(i)["frame_indices"])) for i in range(2)
    ] == [
        ("rollerblade", 35),
        ("car-shadow", 40),
    ]


def test_davis2017_instances_from_palette_ids(davis2017_root):
    dataset = DAVISDataset(davis2017_root, year=2017, split="val", pipeline=EVAL_PIPELINE, test_mode=True)
    assert len(dataset) == 1
    sample = dataset[0]["data_samples"]
    assert sample.gt_sem_seg.shape == (6, 240, 432)
    # The four girls (1, 3, 5, 7) and their backpacks (2, 4, 6): every DAVIS object counts as person.
    instances = sample.gt_instances
    assert instances.track_ids.tolist() == [1, 2, 3, 4, 5, 6, 7] and instances.labels.tolist() == [1] * 7
    assert instances.masks.shape == (7, 6, 240, 432)
    assert torch.equal(instances.masks.any(0), sample.gt_sem_seg == 1)
    raw = np.array(Image.open(davis2017_root / "Annotations" / "480p" / "schoolgirls" / "00002.png"))
    for mask, track in zip(instances.masks[:, 2], instances.track_ids.tolist()):
        assert torch.equal(mask, torch.from_numpy(raw == track))
    assert torch.equal(sample.gt_sem_seg[2], torch.from_numpy((raw > 0).astype(np.int64)))


def test_davis_2016_release_split_file_of_paths(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2, "b": 3, "c": 1})
    (root / "ImageSets" / "2016").mkdir(parents=True)
    (root / "ImageSets" / "2016" / "train.txt").write_text(
        "/JPEGImages/480p/c/00000.jpg /Annotations/480p/c/00000.png\n"
        "/JPEGImages/480p/a/00000.jpg /Annotations/480p/a/00000.png\n"
        "/JPEGImages/480p/a/00001.jpg /Annotations/480p/a/00001.png\n"
    )
    dataset = DAVISDataset(root, split="train")
    assert [dataset.get_data_info(i)["video_id"] for i in range(len(dataset))] == ["c", "a"]


def test_missing_layout_folder(tmp_path):
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path / 'JPEGImages' / '480p'}: folder not found")
    ):
        DAVISDataset(tmp_path)


def test_empty_frame_folder(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2})
    (root / "JPEGImages" / "480p" / "empty").mkdir()
    (root / "Annotations" / "480p" / "empty").mkdir()
    with pytest.raises(
        VideoDataError, match=re.escape(f"{root / 'JPEGImages' / '480p' / 'empty'}: empty folder")
    ):
        DAVISDataset(root)


def test_mask_count_mismatch_at_load(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 3})
    (root / "Annotations" / "480p" / "a" / "00002.png").unlink()
    with pytest.raises(
        VideoDataError, match=re.escape(f"{root / 'Annotations' / '480p' / 'a'}: 2 mask files for 3")
    ):
        DAVISDataset(root)


def test_mask_names_must_match_frames(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2})
    mask_dir = root / "Annotations" / "480p" / "a"
    (mask_dir / "00001.png").rename(mask_dir / "00007.png")
    with pytest.raises(
        VideoDataError, match=re.escape(f"{mask_dir / '00007.png'}: mask file does not match frame")
    ):
        DAVISDataset(root)


def test_unknown_sequence(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2})
    with pytest.raises(VideoDataError, match=r"sequences \['zzz'\] not found"):
        DAVISDataset(root, sequences=["zzz"])


def test_mask_with_labels_outside_classes(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2})
    bad = root / "Annotations" / "480p" / "a" / "00001.png"
    mask = np.zeros((24, 32), np.uint8)
    mask[0, 0] = 3
    cv2.imwrite(str(bad), mask)
    dataset = DAVISDataset(root, pipeline=EVAL_PIPELINE, test_mode=True)
    with pytest.raises(VideoDataError, match=re.escape(f"{bad}: values [3] in a binary mask")):
        dataset[0]


def test_mask_of_wrong_size(tmp_path, tiny_davis):
    root = tiny_davis(tmp_path, {"a": 2})
    bad = root / "Annotations" / "480p" / "a" / "00000.png"
    cv2.imwrite(str(bad), np.zeros((20, 32), np.uint8))
    dataset = DAVISDataset(root, pipeline=EVAL_PIPELINE, test_mode=True)
    with pytest.raises(
        VideoDataError, match=re.escape(f"{bad}: size (20, 32) differs from its frame's (24, 32)")
    ):
        dataset[0]


def test_bad_year():
    with pytest.raises(ValueError, match="year must be 2016 or 2017"):
        DAVISDataset("unused", year=2018)


def test_instance_masks_read_as_davis2016_suggest_year_2017(tmp_path, tiny_davis, palette_png):
    root = tiny_davis(tmp_path, {"a": 2})
    first = root / "Annotations" / "480p" / "a" / "00000.png"
    ids = np.zeros((24, 32), np.uint8)
    ids[2:8, 2:8], ids[10:20, 10:20] = 1, 2
    palette_png(first, ids)
    with pytest.raises(
        VideoDataError, match=re.escape(f"{first}: values [1, 2] in a DAVIS 2016") + ".*year=2017"
    ):
        DAVISDataset(root)
    assert len(DAVISDataset(root, year=2017)) == 1
