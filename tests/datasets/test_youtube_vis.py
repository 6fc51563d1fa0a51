import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from steadyseg.datasets import VideoDataError, YouTubeVISPeopleDataset
from steadyseg.rle import encode_rle

H, W = 5, 4
PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_instances=True),
    dict(type="PackVideoInputs", meta_keys=("video_id", "frame_indices", "fps", "track_annotation_ids")),
]

# ------------------------------------------------------------------------------------- the dataset


def person_masks(t: int) -> dict[int, np.ndarray | None]:
    """Person annotations of video vid_a at frame t: annotation 3 and 7 (absent at frame 1), overlapping
    at one pixel."""
    m3 = np.zeros((H, W), bool)
    m3[t : t + 2, 0:2] = True
    m7 = np.zeros((H, W), bool)
    m7[1:4, 2:4] = True
    m7[t + 1, 1] = True
    return {3: m3, 7: None if t == 1 else m7}


def crowd_mask() -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[0:2] = True
    return mask


def ytvis_json(person_id=1, person_name="person") -> dict:
    """2 videos x 3 frames: vid_a with person tracks 3 (count lists) and 7 (compressed strings) and an
    animal; vid_b with a crowd of people on frame 0 and an animal."""
    animal = np.zeros((H, W), bool)
    animal[4, :] = True
    videos = [
        dict(id=vid, file_names=[f"{name}/{t * 5:05d}.jpg" for t in range(3)], height=H, width=W, length=3)
        for vid, name in ((1, "vid_a"), (2, "vid_b"))
    ]

    def annotation(ann_id, video, category, segmentations, iscrowd=0):
        return dict(
            id=ann_id,
            video_id=video,
            category_id=category,
            segmentations=segmentations,
            iscrowd=iscrowd,
            areas=[None if s is None else 1 for s in segmentations],
        )

    frames = [person_masks(t) for t in range(3)]
    return dict(
        info={},
        videos=videos,
        annotations=[
            annotation(7, 1, person_id, [None if f[7] is None else encode_rle(f[7]) for f in frames]),
            annotation(3, 1, person_id, [encode_rle(f[3], compressed=False) for f in frames]),
            annotation(5, 1, 2, [encode_rle(animal)] * 3),
            annotation(9, 2, person_id, [encode_rle(crowd_mask()), None, None], iscrowd=1),
            annotation(10, 2, 2, [encode_rle(animal, compressed=False)] * 3),
        ],
        categories=[dict(id=person_id, name=person_name), dict(id=2, name="giant_panda")],
    )


def write_ytvis(root: Path, content: dict, ann_file: Path, img_dir: str = "JPEGImages") -> Path:
    for video in content["videos"]:
        for t, file_name in enumerate(video["file_names"]):
            path = root / img_dir / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.full((H, W, 3), 30 * t, np.uint8))
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(content))
    return root


@pytest.fixture
def ytvis2019(tmp_path) -> Path:
    """The YouTube-VIS 2019 layout: ytvis_2019/train/JPEGImages/<video>/<frame>.jpg and ytvis_2019/train.json."""
    return write_ytvis(
        tmp_path / "ytvis_2019" / "train", ytvis_json(), tmp_path / "ytvis_2019" / "train.json"
    )


