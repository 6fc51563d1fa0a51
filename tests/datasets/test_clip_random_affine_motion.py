import re

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from scipy import ndimage

from steadyseg.config import load_config
from steadyseg.datasets import ClipRandomAffineMotion, COCOPeopleDataset
from steadyseg.flow import warp
from steadyseg.registry import DATASETS

H, W = 72, 96
MOTION = dict(max_translation=0.03, max_rotation=3.0, max_scale=0.04, max_acceleration=0.5)


def textured_image() -> np.ndarray:
    """Smooth texture (wavelengths >= 17 px) so bilinear resampling is close to exact."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    channels = [
        np.sin(xs / 5.0) * np.cos(ys / 4.0),
        np.sin((xs + 2 * ys) / 7.0),
        np.cos((xs - ys) / 6.0) * np.sin(ys / 9.0),
    ]
    return np.clip(np.round(127.5 + 100 * np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)


def person_map() -> np.ndarray:
    ids = np.zeros((H, W), np.uint8)
    ids[20:50, 30:55] = 1
    ids[10:30, 60:80] = 2
    ids[0:4, 0:8] = 255
    return ids


def instance_masks() -> np.ndarray:
    """H x W x 3: persons 1 and 2 and a third person overlapping both."""
    ids = person_map()
    third = np.zeros((H, W), bool)
    third[25:40, 45:65] = True
    assert (third & (ids == 1)).any() and (third & (ids == 2)).any()
    return np.stack([ids == 1, ids == 2, third], axis=-1)


def one_frame_results() -> dict:
    ids = person_map()
    return dict(
        video_id="still",
        imgs=[textured_image()],
        gt_seg_maps=[np.where(ids == 255, 255, ids > 0).astype(np.uint8)],
        gt_instance_masks=[instance_masks()],
        gt_alpha=[((ids == 1) * 255).astype(np.uint8)],
        gt_flow=[],
        frame_indices=[0],
        num_video_frames=1,
        ori_shape=(H, W),
        img_shape=(H, W),
    )


def animate(seed: int = 0, num_frames: int = 4, **motion) -> dict:
    np.random.seed(seed)
    return ClipRandomAffineMotion(num_frames=num_frames, **(motion or MOTION))(one_frame_results())


def source_points(matrix_2x3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Source (x, y) seen at each pixel of the frame whose source-to-frame map is ``matrix_2x3``."""
    inverse = np.linalg.inv(np.vstack([matrix_2x3, [0, 0, 1]]))
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    points = inverse[:2, :2] @ np.stack([xs.ravel(), ys.ravel()]) + inverse[:2, 2:]
    return points[0].reshape(H, W), points[1].reshape(H, W)


def test_zero_ranges_are_the_identity():
    results = animate(
        num_frames=3, max_translation=0.0, max_rotation=0.0, max_scale=0.0, max_acceleration=0.0
    )
    source = one_frame_results()
    for key in ("imgs", "gt_seg_maps", "gt_instance_masks", "gt_alpha"):
        assert len(results[key]) == 3
        for frame in results[key]:
            np.testing.assert_array_equal(frame, source[key][0])
    assert len(results["gt_flow"]) == 2
    for flow in results["gt_flow"]:
        assert flow.shape == (H, W, 2) and flow.dtype == np.float32 and not flow.any()


def test_constant_translation_gives_constant_flow():
    results = animate(
        seed=3, num_frames=5, max_translation=0.05, max_rotation=0.0, max_scale=0.0, max_acceleration=0.0
    )
    shifts = results["motion_matrices"][:, :, 2]
    velocity = shifts[1] - shifts[0]
    assert np.abs(velocity).max() > 0.5
    np.testing.assert_allclose(np.diff(shifts, axis=0), np.tile(velocity, (4, 1)), atol=1e-9)
    for flow in results["gt_flow"]:
        # Content moving by +v is found at x - v in the previous frame.
        np.testing.assert_allclose(flow, np.broadcast_to(-velocity, (H, W, 2)), atol=1e-5)


