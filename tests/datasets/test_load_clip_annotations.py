import re

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from steadyseg.datasets import LoadClipAnnotations, PackVideoInputs, VideoDataError
from steadyseg.datasets.transforms.clip_geometry import crop_clip
from steadyseg.rle import encode_rle


def clip_results(mask_paths, indices, shape, label_mode, **extra):
    return dict(
        video_id="clip",
        frame_indices=indices,
        num_video_frames=len(mask_paths),
        mask_paths=[str(p) for p in mask_paths],
        ori_shape=shape,
        label_mode=label_mode,
        **extra,
    )


def test_davis2016_binary_masks_map_255_to_person(shared_data):
    folder = shared_data / "davis_people" / "Annotations" / "480p" / "hike"
    paths = sorted(folder.glob("*.png"))
    results = LoadClipAnnotations(with_instances=True)(clip_results(paths, [0, 40], (480, 854), "binary"))
    for mask, index in zip(results["gt_seg_maps"], [0, 40]):
        raw = np.array(Image.open(paths[index]))
        assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
        np.testing.assert_array_equal(mask, raw == 255)
    # The one DAVIS 2016 object is track 1.
    assert results["gt_instance_track_ids"].tolist() == [1] and results["gt_instance_labels"].tolist() == [1]
    assert results["gt_instance_masks"][1].shape == (480, 854, 1)
    np.testing.assert_array_equal(results["gt_instance_masks"][1][..., 0], results["gt_seg_maps"][1] == 1)


def test_palette_instance_ids_give_person_and_track_ids(shared_data):
    paths = sorted((shared_data / "davis_schoolgirls" / "masks").glob("*.png"))
    results = LoadClipAnnotations(with_instances=True)(clip_results(paths, [3], (240, 432), "instance"))
    raw = np.array(Image.open(paths[3]))
    np.testing.assert_array_equal(results["gt_seg_maps"][0], (raw > 0).astype(np.uint8))
    assert set(np.unique(raw)) == set(range(8))
    assert results["gt_instance_track_ids"].dtype == np.int64
    assert results["gt_instance_track_ids"].tolist() == list(range(1, 8))
    masks = results["gt_instance_masks"][0]
    assert masks.dtype == bool and masks.shape == (240, 432, 7)
    for channel in range(7):
        np.testing.assert_array_equal(masks[..., channel], raw == channel + 1)


def test_instance_void_255_is_ignored(tmp_path, palette_png):
    ids = np.array([[0, 3, 255]], np.uint8)
    palette_png(tmp_path / "00000.png", ids)
    results = LoadClipAnnotations(with_instances=True)(
        clip_results([tmp_path / "00000.png"], [0], (1, 3), "instance")
    )
    assert results["gt_seg_maps"][0].tolist() == [[0, 1, 255]]
    assert results["gt_instance_track_ids"].tolist() == [3]
    assert results["gt_instance_masks"][0][..., 0].tolist() == [[False, True, False]]


