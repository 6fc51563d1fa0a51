import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from steadyseg.datasets import COCOPeopleDataset, VideoDataError
from steadyseg.rle import encode_rle

H, W = 20, 30
PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_instances=True),
    dict(type="PackVideoInputs", meta_keys=("video_id", "frame_indices", "fps", "instance_annotation_ids")),
]

# ------------------------------------------------------------------------------------ the real data


@pytest.fixture(scope="module")
def coco_root(shared_data) -> Path:
    return shared_data / "coco_people"


@pytest.fixture(scope="module")
def coco(coco_root) -> COCO:
    return COCO(str(coco_root / "annotations" / "instances.json"))


def test_real_counts_of_people_and_negatives(coco_root):
    dataset = COCOPeopleDataset(coco_root)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    with_people = [info for info in infos if info["instance_annotation_ids"]]
    assert len(infos) == 128 and len(with_people) == 61
    assert sum(len(info["instance_annotation_ids"]) for info in infos) == 254
    assert all(info["num_video_frames"] == 1 and len(info["frame_paths"]) == 1 for info in infos)
    assert all(Path(info["frame_paths"][0]).stem == info["video_id"] for info in infos)
    assert len(COCOPeopleDataset(coco_root, include_negatives=False)) == 61


def test_real_area_filter_matches_the_rasterized_json(coco_root, coco):
    min_area = 2000
    people = coco.loadAnns(coco.getAnnIds(catIds=[1]))
    kept = [a for a in people if coco.annToMask(a).sum() >= min_area]
    assert 0 < len(kept) < len(people)
    dataset = COCOPeopleDataset(coco_root, min_person_area=min_area)
    listed = [i for k in range(len(dataset)) for i in dataset.get_data_info(k)["instance_annotation_ids"]]
    assert sorted(listed) == sorted(a["id"] for a in kept)
    # A small person is ignored, never background.
    small = next(a for a in people if coco.annToMask(a).sum() < min_area)
    name = Path(coco.imgs[small["image_id"]]["file_name"]).stem
    sample = COCOPeopleDataset(
        coco_root, min_person_area=min_area, sequences=[name], pipeline=PIPELINE, test_mode=True
    )[0]
    sem_seg = sample["data_samples"].gt_sem_seg[0].numpy()
    others = [a for a in people if a["image_id"] == small["image_id"] and a["id"] != small["id"]]
    alone = coco.annToMask(small) > 0
    for other in others:
        alone &= coco.annToMask(other) == 0
    assert alone.any() and (sem_seg[alone] == 255).all()


def test_real_masks_equal_pycocotools(coco_root, coco):
    dataset = COCOPeopleDataset(coco_root, include_negatives=False, pipeline=PIPELINE, test_mode=True)
    for index in range(0, len(dataset), 6):
        sample = dataset[index]["data_samples"]
        image_id = dataset.get_data_info(index)["ann_image_id"]
        annotations = sorted(
            coco.loadAnns(coco.getAnnIds(imgIds=[image_id], catIds=[1])), key=lambda a: a["id"]
        )
        masks = [coco.annToMask(a) > 0 for a in annotations]
        np.testing.assert_array_equal(sample.gt_sem_seg[0].numpy(), np.any(masks, axis=0).astype(np.int64))
        assert sample.instance_annotation_ids == [a["id"] for a in annotations]
        # Ids are 1..N in annotation id order, each instance its whole mask, overlaps included.
        instances = sample.gt_instances
        assert instances.track_ids.tolist() == list(range(1, len(masks) + 1))
        assert instances.masks.shape == (len(masks), 1, *masks[0].shape)
        np.testing.assert_array_equal(instances.masks[:, 0].numpy(), np.stack(masks))


def test_real_negatives_are_all_background(coco_root, coco):
    negatives = [img for img in coco.dataset["images"] if not coco.getAnnIds(imgIds=[img["id"]], catIds=[1])]
    assert len(negatives) == 67
    names = [Path(img["file_name"]).stem for img in negatives[:3]]
    dataset = COCOPeopleDataset(coco_root, sequences=names, pipeline=PIPELINE, test_mode=True)
    for index in range(len(dataset)):
        sample = dataset[index]["data_samples"]
        assert not sample.gt_sem_seg.any() and len(sample.gt_instances) == 0
        assert sample.gt_instances.masks.shape == (0, *sample.gt_sem_seg.shape)


# ---------------------------------------------------------------------------------- a tiny hand JSON


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


PERSON_A = box(2, 2, 10, 12)  # compressed RLE
PERSON_B = box(8, 10, 14, 18)  # uncompressed RLE, overlapping A
CROWD = box(20, 0, 30, 6)
SMALL = box(16, 16, 18, 18)  # 4 pixels
BICYCLE = box(20, 10, 28, 16)