def test_person_tracks_become_instances_and_their_union_person(ytvis2019):
    dataset = YouTubeVISPeopleDataset(ytvis2019, "../train.json", pipeline=PIPELINE, test_mode=True)
    assert len(dataset) == 2 and dataset.metainfo["classes"] == ("background", "person")
    info = dataset.get_data_info(0)
    assert info["video_id"] == "vid_a" and info["ann_video_id"] == 1 and info["label_mode"] == "instance"
    assert info["frame_paths"][2] == str(ytvis2019 / "JPEGImages" / "vid_a" / "00010.jpg")
    sample = dataset[0]["data_samples"]
    # Track k is the k-th person annotation by id: track 1 = annotation 3, track 2 = annotation 7.
    assert sample.track_annotation_ids == [3, 7] and sample.fps == 6
    instances = sample.gt_instances
    assert instances.track_ids.tolist() == [1, 2] and instances.labels.tolist() == [1, 1]
    assert instances.masks.dtype == torch.bool and instances.masks.shape == (2, 3, H, W)
    for t in range(3):
        masks = person_masks(t)
        track_2 = np.zeros((H, W), bool) if masks[7] is None else masks[7]
        np.testing.assert_array_equal(sample.gt_sem_seg[t].numpy(), masks[3] | track_2)  # not the animal
        # Each track keeps its whole mask, the pixel where they overlap included; track 2 skips frame 1.
        np.testing.assert_array_equal(instances.masks[0, t].numpy(), masks[3])
        np.testing.assert_array_equal(instances.masks[1, t].numpy(), track_2)
    assert (instances.masks[0] & instances.masks[1]).sum() == 2  # one pixel in frames 0 and 2


def test_crowd_regions_are_ignored(ytvis2019):
    dataset = YouTubeVISPeopleDataset(
        ytvis2019, "../train.json", pipeline=PIPELINE, test_mode=True, sequences=["vid_b"]
    )
    sample = dataset[0]["data_samples"]
    assert sample.track_annotation_ids == []
    expected = np.where(crowd_mask(), 255, 0)
    np.testing.assert_array_equal(sample.gt_sem_seg[0].numpy(), expected)
    assert not sample.gt_sem_seg[1:].any()
    assert len(sample.gt_instances) == 0 and sample.gt_instances.masks.shape == (0, 3, H, W)


def test_300_tracks_of_one_video_are_300_tubes(tmp_path):
    # More tracks than a uint8 id map holds; track k covers pixel k % 20 of the 5 x 4 frame, so they overlap.
    content = ytvis_json()
    flat_masks = np.eye(H * W, dtype=bool)
    content["annotations"] = [
        dict(
            id=1000 + k,
            video_id=1,
            category_id=1,
            iscrowd=0,
            segmentations=[encode_rle(flat_masks[k % (H * W)].reshape(H, W)), None, None],
        )
        for k in range(300)
    ]
    root = write_ytvis(tmp_path / "train", content, tmp_path / "train.json")
    dataset = YouTubeVISPeopleDataset(
        root, "../train.json", pipeline=PIPELINE, test_mode=True, sequences=["vid_a"]
    )
    sample = dataset[0]["data_samples"]
    assert sample.track_annotation_ids == list(range(1000, 1300))
    assert sample.gt_instances.track_ids.tolist() == list(range(1, 301))
    masks = sample.gt_instances.masks
    assert masks.shape == (300, 3, H, W) and not masks[:, 1:].any()
    for k in (0, 19, 20, 299):
        assert masks[k, 0].flatten().nonzero().flatten().tolist() == [k % (H * W)]


def test_chunks_decode_only_their_frames(ytvis2019):
    dataset = YouTubeVISPeopleDataset(
        ytvis2019, "../train.json", pipeline=PIPELINE, test_mode=True, clip_len=2, sequences=["vid_a"]
    )
    assert len(dataset) == 2
    sample = dataset[1]["data_samples"]
    assert sample.frame_indices == [2] and sample.gt_sem_seg.shape == (1, H, W)
    assert sample.gt_instances.track_ids.tolist() == [1, 2]
    np.testing.assert_array_equal(sample.gt_instances.masks[1, 0].numpy(), person_masks(2)[7])