def box(x0: int, y0: int, x1: int, y1: int, shape=(6, 8)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


PERSON_1, PERSON_2, CROWD = box(0, 0, 4, 4), box(2, 2, 6, 5), box(5, 0, 8, 3)


def rle_results(**extra) -> dict:
    """Two frames of 6 x 8: people 1 and 2 overlapping on 2 x 2 pixels in frame 0, only person 2 in frame 1,
    a crowd (void) in frame 0 that person 2 partly covers."""
    results = dict(
        video_id="street",
        frame_indices=[0, 1],
        num_video_frames=2,
        ori_shape=(6, 8),
        imgs=[np.zeros((6, 8, 3), np.uint8)] * 2,
        label_mode="instance",
        mask_rles=[
            [[1, encode_rle(PERSON_1)], [2, encode_rle(PERSON_2, compressed=False)]],
            [[2, encode_rle(PERSON_2)]],
        ],
        void_rles=[[encode_rle(CROWD)], []],
    )
    return {**results, **extra}


def test_overlapping_people_each_keep_their_mask_through_loading_and_a_crop():
    results = LoadClipAnnotations(with_instances=True)(rle_results())
    assert (PERSON_1 & PERSON_2).sum() == 4
    assert results["gt_instance_track_ids"].tolist() == [1, 2]
    np.testing.assert_array_equal(results["gt_instance_masks"][0], np.stack([PERSON_1, PERSON_2], axis=-1))
    np.testing.assert_array_equal(
        results["gt_instance_masks"][1], np.stack([np.zeros_like(PERSON_1), PERSON_2], axis=-1)
    )
    # Person is the union; the crowd is void except where person 2 stands on it.
    expected = np.where(PERSON_1 | PERSON_2, 1, np.where(CROWD, 255, 0))
    np.testing.assert_array_equal(results["gt_seg_maps"][0], expected)
    assert (CROWD & PERSON_2).any() and (CROWD & ~PERSON_2).any()
    # Crop x 1..7, y 1..6: both people keep their overlap in every frame.
    crop_clip(results, (1, 1, 7, 6))
    tubes = PackVideoInputs()(results)["data_samples"].gt_instances
    assert tubes.track_ids.tolist() == [1, 2] and tubes.masks.shape == (2, 2, 5, 6)
    np.testing.assert_array_equal(tubes.masks[:, 0].numpy(), np.stack([PERSON_1, PERSON_2])[:, 1:6, 1:7])
    assert (tubes.masks[0, 0] & tubes.masks[1, 0]).sum() == 4 and not tubes.masks[0, 1].any()
    # A crop that leaves only person 2 drops the tube of person 1.
    results = LoadClipAnnotations(with_instances=True)(rle_results())
    crop_clip(results, (4, 2, 8, 6))
    tubes = PackVideoInputs()(results)["data_samples"].gt_instances
    assert tubes.track_ids.tolist() == [2] and tubes.masks.shape == (1, 2, 4, 4)


def test_a_clip_without_people_has_zero_instances_of_the_frame_shape():
    results = LoadClipAnnotations(with_instances=True)(rle_results(mask_rles=[[], []]))
    assert results["gt_instance_track_ids"].shape == results["gt_instance_labels"].shape == (0,)
    assert [m.shape for m in results["gt_instance_masks"]] == [(6, 8, 0)] * 2
    tubes = PackVideoInputs()(results)["data_samples"].gt_instances
    assert tubes.masks.shape == (0, 2, 6, 8) and tubes.masks.dtype == torch.bool
    assert tubes.track_ids.dtype == torch.long and tubes.track_ids.shape == (0,)


def test_bad_rle_names_the_file_video_frame_and_track():
    results = rle_results(ann_file="train.json")
    results["mask_rles"][1][0][1] = {"size": [6, 8], "counts": [47]}
    message = "train.json (video 'street', frame 1): bad RLE of track 2 (RLE counts sum to 47, expected 6 x 8"
    with pytest.raises(VideoDataError, match=re.escape(message)):
        LoadClipAnnotations(with_instances=True)(results)
    results = rle_results(ann_file="train.json", void_rles=[[encode_rle(np.zeros((5, 8), bool))], []])
    message = "train.json (video 'street', frame 0): RLE size (5, 8) of a void region differs from its frame's (6, 8)"
    with pytest.raises(VideoDataError, match=re.escape(message)):
        LoadClipAnnotations(with_instances=True)(results)


def test_binary_mask_with_other_values_is_rejected(tmp_path):
    mask = np.zeros((4, 5), np.uint8)
    mask[1, 1], mask[2, 2] = 255, 128
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), mask)
    with pytest.raises(VideoDataError, match=re.escape(f"{path}: values [128] in a binary mask")):
        LoadClipAnnotations()(clip_results([path], [0], (4, 5), "binary"))


def test_semantic_labels_outside_classes_are_rejected(tmp_path):
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), np.array([[0, 1, 255, 2]], np.uint8))
    with pytest.raises(
        VideoDataError, match=re.escape(f"{path}: labels [2] outside the dataset's 2 classes")
    ):
        LoadClipAnnotations(num_classes=2)(clip_results([path], [0], (1, 4), "semantic"))
    results = LoadClipAnnotations(num_classes=3)(clip_results([path], [0], (1, 4), "semantic"))
    assert results["gt_seg_maps"][0].tolist() == [[0, 1, 255, 2]]


def test_mask_size_must_match_its_frame(tmp_path):
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), np.zeros((4, 6), np.uint8))
    with pytest.raises(
        VideoDataError, match=re.escape(f"{path}: size (4, 6) differs from its frame's (4, 5)")
    ):
        LoadClipAnnotations()(clip_results([path], [0], (4, 5), "binary"))


def test_mask_count_must_match_frame_count(tmp_path):
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), np.zeros((4, 5), np.uint8))
    results = clip_results([path], [0], (4, 5), "binary")
    with pytest.raises(
        VideoDataError, match=re.escape(f"{tmp_path}: 1 files in 'mask_paths' for 2 expected")
    ):
        LoadClipAnnotations()(dict(results, num_video_frames=2))


def test_missing_mask_file(tmp_path):
    path = tmp_path / "00000.png"
    with pytest.raises(VideoDataError, match=re.escape(f"{path}: file not found")):
        LoadClipAnnotations()(clip_results([path], [0], (4, 5), "binary"))


