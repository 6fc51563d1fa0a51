"""Compositing for matting: backgrounds (photos, videos, frame folders) with their own motion, the composite, and
the person mask of alpha."""

import re

import cv2
import numpy as np
import pytest

import steadyseg.datasets.transforms.load_clip_background as background_module
from steadyseg.datasets import ClipComposite, LoadClipBackground, SemSegFromAlpha, VideoDataError

from .conftest import write_mp4

H, W = 24, 32
STILL = dict(max_translation=0.0, max_scale=0.0, max_acceleration=0.0)


def clip(num_frames: int = 3, height: int = H, width: int = W) -> dict:
    return dict(video_id="clip", imgs=[np.zeros((height, width, 3), np.uint8)] * num_frames)


def random_matting_clip(num_frames: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    alpha = rng.integers(0, 256, (num_frames, H, W), dtype=np.uint8)
    alpha[:, :4] = 0  # the top rows show the background
    alpha[:, -4:] = 255  # the bottom rows the foreground
    return dict(
        video_id="clip",
        imgs=list(rng.integers(0, 256, (num_frames, H, W, 3), dtype=np.uint8)),
        gt_fgr=list(rng.integers(0, 256, (num_frames, H, W, 3), dtype=np.uint8)),
        gt_alpha=list(alpha),
        background=list(rng.integers(0, 256, (num_frames, H, W, 3), dtype=np.uint8)),
    )


def expected_composite(fgr, alpha, background) -> np.ndarray:
    """frame = alpha * fgr + (1 - alpha) * bg on [0, 1] values, in float64."""
    a = np.asarray(alpha, np.float64)[..., None] / 255
    return a * np.asarray(fgr, np.float64) / 255 + (1 - a) * np.asarray(background, np.float64) / 255


def test_composite_is_alpha_fgr_plus_one_minus_alpha_background():
    results = random_matting_clip()
    source = {key: list(value) for key, value in results.items() if key != "video_id"}
    ClipComposite()(results)
    expected = expected_composite(source["gt_fgr"], source["gt_alpha"], source["background"])
    composite = np.stack(results["imgs"])
    assert composite.dtype == np.float32 and composite.shape == (3, H, W, 3)
    np.testing.assert_allclose(composite.astype(np.float64) / 255, expected, rtol=0, atol=1e-6)
    # Where alpha is 1 the frame is the foreground, where 0 the background, exactly.
    np.testing.assert_array_equal(composite[:, -4:], np.stack(source["gt_fgr"])[:, -4:])
    np.testing.assert_array_equal(composite[:, :4], np.stack(source["background"])[:, :4])


def test_frames_can_be_the_foreground_and_then_become_gt_fgr():
    results = random_matting_clip(seed=1)
    foreground = results.pop("gt_fgr")
    results["imgs"] = foreground
    ClipComposite(frames_are_foreground=True)(results)
    for a, b in zip(results["gt_fgr"], foreground):
        np.testing.assert_array_equal(a, b)
    expected = expected_composite(foreground, results["gt_alpha"], results["background"])
    np.testing.assert_allclose(np.stack(results["imgs"]) / 255, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "change, options, message",
    [
        (dict(gt_flow=[]), {}, "has gt_flow"),
        (dict(background=None), {}, "no background (add LoadClipBackground before ClipComposite)"),
        (dict(gt_fgr=None), {}, "no gt_fgr: load it"),
        ({}, dict(frames_are_foreground=True), "frames_are_foreground=True, but gt_fgr is loaded too"),
        (dict(background=[np.zeros((H, W + 2, 3), np.uint8)] * 3), {}, "differ in size"),
        (
            dict(background=[np.zeros((H, W, 3), np.uint8)] * 2),
            {},
            "3 foreground, 3 alpha and 2 background frames",
        ),
    ],
)
def test_composite_refuses_what_it_cannot_composite(change, options, message):
    results = random_matting_clip()
    for key, value in change.items():
        if value is None:
            del results[key]
        else:
            results[key] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        ClipComposite(**options)(results)


def ramp_photo(path, height: int = H, width: int = W):
    """A photo whose red channel is 3 x column + 20 and green 4 x row + 10."""
    ys, xs = np.mgrid[0:height, 0:width]
    photo = np.stack([3 * xs + 20, 4 * ys + 10, np.full_like(xs, 90)], axis=-1).astype(np.uint8)
    cv2.imwrite(str(path), photo[..., ::-1])
    return photo


def test_a_still_camera_on_a_whole_photo_of_the_clip_size_shows_the_photo(tmp_path):
    photo = ramp_photo(tmp_path / "ramp.png")
    np.random.seed(0)
    results = LoadClipBackground(images=[tmp_path], scale=(1.0, 1.0), **STILL)(clip())
    assert results["background_source"] == str(tmp_path / "ramp.png")
    assert len(results["background"]) == 3
    for frame in results["background"]:
        assert frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, photo)