def test_2021_category_26_and_ovis_layout(tmp_path):
    root = write_ytvis(
        tmp_path / "ytvis_2021" / "train",
        ytvis_json(person_id=26),
        tmp_path / "ytvis_2021" / "train" / "instances.json",
    )
    dataset = YouTubeVISPeopleDataset(root, "instances.json", version=2021, pipeline=PIPELINE, test_mode=True)
    assert dataset[0]["data_samples"].track_annotation_ids == [3, 7]

    ovis = tmp_path / "ovis"
    ann_file = ovis / "annotations" / "annotations_train.json"
    write_ytvis(ovis / "train", ytvis_json(person_name="Person"), ann_file, img_dir="")
    dataset = YouTubeVISPeopleDataset(
        ovis / "train", ann_file, version="ovis", pipeline=PIPELINE, test_mode=True
    )
    assert dataset.get_data_info(0)["frame_paths"][0] == str(ovis / "train" / "vid_a" / "00000.jpg")
    assert dataset.get_data_info(0)["fps"] is None
    assert dataset[0]["data_samples"].gt_sem_seg.sum() > 0


def test_person_category_override_and_skipping_videos_without_people(tmp_path):
    content = ytvis_json(person_id=4)
    content["annotations"] = [a for a in content["annotations"] if a["id"] != 9]  # vid_b: only the animal
    root = write_ytvis(tmp_path / "train", content, tmp_path / "train.json")
    dataset = YouTubeVISPeopleDataset(root, tmp_path / "train.json", person_category_id=4)
    assert [dataset.get_data_info(i)["video_id"] for i in range(len(dataset))] == ["vid_a", "vid_b"]
    assert dataset.get_data_info(1)["mask_rles"] == [[], [], []]
    dataset = YouTubeVISPeopleDataset(
        root, tmp_path / "train.json", person_category_id=4, skip_videos_without_people=True
    )
    assert len(dataset) == 1 and dataset.get_data_info(0)["video_id"] == "vid_a"


def test_json_without_annotations_is_unlabelled(tmp_path):
    content = ytvis_json()
    content["annotations"] = None  # as YouTube-VIS 2019 valid.json
    root = write_ytvis(tmp_path / "valid", content, tmp_path / "valid.json")
    dataset = YouTubeVISPeopleDataset(
        root, "../valid.json", pipeline=[dict(type="LoadVideoClip")], test_mode=True
    )
    info = dataset.get_data_info(0)
    assert info["label_mode"] is None and "mask_rles" not in info
    assert len(dataset[1]["imgs"]) == 3


def test_synthetic_instances_json_matches_its_annotation_pngs(tiny_synthetic_set):
    split = tiny_synthetic_set / "train"
    dataset = YouTubeVISPeopleDataset(split, "instances.json", pipeline=PIPELINE, test_mode=True)
    assert len(dataset) == 4
    for index in range(len(dataset)):
        sample = dataset[index]["data_samples"]
        assert sample.gt_sem_seg.shape == (8, 64, 64)
        tubes = sample.gt_instances.masks.numpy()
        assert len(tubes) > 0
        for t in range(8):
            ids = np.array(Image.open(split / "Annotations" / sample.video_id / f"{t:05d}.png"))
            np.testing.assert_array_equal(sample.gt_sem_seg[t].numpy(), (ids > 0).astype(np.int64))
            png_masks = sorted((ids == i).tobytes() for i in np.unique(ids) if i > 0)
            assert sorted(m.tobytes() for m in tubes[:, t] if m.any()) == png_masks


# --------------------------------------------------------------------------------------- bad input


def break_json(tmp_path, change) -> tuple[Path, Path]:
    ann_file = tmp_path / "train.json"
    root = write_ytvis(tmp_path / "train", ytvis_json(), ann_file)
    content = ytvis_json()
    change(content)
    ann_file.write_text(json.dumps(content))
    return root, ann_file


def annotation(content, ann_id):
    return next(a for a in content["annotations"] if a["id"] == ann_id)


