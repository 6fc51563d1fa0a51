"""ClipResize, ClipRandomResizedCrop and ClipFlip keep frames, annotations and flow aligned."""

import cv2
import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from steadyseg.datasets import ClipFlip, ClipRandomResizedCrop, ClipResize

BACKGROUND = (60, 60, 60)
COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
# Six overlapping instances, each the painted region or its complement: more than one OpenCV call's 4 channels.
INSTANCE_IS_REGION = np.array([True, False, True, True, False, True])


def painted_clip(height=40, width=56):
    """Each frame paints its mask region in its own colour; every annotation marks the same region."""
    results = dict(imgs=[], gt_seg_maps=[], gt_instance_masks=[], gt_alpha=[], gt_fgr=[])
    for t, colour in enumerate(COLOURS):
        mask = np.zeros((height, width), np.uint8)
        mask[6 + 3 * t : 28 + 2 * t, 8 + 6 * t : 30 + 6 * t] = 1
        frame = np.where(mask[..., None] == 1, colour, BACKGROUND).astype(np.uint8)
        results["imgs"].append(frame)
        results["gt_seg_maps"].append(mask)
        results["gt_instance_masks"].append((mask[..., None] == 1) == INSTANCE_IS_REGION)
        results["gt_alpha"].append(mask * 255)
        results["gt_fgr"].append(frame * mask[..., None])
    results["img_shape"] = results["ori_shape"] = (height, width)
    return results


def assert_aligned(results):
    for t, colour in enumerate(COLOURS):
        mask = results["gt_seg_maps"][t]
        assert mask.shape == results["imgs"][t].shape[:2] == tuple(results["img_shape"])
        inside = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2).astype(bool)
        outside = cv2.erode(1 - mask, np.ones((3, 3), np.uint8), iterations=2).astype(bool)
        assert inside.sum() > 20 and outside.sum() > 20
        image = results["imgs"][t].astype(int)
        assert np.abs(image[inside] - colour).max() <= 3
        assert np.abs(image[outside] - BACKGROUND).max() <= 3
        instances = results["gt_instance_masks"][t]
        assert instances.dtype == bool and instances.shape == (*mask.shape, len(INSTANCE_IS_REGION))
        np.testing.assert_array_equal(instances, (mask[..., None] == 1) == INSTANCE_IS_REGION)
        assert (results["gt_alpha"][t][inside] == 255).all() and (results["gt_alpha"][t][outside] == 0).all()
        assert np.abs(results["gt_fgr"][t][inside].astype(int) - colour).max() <= 3