def test_the_camera_pans_at_a_constant_speed(tmp_path):
    ramp_photo(tmp_path / "ramp.png", 2 * H, 2 * W)
    np.random.seed(3)
    loader = LoadClipBackground(
        images=[tmp_path / "ramp.png"],
        scale=(0.25, 0.25),
        max_translation=0.1,
        max_scale=0.0,
        max_acceleration=0.0,
    )
    background = np.stack(loader(clip(4))["background"]).astype(np.float64)
    # The box is a quarter of the photo's area, half its sides: one clip pixel per photo pixel, so the ramps keep
    # their slopes (the red one rises by 3 per column, the green one by 4 per row) away from the borders, where
    # the view may reach past the photo and see it reflected.
    centre = background[:, 8:-8, 8:-8]
    np.testing.assert_allclose(np.diff(centre[..., 0], axis=2), 3, atol=0.51)
    np.testing.assert_allclose(np.diff(centre[..., 1], axis=1), 4, atol=0.51)
    # Frame to frame the view shifts by one constant step: bilinear sampling of a ramp is exact, and rounding
    # to uint8 moves each frame's ramp by the same fraction everywhere, so the steps agree to within one level.
    shifts = np.diff(centre[..., :2].mean(axis=(1, 2)), axis=0)
    assert np.abs(shifts[0]).max() > 2.0
    np.testing.assert_allclose(shifts, np.tile(shifts.mean(axis=0), (3, 1)), atol=1.0)


def write_frame_folder(folder, levels: list[int]) -> None:
    folder.mkdir(parents=True)
    for t, level in enumerate(levels):
        cv2.imwrite(str(folder / f"{t:05d}.png"), np.full((H, W, 3), level, np.uint8))


def test_video_backgrounds_play_at_the_drawn_speed(tmp_path):
    write_frame_folder(tmp_path / "frames", [10 * t for t in range(12)])
    loader = LoadClipBackground(
        videos=[tmp_path / "frames"], scale=(1.0, 1.0), speed_range=(0.5, 0.5), **STILL
    )
    for seed in range(5):
        np.random.seed(seed)
        background = loader(clip(6))["background"]
        levels = [int(frame[0, 0, 0]) for frame in background]
        # Half speed: each source frame twice, consecutive source frames.
        start = levels[0]
        assert levels == [start, start, start + 10, start + 10, start + 20, start + 20]
        assert all((frame == frame[0, 0, 0]).all() for frame in background)
    # A video file, read with decord; frames of a flat grey compress almost losslessly.
    frames = [np.full((H, 64, 3), 20 * t, np.uint8) for t in range(10)]
    write_mp4(tmp_path / "flat.mp4", frames)
    np.random.seed(0)
    results = LoadClipBackground(
        videos=[tmp_path / "flat.mp4"], scale=(1.0, 1.0), speed_range=(2.0, 2.0), **STILL
    )(clip(3, H, 64))
    levels = np.array([frame.mean() for frame in results["background"]])
    assert results["background_source"] == str(tmp_path / "flat.mp4")
    np.testing.assert_allclose(np.diff(levels), [40, 40], atol=3)


def test_background_transforms_apply_once_to_the_whole_clip(tmp_path):
    photo = ramp_photo(tmp_path / "ramp.png")
    np.random.seed(1)
    results = LoadClipBackground(
        images=[tmp_path],
        scale=(1.0, 1.0),
        transforms=[dict(type="ColorJitter", brightness=(1.5, 1.5), contrast=0, saturation=0, hue=0, p=1.0)],
        **STILL,
    )(clip())
    first = results["background"][0]
    assert (first.astype(int) > photo).mean() > 0.9
    for frame in results["background"][1:]:
        np.testing.assert_array_equal(frame, first)


def test_real_photo_and_video_backgrounds(shared_data):
    folder = shared_data / "backgrounds"
    loader = LoadClipBackground(
        images=[folder / "0001.png", folder / "plate_0001.png"], videos=[folder / "tree.avi"]
    )
    for probability, kind in ((0.0, ".png"), (1.0, ".avi")):
        loader.video_probability = probability
        np.random.seed(2)
        results = loader(clip(5, 64, 96))
        assert results["background_source"].endswith(kind)
        background = np.stack(results["background"])
        assert background.shape == (5, 64, 96, 3) and background.dtype == np.uint8
        # Real content, not a border fill: detail everywhere, and the camera (or the tree) moves.
        assert background.std(axis=(1, 2)).min() > 10
        assert np.abs(np.diff(background.astype(float), axis=0)).mean() > 0.5