def video(content, video_id):
    return next(v for v in content["videos"] if v["id"] == video_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: annotation(c, 7)["segmentations"].pop(),
            "annotation 7 of video 'vid_a' has 2 segmentations for 3 frames",
        ),
        (
            lambda c: annotation(c, 3)["segmentations"][2].update(size=[W, H]),
            "annotation 3 of video 'vid_a', frame 2: RLE size [4, 5] differs from the video's "
            "[height, width] [5, 4]",
        ),
        (lambda c: video(c, 2).update(length=4), "video 'vid_b' has length 4 but 3 file_names"),
        (lambda c: annotation(c, 3).update(video_id=99), "annotation 3 refers to unknown video id 99"),
        (lambda c: video(c, 1).pop("height"), "video 1 lacks ['height']"),
        (lambda c: c["categories"].pop(0), "person category id 1 (version 2019) not in 'categories' [2]"),
        (lambda c: c["categories"][0].update(name="dog"), "category 1 is 'dog', not 'person'"),
        (lambda c: c.pop("videos"), "no 'videos' list"),
    ],
)
def test_bad_json_names_the_file_and_video(tmp_path, change, message):
    root, ann_file = break_json(tmp_path, change)
    with pytest.raises(VideoDataError, match=re.escape(f"{ann_file}: {message}")):
        YouTubeVISPeopleDataset(root, ann_file)


def test_wrong_version_for_the_file(ytvis2019):
    ann_file = ytvis2019 / "../train.json"
    with pytest.raises(VideoDataError, match=re.escape(f"{ann_file}: person category id 26 (version 2021)")):
        YouTubeVISPeopleDataset(ytvis2019, "../train.json", version=2021)
    with pytest.raises(
        ValueError, match=re.escape("version must be one of [2019, 2021, 'ovis'], got '2019'")
    ):
        YouTubeVISPeopleDataset(ytvis2019, "../train.json", version="2019")


def test_missing_and_invalid_files(tmp_path, ytvis2019):
    with pytest.raises(
        VideoDataError, match=re.escape(f"{ytvis2019 / 'none.json'}: annotation file not found")
    ):
        YouTubeVISPeopleDataset(ytvis2019, "none.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'broken.json'}: invalid JSON")):
        YouTubeVISPeopleDataset(ytvis2019, tmp_path / "broken.json")
    for path in (ytvis2019 / "JPEGImages" / "vid_b").iterdir():
        path.unlink()
    (ytvis2019 / "JPEGImages" / "vid_b").rmdir()
    with pytest.raises(
        VideoDataError,
        match=re.escape(f"{ytvis2019 / 'JPEGImages' / 'vid_b'}: frame folder of video 'vid_b'"),
    ):
        YouTubeVISPeopleDataset(ytvis2019, "../train.json")


def test_undecodable_rle_names_json_video_and_frame(tmp_path):
    root, ann_file = break_json(tmp_path, lambda c: annotation(c, 7)["segmentations"][2].update(counts="d"))
    dataset = YouTubeVISPeopleDataset(root, ann_file, pipeline=PIPELINE, test_mode=True)
    dataset[1]  # vid_b is fine: masks are decoded per clip
    message = (
        f"{ann_file} (video 'vid_a', frame 2): bad RLE of track 2 (compressed RLE counts 'd' of size [5, 4] "
        "are not a valid pycocotools string"
    )
    with pytest.raises(VideoDataError, match=re.escape(message)):
        dataset[0]


def test_frame_size_must_match_the_json(ytvis2019):
    cv2.imwrite(str(ytvis2019 / "JPEGImages" / "vid_a" / "00005.jpg"), np.zeros((H + 1, W, 3), np.uint8))
    dataset = YouTubeVISPeopleDataset(
        ytvis2019, "../train.json", pipeline=PIPELINE, test_mode=True, clip_len=1, sequences=["vid_a"]
    )
    message = (
        f"{ytvis2019 / '../train.json'} (video 'vid_a', frame 1): RLE size (5, 4) of track 1 differs from its "
        "frame's (6, 4)"
    )
    with pytest.raises(VideoDataError, match=re.escape(message)):
        dataset[1]