def test_rgb_mask_is_rejected(tmp_path):
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(VideoDataError, match=re.escape(f"{path}: expected a single-channel")):
        LoadClipAnnotations()(clip_results([path], [0], (4, 5), "binary"))


def flow_results(tmp_path, num_frames, indices):
    flow_paths = []
    for t in range(1, num_frames):
        path = tmp_path / f"{t:05d}.npy"
        np.save(path, np.stack([np.full((3, 4), t, np.float32), np.full((3, 4), -t / 4, np.float32)]))
        flow_paths.append(str(path))
    return dict(
        video_id="v",
        frame_indices=indices,
        num_video_frames=num_frames,
        flow_paths=flow_paths,
        ori_shape=(3, 4),
    )


def test_flow_of_consecutive_frames_is_exact(tmp_path):
    loader = LoadClipAnnotations(with_sem_seg=False, with_flow=True)
    flows = loader(flow_results(tmp_path, 6, [2, 3, 4, 4]))["gt_flow"]
    assert len(flows) == 3 and all(f.shape == (3, 4, 2) and f.dtype == np.float32 for f in flows)
    assert flows[0][0, 0].tolist() == [3.0, -0.75]  # the backward flow of frame 3 is the file 00003.npy
    assert flows[1][2, 3].tolist() == [4.0, -1.0]
    assert not flows[2].any()  # a repeated frame has not moved


def test_flow_refuses_strided_clips(tmp_path):
    loader = LoadClipAnnotations(with_sem_seg=False, with_flow=True)
    with pytest.raises(VideoDataError, match=re.escape("v: with_flow needs consecutive frames (stride 1)")):
        loader(flow_results(tmp_path, 6, [0, 2, 4]))


def test_flow_file_of_wrong_shape(tmp_path):
    results = flow_results(tmp_path, 3, [0, 1])
    np.save(results["flow_paths"][0], np.zeros((2, 3, 5), np.float32))
    with pytest.raises(
        VideoDataError, match=re.escape(f"{results['flow_paths'][0]}: flow must be a float [2, 3, 4]")
    ):
        LoadClipAnnotations(with_sem_seg=False, with_flow=True)(results)


def test_missing_annotation_list_names_the_video():
    with pytest.raises(VideoDataError, match="v: the dataset gives no 'alpha_paths'"):
        LoadClipAnnotations(with_sem_seg=False, with_alpha=True)(
            dict(video_id="v", frame_indices=[0], num_video_frames=1, ori_shape=(2, 2))
        )


def vspw_masks(tmp_path) -> list:
    """Two VSPW masks as stored (class k as k + 1; 0 "others" and 255 are two voids): the pixel (0, 0) turns
    from void 0 into void 255, (0, 1) is class 0 (stored 1), (0, 2) class 123 (stored 124)."""
    paths = []
    for t, void in enumerate((0, 255)):
        paths.append(tmp_path / f"{t:05d}.png")
        cv2.imwrite(str(paths[-1]), np.array([[void, 1, 124]], np.uint8))
    return paths


def test_raw_labels_keep_both_vspw_voids_apart_only_when_asked(tmp_path):
    results = clip_results(vspw_masks(tmp_path), [0, 1], (1, 3), "semantic_reduce_zero")
    loaded = LoadClipAnnotations(num_classes=124, with_raw_sem_seg=True)(dict(results))
    assert [m.tolist() for m in loaded["gt_seg_maps"]] == [[[255, 0, 123]], [[255, 0, 123]]]
    assert [m.tolist() for m in loaded["gt_seg_maps_raw"]] == [[[0, 1, 124]], [[255, 1, 124]]]
    assert all(m.dtype == np.uint8 for m in loaded["gt_seg_maps_raw"])
    assert "gt_seg_maps_raw" not in LoadClipAnnotations(num_classes=124)(dict(results))
    # Raw labels alone, without the reduced ones.
    only_raw = LoadClipAnnotations(with_sem_seg=False, with_raw_sem_seg=True, num_classes=124)(dict(results))
    assert "gt_seg_maps" not in only_raw and only_raw["gt_seg_maps_raw"][1].tolist() == [[255, 1, 124]]


def test_raw_labels_of_unlabelled_videos_are_void_and_rles_have_none():
    unlabelled = dict(
        video_id="v", frame_indices=[0, 1], num_video_frames=2, ori_shape=(2, 3), label_mode=None
    )
    results = LoadClipAnnotations(with_raw_sem_seg=True)(unlabelled)
    assert [m.tolist() for m in results["gt_seg_maps_raw"]] == [[[255] * 3] * 2] * 2
    with pytest.raises(
        VideoDataError, match=re.escape("train.json (video 'street'): RLE masks store no label map")
    ):
        LoadClipAnnotations(with_raw_sem_seg=True)(rle_results(ann_file="train.json"))