def test_bad_background_sources_are_named(tmp_path):
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'missing.jpg'}: not an image file")):
        LoadClipBackground(images=[tmp_path / "missing.jpg"])
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'none'}: no such video file or folder")):
        LoadClipBackground(videos=[tmp_path / "none"])
    with pytest.raises(ValueError, match="no backgrounds: give images and/or videos"):
        LoadClipBackground()
    with pytest.raises(
        ValueError, match=re.escape("got video_probability=0.5, scale=(0.3, 1.0), speed_range=(0, 1)")
    ):
        LoadClipBackground(images=[tmp_path], speed_range=(0, 1))
    write_frame_folder(tmp_path / "frames", [0, 10, 20])
    cv2.imwrite(str(tmp_path / "frames" / "00001.png"), np.zeros((H + 1, W, 3), np.uint8))
    np.random.seed(0)
    with pytest.raises(VideoDataError, match=re.escape(f"{tmp_path / 'frames' / '00001.png'}: frame size")):
        LoadClipBackground(videos=[tmp_path / "frames"], speed_range=(1.0, 1.0))(clip(3))


def test_person_mask_is_alpha_from_one_half():
    alpha = np.array([[0, 127, 128, 255]], np.uint8)
    results = SemSegFromAlpha()(dict(video_id="clip", gt_alpha=[alpha, 255 - alpha]))
    assert [m.tolist() for m in results["gt_seg_maps"]] == [[[0, 0, 1, 1]], [[1, 1, 0, 0]]]
    assert results["gt_seg_maps"][0].dtype == np.uint8
    assert SemSegFromAlpha(threshold=0.1)(dict(gt_alpha=[alpha]))["gt_seg_maps"][0].tolist() == [[0, 1, 1, 1]]
    with pytest.raises(ValueError, match=re.escape("gt_seg_maps is loaded already")):
        SemSegFromAlpha()(dict(video_id="clip", gt_alpha=[alpha], gt_seg_maps=[alpha]))
    with pytest.raises(ValueError, match=re.escape("no gt_alpha")):
        SemSegFromAlpha()(dict(video_id="clip"))


@pytest.mark.parametrize("photo_scale, tolerance", [(1, 0), (3, 8)])
def test_resampling_only_what_the_camera_sees_changes_nothing(tmp_path, monkeypatch, photo_scale, tolerance):
    """The background is resampled from the part of the source the camera sees over the clip (and its mirror image
    past the border): the same as from the whole source, exactly when the camera magnifies; when it shrinks, area
    averaging of the part differs from that of the whole by its pixel grid only, far below texture contrast."""
    rng = np.random.default_rng(0)
    size = (W * photo_scale, H * photo_scale)
    photo = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    # Fast zooming and panning over a small box: views reach past the photo's border, where it reflects.
    loader = LoadClipBackground(images=[tmp_path], scale=(0.2, 0.3), max_translation=0.4, max_scale=0.1)
    whole = {}
    for seed in range(4):
        np.random.seed(seed)
        cropped = np.stack(loader(clip(6))["background"]).astype(int)
        with monkeypatch.context() as patch:
            patch.setattr(background_module, "_seen_box", lambda views, h, w, sh, sw, margin: (0, 0, sw, sh))
            np.random.seed(seed)
            whole[seed] = np.stack(loader(clip(6))["background"]).astype(int)
        assert np.abs(cropped - whole[seed]).max() <= tolerance
        assert whole[seed].std() > 20


def test_the_seen_box_holds_the_mirror_image_of_views_past_the_border():
    rng = np.random.default_rng(1)
    source = cv2.resize(
        rng.integers(0, 256, (12, 20, 3), dtype=np.uint8), (100, 60), interpolation=cv2.INTER_CUBIC
    )
    angle = np.deg2rad(10)
    # Output pixel (x, y) -> source (0.8 R (x, y) + (-40, 20)): a 30 x 20 view almost all left of the source.
    view = np.array(
        [[0.8 * np.cos(angle), -0.8 * np.sin(angle), -40], [0.8 * np.sin(angle), 0.8 * np.cos(angle), 20]]
    )
    view = np.vstack([view, [0, 0, 1]])
    x0, y0, x1, y1 = background_module._seen_box([view], 20, 30, 60, 100, margin=3)
    assert x0 == 0 and x1 >= 40 and 0 < y0 < 20 and 40 < y1 < 60
    options = dict(flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101)
    whole = cv2.warpAffine(source, view[:2], (30, 20), **options)
    shifted = view - np.array([[0, 0, x0], [0, 0, y0], [0, 0, 0]])
    cropped = cv2.warpAffine(np.ascontiguousarray(source[y0:y1, x0:x1]), shifted[:2], (30, 20), **options)
    np.testing.assert_array_equal(cropped, whole)