def flow_clip(height=30, width=40):
    """Two float frames that are linear ramps (exact under bilinear resampling) and the affine backward flow
    that maps one onto the other exactly: frame_1(x) = frame_0(x + flow(x))."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)

    def frame(x, y):
        return np.stack([3 * x, 4 * y, 2 * x - y + 50], axis=-1).astype(np.float32)

    flow = np.stack([1.5 + 0.05 * ys, -0.75 + 0.03 * xs], axis=-1).astype(np.float32)
    return dict(
        imgs=[frame(xs, ys), frame(xs + flow[..., 0], ys + flow[..., 1])],
        gt_flow=[flow],
        img_shape=(height, width),
    )


def assert_flow_exact(results, margin=3):
    previous, current = results["imgs"]
    flow = results["gt_flow"][0]
    height, width = current.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sample_x, sample_y = xs + flow[..., 0], ys + flow[..., 1]
    # Resampling replicates the border, so a few pixels at the border (of either frame) are not exact.
    valid = (sample_x >= margin) & (sample_x <= width - 1 - margin)
    valid &= (sample_y >= margin) & (sample_y <= height - 1 - margin)
    valid[:margin], valid[-margin:], valid[:, :margin], valid[:, -margin:] = False, False, False, False
    assert valid.sum() > 0.3 * height * width
    warped = np.stack(
        [map_coordinates(previous[..., c], [sample_y, sample_x], order=1) for c in range(3)], axis=-1
    )
    assert np.abs(warped - current)[valid].max() < 0.05


def test_flow_fixture_is_exact_and_a_wrong_flow_is_caught():
    assert_flow_exact(flow_clip())
    broken = flow_clip()
    broken["gt_flow"][0] = broken["gt_flow"][0] * 1.1
    with pytest.raises(AssertionError):
        assert_flow_exact(broken)


@pytest.mark.parametrize(
    "kwargs, expected_hw",
    [
        (dict(scale=(28, 28)), (20, 28)),  # keep ratio: fits 40x56 into 28x28
        (dict(scale=(28, 16), keep_ratio=False), (16, 28)),
        (dict(short_side=60), (60, 84)),
    ],
)
def test_resize_shapes_and_alignment(kwargs, expected_hw):
    results = ClipResize(**kwargs)(painted_clip())
    assert results["img_shape"] == expected_hw
    assert results["scale_factor"] == (expected_hw[1] / 56, expected_hw[0] / 40)
    assert_aligned(results)


def test_resize_images_only_keeps_annotations_at_original_size():
    results = ClipResize(scale=(28, 20), resize_annotations=False)(painted_clip())
    assert results["imgs"][0].shape == (20, 28, 3)
    assert results["gt_seg_maps"][0].shape == results["gt_alpha"][0].shape == (40, 56)
    assert results["gt_instance_masks"][0].shape == (40, 56, 6)
    assert results["ori_shape"] == (40, 56) and results["img_shape"] == (20, 28)


@pytest.mark.parametrize("count", [0, 1])
def test_resize_and_crop_keep_zero_or_one_instance_stacks(count):
    clip = painted_clip()
    clip["gt_instance_masks"] = [m[..., :count] for m in clip["gt_instance_masks"]]
    results = ClipResize(scale=(28, 16), keep_ratio=False)(clip)
    assert [m.shape for m in results["gt_instance_masks"]] == [(16, 28, count)] * 3
    results = ClipRandomResizedCrop(size=(10, 12))(results)
    assert [m.shape for m in results["gt_instance_masks"]] == [(12, 10, count)] * 3


@pytest.mark.parametrize("scale", [(25, 18), (64, 50), (25, 50)])
def test_resize_scales_flow(scale):
    results = ClipResize(scale=scale, keep_ratio=False)(flow_clip())
    assert results["gt_flow"][0].shape == (scale[1], scale[0], 2)
    assert_flow_exact(results)


def test_flip_mirrors_and_negates_dx():
    clip = painted_clip()
    results = ClipFlip(prob=1.0)(painted_clip())
    assert results["flip"] and results["flip_direction"] == "horizontal"
    np.testing.assert_array_equal(results["imgs"][1], clip["imgs"][1][:, ::-1])
    assert_aligned(results)
    assert not ClipFlip(prob=0.0)(painted_clip())["flip"]


@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_flip_keeps_flow_exact(direction):
    results = ClipFlip(prob=1.0, direction=direction)(flow_clip())
    original = flow_clip()["gt_flow"][0]
    axis, component = (1, 0) if direction == "horizontal" else (0, 1)
    np.testing.assert_array_equal(
        results["gt_flow"][0][..., component], -np.flip(original[..., component], axis)
    )
    assert_flow_exact(results)


def test_random_resized_crop_aligned_over_many_draws():
    np.random.seed(0)
    transform = ClipRandomResizedCrop(size=(32, 24), scale=(0.5, 1.0))
    boxes = set()
    for _ in range(10):
        results = transform(painted_clip())
        assert results["imgs"][0].shape == (24, 32, 3) and results["img_shape"] == (24, 32)
        assert_aligned(results)
        boxes.add(results["crop_box"])
    assert len(boxes) == 10


def test_random_resized_crop_keeps_flow_exact():
    np.random.seed(1)
    transform = ClipRandomResizedCrop(size=(48, 36), scale=(0.3, 0.8))
    for _ in range(5):
        assert_flow_exact(transform(flow_clip()))


def test_random_resized_crop_fallback_is_centred():
    # Boxes of ratio 0.1..0.2 with 90% of a 40x56 frame's area are ~110 px tall: none fits, so the crop
    # falls back to the full-height centred box at the nearest allowed ratio, 0.2 (8 x 40).
    np.random.seed(0)
    transform = ClipRandomResizedCrop(size=10, scale=(0.9, 1.0), ratio=(0.1, 0.2))
    assert transform.sample_box(40, 56) == (24, 0, 32, 40)


def test_one_draw_per_clip():
    np.random.seed(2)
    frame = np.random.randint(0, 255, (40, 56, 3), np.uint8)
    for transform in (ClipRandomResizedCrop(size=(20, 16), scale=(0.2, 0.6)), ClipFlip(prob=0.5)):
        for _ in range(4):
            results = transform(dict(imgs=[frame.copy() for _ in range(4)], img_shape=(40, 56)))
            assert all(np.array_equal(img, results["imgs"][0]) for img in results["imgs"])