def test_frames_and_labels_follow_the_motion_matrices():
    results = animate(seed=1, **{**MOTION, "max_translation": 0.08})
    source, ids, masks = textured_image().astype(np.float64), person_map(), instance_masks()
    assert results["frame_indices"] == [0, 1, 2, 3] and results["num_video_frames"] == 4
    assert results["source_frame_index"] == 0 and results["motion_matrices"].shape == (4, 2, 3)
    # The path passes through the identity at the clip's middle (t = 1.5), so the ends move apart.
    assert not np.allclose(results["motion_matrices"][0], results["motion_matrices"][-1])
    num_outside = 0
    for t in range(4):
        xs, ys = source_points(results["motion_matrices"][t])
        expected = np.stack(
            [ndimage.map_coordinates(source[..., c], [ys, xs], order=1, mode="mirror") for c in range(3)],
            axis=-1,
        )
        # Up to rounding to uint8: cv2's 1/32 px sampling grid is invisible on this texture.
        assert np.abs(results["imgs"][t] - expected).max() <= 1
        col, row = np.floor(xs + 0.5).astype(int), np.floor(ys + 0.5).astype(int)
        inside = (col >= 0) & (col < W) & (row >= 0) & (row < H)
        # Allow a pixel where fixed-point rounding falls on the other side of a half-pixel boundary.
        exact = np.abs(xs - np.round(xs)) < 0.49
        exact &= np.abs(ys - np.round(ys)) < 0.49
        expected_ids = np.where(inside, ids[row.clip(0, H - 1), col.clip(0, W - 1)], 255)
        semantic = np.where(expected_ids == 255, 255, expected_ids > 0)
        np.testing.assert_array_equal(results["gt_seg_maps"][t][exact], semantic[exact])
        # Each instance moves on its own, overlaps included.
        expected_masks = inside[..., None] & masks[row.clip(0, H - 1), col.clip(0, W - 1)]
        assert results["gt_instance_masks"][t].shape == (H, W, 3)
        np.testing.assert_array_equal(results["gt_instance_masks"][t][exact], expected_masks[exact])
        assert (results["gt_instance_masks"][t][..., 0] & results["gt_instance_masks"][t][..., 2]).any()
        num_outside += (~inside).sum()
        # Outside the source the semantic map is void and no instance lies; the image reflects (checked above).
        assert (results["gt_seg_maps"][t][~inside & exact] == 255).all()
        assert not results["gt_instance_masks"][t][~inside & exact].any()
    assert num_outside > 100


def test_flow_is_exact():
    results = animate(seed=2)
    frames = torch.from_numpy(np.stack(results["imgs"])).permute(0, 3, 1, 2).float()
    # One label per combination of overlapping instances.
    label_maps = np.stack(results["gt_instance_masks"]) @ np.array([1, 2, 4])
    labels = torch.from_numpy(label_maps)[:, None]
    margin = 12
    for t, flow in enumerate(results["gt_flow"], start=1):
        flow = torch.from_numpy(flow).permute(2, 0, 1)[None]
        assert flow.abs().max() > 1.0
        warped, valid = warp(frames[t - 1 : t], flow)
        error = (warped - frames[t : t + 1]).abs()[..., margin:-margin, margin:-margin]
        assert valid[..., margin:-margin, margin:-margin].all()
        # Two bilinear resamplings of a smooth texture: about a grey level apart. Without flow: far apart.
        assert error.mean() < 1.0 and error.max() < 8
        still = (frames[t - 1] - frames[t]).abs()[..., margin:-margin, margin:-margin]
        assert still.mean() > 10 * error.mean()
        # Labels move with the image: after two nearest resamplings they differ only next to label edges.
        moved, _ = warp(labels[t - 1 : t], flow, mode="nearest")
        label_map = label_maps[t]
        near_edge = ndimage.maximum_filter(label_map, 3) != ndimage.minimum_filter(label_map, 3)
        differ = (moved[0, 0] != labels[t, 0]).numpy()
        assert not (differ & ~near_edge)[margin:-margin, margin:-margin].any()
        assert differ[margin:-margin, margin:-margin].mean() < 0.04


def test_same_seed_same_clip():
    first, second, other = animate(seed=5), animate(seed=5), animate(seed=6)
    for key in ("imgs", "gt_seg_maps", "gt_flow"):
        for a, b in zip(first[key], second[key]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first["gt_flow"][0], other["gt_flow"][0])


