import re

import cv2
import numpy as np
import pytest
from PIL import Image

from steadyseg.datasets import LoadClipAnnotations, VideoDataError


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
    np.testing.assert_array_equal(results["gt_instance_maps"][1], results["gt_seg_maps"][1])


def test_palette_instance_ids_give_person_and_track_ids(shared_data):
    paths = sorted((shared_data / "davis_schoolgirls" / "masks").glob("*.png"))
    results = LoadClipAnnotations(with_instances=True)(clip_results(paths, [3], (240, 432), "instance"))
    raw = np.array(Image.open(paths[3]))
    np.testing.assert_array_equal(results["gt_seg_maps"][0], (raw > 0).astype(np.uint8))
    np.testing.assert_array_equal(results["gt_instance_maps"][0], raw)
    assert set(np.unique(results["gt_instance_maps"][0])) == set(range(8))


def test_instance_void_255_is_ignored(tmp_path, palette_png):
    ids = np.array([[0, 3, 255]], np.uint8)
    palette_png(tmp_path / "00000.png", ids)
    results = LoadClipAnnotations(with_instances=True)(
        clip_results([tmp_path / "00000.png"], [0], (1, 3), "instance")
    )
    assert results["gt_seg_maps"][0].tolist() == [[0, 1, 255]]
    assert results["gt_instance_maps"][0].tolist() == [[0, 3, 0]]


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
