import albumentations as A
import cv2
import numpy as np
import pytest

from steadyseg.datasets import ClipAlbumentations

COLOURS = [(250, 40, 40), (40, 250, 40), (40, 40, 250)]


def painted_clip(height=40, width=56):
    """Frame t paints its mask region in its own colour over a grey background."""
    imgs, masks = [], []
    for t, colour in enumerate(COLOURS):
        mask = np.zeros((height, width), np.uint8)
        mask[6 + 3 * t : 28 + 2 * t, 8 + 6 * t : 30 + 6 * t] = 1
        imgs.append(np.where(mask[..., None] == 1, colour, (90, 90, 90)).astype(np.uint8))
        masks.append(mask)
    return dict(imgs=imgs, gt_seg_maps=masks, gt_alpha=[m * 255 for m in masks], img_shape=(height, width))


def interior(region):
    """``region`` without the 2 pixels next to its edge or the frame's edge, where interpolation blends."""
    kernel = np.ones((5, 5), np.uint8)
    return cv2.erode(region.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(
        bool
    )


def test_builds_transforms_from_dicts_including_compositions():
    transform = ClipAlbumentations(
        [
            dict(type="ColorJitter", brightness=0.3),
            dict(type="OneOf", transforms=[dict(type="HorizontalFlip")]),
        ]
    )
    assert isinstance(transform.transforms[0], A.ColorJitter)
    assert isinstance(transform.transforms[1].transforms[0], A.HorizontalFlip)
    assert transform.geometric == ["HorizontalFlip"]
    with pytest.raises(ValueError, match="'NoSuchTransform' is not an albumentations transform"):
        ClipAlbumentations([dict(type="NoSuchTransform")])


def test_masks_stay_on_their_colour_under_geometric_and_photometric_augmentation():
    transform = ClipAlbumentations(
        [
            dict(type="Affine", rotate=(-25, 25), scale=(0.8, 1.2), fill=0, fill_mask=255, p=1.0),
            dict(type="HorizontalFlip", p=0.5),
            dict(type="ColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05, p=1.0),
        ]
    )
    np.random.seed(0)
    for _ in range(5):
        results = transform(painted_clip())
        for t in range(3):
            image = results["imgs"][t].astype(int)
            mask = results["gt_seg_maps"][t]
            assert image.shape == (40, 56, 3) and mask.shape == (40, 56)
            np.testing.assert_array_equal(results["gt_alpha"][t], np.where(mask == 255, 255, mask * 255))
            inside, outside = interior(mask == 1), interior(mask == 0)
            assert inside.sum() > 20 and outside.sum() > 20
            # One colour jitter for the clip: each region keeps a single (jittered) colour, distinct from
            # the other region's.
            inside_colour, outside_colour = np.median(image[inside], 0), np.median(image[outside], 0)
            assert np.abs(image[inside] - inside_colour).max() <= 4
            assert np.abs(image[outside] - outside_colour).max() <= 4
            assert np.abs(inside_colour - outside_colour).max() > 30


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_instance_masks_move_with_the_label_maps(seed):
    # Instances: the painted region, its complement (the padding, void 255 in the map, is neither) and the
    # region again, overlapping the first.
    clip = painted_clip()
    clip["gt_instance_masks"] = [np.stack([m == 1, m == 0, m == 1], axis=-1) for m in clip["gt_seg_maps"]]
    transform = ClipAlbumentations(
        [
            dict(type="Affine", rotate=(-25, 25), scale=(0.8, 1.2), fill=0, fill_mask=255, p=1.0),
            dict(type="HorizontalFlip", p=0.5),
        ]
    )
    np.random.seed(seed)
    results = transform(clip)
    for mask, instances in zip(results["gt_seg_maps"], results["gt_instance_masks"]):
        assert instances.dtype == bool and instances.shape == (40, 56, 3)
        assert (mask == 255).any()
        np.testing.assert_array_equal(instances, np.stack([mask == 1, mask == 0, mask == 1], axis=-1))


def test_zero_instances_keep_their_empty_stack():
    clip = painted_clip()
    clip["gt_instance_masks"] = [np.zeros((40, 56, 0), bool)] * 3
    results = ClipAlbumentations([dict(type="Resize", height=20, width=28)])(clip)
    assert [m.shape for m in results["gt_instance_masks"]] == [(20, 28, 0)] * 3
    del clip["gt_seg_maps"], clip["gt_alpha"]
    results = ClipAlbumentations([dict(type="Resize", height=20, width=28)])(clip)
    assert [m.shape for m in results["gt_instance_masks"]] == [(20, 28, 0)] * 3


def test_every_frame_gets_the_same_parameters():
    frame = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    transform = ClipAlbumentations(
        [dict(type="Affine", rotate=(-30, 30), p=1.0), dict(type="ColorJitter", hue=0.2, p=1.0)]
    )
    results = transform(dict(imgs=[frame.copy() for _ in range(4)]))
    assert not np.array_equal(results["imgs"][0], frame)
    assert all(np.array_equal(img, results["imgs"][0]) for img in results["imgs"])


def test_seeded_numpy_rng_reproduces_the_draw():
    transform = ClipAlbumentations([dict(type="ColorJitter", brightness=0.5, hue=0.2, p=1.0)])
    np.random.seed(7)
    first = transform(painted_clip())["imgs"][0]
    np.random.seed(7)
    second = transform(painted_clip())["imgs"][0]
    np.random.seed(8)
    third = transform(painted_clip())["imgs"][0]
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


def test_flow_refuses_geometric_but_accepts_photometric():
    flow = [np.ones((40, 56, 2), np.float32)]
    with pytest.raises(
        ValueError, match=r"geometric transforms \['HorizontalFlip'\] cannot keep 'gt_flow' exact"
    ):
        ClipAlbumentations([dict(type="HorizontalFlip")])(dict(painted_clip(), gt_flow=flow))
    results = ClipAlbumentations([dict(type="ColorJitter", p=1.0)])(dict(painted_clip(), gt_flow=flow))
    assert results["gt_flow"] is flow


def test_foreground_gets_the_frames_photometric_change():
    clip = painted_clip()
    original = clip["imgs"][1].copy()
    clip["gt_fgr"] = [img.copy() for img in clip["imgs"]]
    results = ClipAlbumentations([dict(type="ColorJitter", brightness=0.5, hue=0.2, p=1.0)])(clip)
    np.testing.assert_array_equal(results["gt_fgr"][1], results["imgs"][1])
    assert not np.array_equal(results["imgs"][1], original)