def test_multi_frame_clips_and_bad_arguments_are_refused():
    results = one_frame_results()
    results["imgs"] = results["imgs"] * 2
    with pytest.raises(
        ValueError, match=re.escape("video 'still' gives a 2-frame clip; it animates one frame")
    ):
        ClipRandomAffineMotion(num_frames=4)(results)
    with pytest.raises(ValueError, match="need num_frames >= 1 and non-negative ranges"):
        ClipRandomAffineMotion(num_frames=4, max_rotation=-1.0)


def test_coco_pseudo_clip_pipeline(shared_data):
    pipeline = [
        dict(type="SampleClipFrames", clip_len=1),
        dict(type="LoadVideoClip"),
        dict(type="LoadClipAnnotations", with_flow=False),
        dict(type="ClipRandomAffineMotion", num_frames=4),
        dict(type="ClipRandomResizedCrop", size=(96, 80), scale=(0.3, 1.0)),
        dict(type="ClipFlip", prob=1.0),
        dict(type="PackVideoInputs"),
    ]
    dataset = COCOPeopleDataset(shared_data / "coco_people", include_negatives=False, pipeline=pipeline)
    np.random.seed(0)
    for index in (0, 7):
        packed = dataset[index]
        inputs, sample = packed["inputs"], packed["data_samples"]
        assert inputs.shape == (4, 3, 80, 96) and inputs.dtype == torch.uint8
        assert sample.gt_sem_seg.shape == (4, 80, 96) and sample.gt_flow.shape == (3, 2, 80, 96)
        assert sample.frame_indices == [0, 1, 2, 3] and sample.num_video_frames == 4
        assert set(sample.gt_sem_seg.unique().tolist()) <= {0, 1, 255}
        # The flow still explains the labels after crop, resize and flip: far fewer labels change along it
        # than in place (what remains is nearest-resampling aliasing of thin limbs at 96 x 80).
        changed = {"flow": 0, "still": 0}
        for t in range(1, 4):
            labels = sample.gt_sem_seg[t - 1 : t, None].float()
            for name, flow in (("flow", sample.gt_flow[t - 1 : t]), ("still", torch.zeros(1, 2, 80, 96))):
                moved, valid = warp(labels, flow, mode="nearest")
                both = valid[0, 0] & (moved[0, 0] != 255) & (sample.gt_sem_seg[t] != 255)
                changed[name] += int(((moved[0, 0] != sample.gt_sem_seg[t]) & both).sum())
        assert changed["flow"] < 0.6 * changed["still"]
        assert changed["flow"] < 0.05 * 3 * 80 * 96


def test_coco_pseudo_clips_of_the_vis_recipe_are_one_tube_per_person(repo_root):
    cfg = load_config(repo_root / "configs/vis/mobilenetv3_query_vis_synthetic_256.py")
    init_default_scope(cfg.default_scope)
    (coco,) = [d for d in cfg.train_dataloader.dataset.datasets if d["type"] == "COCOPeopleDataset"]
    dataset = DATASETS.build(coco)
    np.random.seed(0)
    for index in range(4):
        info = dataset.get_data_info(index)
        sample = dataset[index]["data_samples"]
        tubes = sample.gt_instances
        # One tube per person of the photo still in the crop, the same person in both frames of the pseudo-clip.
        assert 1 <= len(tubes) <= len(info["instance_annotation_ids"])
        assert tubes.masks.shape[1:] == (2, 256, 256) and tubes.masks.dtype == torch.bool
        assert tubes.track_ids.tolist() == sorted(set(tubes.track_ids.tolist()))
        assert set(tubes.track_ids.tolist()) <= set(range(1, len(info["instance_annotation_ids"]) + 1))
        assert (tubes.labels == 1).all() and tubes.masks.flatten(1).any(1).all()
        # The motion is smooth: a person seen in both frames covers about as many pixels in each.
        areas = tubes.masks.flatten(2).sum(2).float()
        both = (areas > 200).all(1)
        assert torch.all((areas[both, 1] / areas[both, 0] - 1).abs() < 0.5)