def compressed(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def tiny_json(categories=None) -> dict:
    def annotation(ann_id, category, segmentation, iscrowd=0, image_id=1):
        return dict(
            id=ann_id, image_id=image_id, category_id=category, segmentation=segmentation, iscrowd=iscrowd
        )

    return dict(
        images=[
            dict(id=1, file_name="street.png", height=H, width=W),
            dict(id=2, file_name="empty.png", height=H, width=W),
        ],
        annotations=[
            annotation(11, 1, encode_rle(PERSON_B, compressed=False)),
            annotation(4, 1, compressed(PERSON_A)),
            annotation(5, 1, encode_rle(CROWD, compressed=False), iscrowd=1),
            annotation(6, 1, compressed(SMALL)),
            annotation(7, 2, compressed(BICYCLE)),
            annotation(8, 2, compressed(box(0, 0, 5, 5)), image_id=2),
        ],
        categories=categories or [dict(id=1, name="person"), dict(id=2, name="bicycle")],
    )


def write_coco(root: Path, content: dict, images: bool = True) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    if images:
        for image in content["images"]:
            cv2.imwrite(str(root / "images" / image["file_name"]), np.full((H, W, 3), 90, np.uint8))
    (root / "annotations" / "instances.json").write_text(json.dumps(content))
    return root


def test_hand_json_crowd_is_ignored_and_other_categories_background(tmp_path):
    root = write_coco(tmp_path / "coco", tiny_json())
    dataset = COCOPeopleDataset(root, pipeline=PIPELINE, min_person_area=5, test_mode=True)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info["video_id"] == "street" and info["label_mode"] == "instance" and info["fps"] is None
    sample = dataset[0]["data_samples"]
    assert sample.instance_annotation_ids == [4, 11] and sample.frame_indices == [0]
    expected = np.zeros((H, W), np.int64)
    expected[CROWD | SMALL] = 255
    expected[PERSON_A | PERSON_B] = 1
    np.testing.assert_array_equal(sample.gt_sem_seg[0].numpy(), expected)
    instances = sample.gt_instances
    assert instances.track_ids.tolist() == [1, 2] and instances.labels.tolist() == [1, 1]
    # Both people keep their overlap.
    assert (PERSON_A & PERSON_B).sum() == 4
    np.testing.assert_array_equal(instances.masks[:, 0].numpy(), np.stack([PERSON_A, PERSON_B]))
    # The negative image has only a bicycle: all background.
    assert not dataset[1]["data_samples"].gt_sem_seg.any()
    assert len(COCOPeopleDataset(root, include_negatives=False)) == 1
    # Without the area filter the small person is instance 2 (annotation id order 4, 6, 11).
    assert COCOPeopleDataset(root).get_data_info(0)["instance_annotation_ids"] == [4, 6, 11]


def test_hand_json_polygon_equals_pycocotools(tmp_path):
    content = tiny_json()
    content["annotations"][1]["segmentation"] = [[2.5, 3.0, 11.0, 2.0, 9.5, 14.2, 3.0, 12.0]]
    root = write_coco(tmp_path / "coco", content)
    sample = COCOPeopleDataset(root, pipeline=PIPELINE, sequences=["street"], test_mode=True)[0][
        "data_samples"
    ]
    polygon = COCO(str(root / "annotations" / "instances.json")).annToMask(content["annotations"][1]) > 0
    np.testing.assert_array_equal(sample.gt_instances.masks[0, 0].numpy(), polygon)


def test_300_people_of_one_image_are_300_instances(tmp_path):
    # More people than a uint8 id map holds; person k covers column k % W of row k // W, so none overlap.
    content = tiny_json()
    content["annotations"] = [
        dict(
            id=100 + k,
            image_id=1,
            category_id=1,
            segmentation=compressed(box(k % W, k // W, k % W + 1, k // W + 1)),
        )
        for k in range(300)
    ]
    root = write_coco(tmp_path / "crowded", content)
    sample = COCOPeopleDataset(root, pipeline=PIPELINE, sequences=["street"], test_mode=True)[0][
        "data_samples"
    ]
    assert sample.instance_annotation_ids == list(range(100, 400))
    assert sample.gt_instances.track_ids.tolist() == list(range(1, 301))
    masks = sample.gt_instances.masks[:, 0]
    assert masks.shape == (300, H, W) and masks.flatten(1).sum(1).tolist() == [1] * 300
    assert bool(masks[299, 299 // W, 299 % W]) and sample.gt_sem_seg[0, :10].all()


def test_errors_name_the_file(tmp_path):
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path / 'annotations/instances.json'}: annotation")
    ):
        COCOPeopleDataset(tmp_path)
    root = write_coco(tmp_path / "no_images", tiny_json(), images=False)
    with pytest.raises(VideoDataError, match=re.escape(f"{root / 'images' / 'street.png'}: image 1 of")):
        COCOPeopleDataset(root)
    root = write_coco(tmp_path / "no_person", tiny_json(categories=[dict(id=2, name="bicycle")]))
    with pytest.raises(
        VideoDataError, match="instances.json: person category id 1 not in 'categories' \\[2\\]"
    ):
        COCOPeopleDataset(root)
    (root / "annotations" / "instances.json").write_text("[1, 2]")
    with pytest.raises(VideoDataError, match="instances.json: not a COCO JSON object"):
        COCOPeopleDataset(root)
