"""Matting sources: the VideoMatte240K layout, image matting sets (fg/ + alpha/), the synthetic set as matting clips,
and the compositing pipelines built on them."""

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from steadyseg.datasets import (
    ImageMattingDataset,
    PackVideoInputs,
    SyntheticPeopleDataset,
    VideoDataError,
    VideoMatteDataset,
)

H, W = 24, 32


def matting_frame(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Foreground (its red channel = 10 t, so frames can be told apart) and a soft alpha moving right with t."""
    ys, xs = np.mgrid[0:H, 0:W]
    fgr = np.stack([np.full((H, W), 10 * t), 5 * ys, 4 * xs], axis=-1).astype(np.uint8)
    alpha = np.clip((xs - 8 - t) * 40, 0, 255).astype(np.uint8)
    return fgr, alpha


def write_video_matte(root: Path, clips: dict[str, int], extension: str = ".png") -> Path:
    """VideoMatte240K layout: fgr/<clip>/<frame> and pha/<clip>/<frame>, RGB foreground and grey alpha."""
    for clip, num_frames in clips.items():
        for folder in ("fgr", "pha"):
            (root / folder / clip).mkdir(parents=True)
        for t in range(num_frames):
            fgr, alpha = matting_frame(t)
            cv2.imwrite(str(root / "fgr" / clip / f"{t:05d}{extension}"), fgr[..., ::-1])
            cv2.imwrite(str(root / "pha" / clip / f"{t:05d}{extension}"), alpha)
    return root


def write_image_matting(root: Path, names: list[str], fg_dir: str = "fg", alpha_dir: str = "alpha") -> Path:
    """fg/<name>.jpg foregrounds with alpha/<name>.png mattes, of different sizes as real sets have."""
    (root / fg_dir).mkdir(parents=True)
    (root / alpha_dir).mkdir(parents=True)
    for k, name in enumerate(names):
        fgr, alpha = matting_frame(k)
        size = (W + 8 * k, H + 4 * k)
        cv2.imwrite(str(root / fg_dir / f"{name}.jpg"), cv2.resize(fgr, size)[..., ::-1])
        cv2.imwrite(
            str(root / alpha_dir / f"{name}.png"), cv2.resize(alpha, size, interpolation=cv2.INTER_NEAREST)
        )
    return root


def write_photo(path: Path, size: tuple[int, int] = (120, 90)) -> Path:
    rng = np.random.default_rng(0)
    photo = cv2.resize(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), photo)
    return path


MATTING_LOAD = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True, with_fgr=True),
    dict(type="SemSegFromAlpha"),
    dict(type="PackVideoInputs"),
]


def test_video_matte_gives_foreground_alpha_and_person_mask_in_frame_order(tmp_path):
    root = write_video_matte(tmp_path / "vm", {"0001": 5, "0000": 3})
    dataset = VideoMatteDataset(root, test_mode=True, clip_len=4, pipeline=MATTING_LOAD)
    assert [info["video_id"] for info in dataset.load_data_list()] == ["0000", "0001", "0001"]
    info = dataset.get_data_info(1)
    assert (
        info["frame_indices"] == [0, 1, 2, 3] and info["num_video_frames"] == 5 and info["label_mode"] is None
    )
    assert info["alpha_paths"] == [str(root / "pha" / "0001" / f"{t:05d}.png") for t in range(5)]
    assert (
        info["frame_paths"]
        == info["fgr_paths"]
        == [str(root / "fgr" / "0001" / f"{t:05d}.png") for t in range(5)]
    )
    packed = dataset[2]
    inputs, sample = packed["inputs"], packed["data_samples"]
    assert inputs.shape == (1, 3, H, W) and sample.frame_indices == [4]
    assert sample.gt_alpha.shape == (1, 1, H, W) and sample.gt_fgr.shape == (1, 3, H, W)
    assert sample.gt_sem_seg.shape == (1, H, W)
    fgr, alpha = matting_frame(4)
    torch.testing.assert_close(sample.gt_alpha[0, 0], torch.from_numpy(alpha).float() / 255)
    torch.testing.assert_close(sample.gt_fgr[0], torch.from_numpy(fgr).permute(2, 0, 1).float() / 255)
    torch.testing.assert_close(sample.gt_sem_seg[0], torch.from_numpy(alpha >= 128).long())
    # The frames are the foreground.
    torch.testing.assert_close(inputs[0], torch.from_numpy(fgr).permute(2, 0, 1))


def test_video_matte_reads_jpeg_layouts_and_selects_clips(tmp_path):
    root = write_video_matte(tmp_path / "vm", {"a": 2, "b": 2}, extension=".jpg")
    dataset = VideoMatteDataset(
        root, sequences=["b"], fps=30, pipeline=[dict(type="SampleClipFrames", clip_len=2)]
    )
    assert len(dataset) == 1 and dataset.get_data_info(0)["fps"] == 30
    assert dataset.get_data_info(0)["alpha_paths"][1] == str(root / "pha" / "b" / "00001.jpg")


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda root: (root / "pha" / "a" / "00002.png").unlink(),
            "{root}/pha/a/00002.jpg|jpeg|png|bmp: not found, the alpha of {root}/fgr/a/00002.png",
        ),
        (
            lambda root: cv2.imwrite(str(root / "pha" / "a" / "00009.png"), np.zeros((H, W), np.uint8)),
            "{root}/pha/a/00009.png: an alpha without a foreground in {root}/fgr/a",
        ),
        (
            lambda root: cv2.imwrite(str(root / "fgr" / "a" / "00001.jpg"), np.zeros((H, W, 3), np.uint8)),
            "{root}/fgr/a/00001.png: two files named '00001' (00001.jpg and 00001.png)",
        ),
        (
            lambda root: (root / "pha" / "a").rename(root / "pha" / "x"),
            "{root}/pha/a: alpha folder not found",
        ),
        (lambda root: (root / "fgr").rename(root / "foreground"), "{root}/fgr: foreground folder not found"),
    ],
)
def test_bad_video_matte_layouts_name_the_file(tmp_path, damage, message):
    root = write_video_matte(tmp_path / "vm", {"a": 4})
    damage(root)
    with pytest.raises(VideoDataError, match=re.escape(message.format(root=root))):
        VideoMatteDataset(root)


def test_image_matting_photos_become_moving_clips(tmp_path):
    root = write_image_matting(tmp_path / "aim", ["woman", "man"])
    pipeline = [
        dict(type="SampleClipFrames", clip_len=1),
        dict(type="LoadVideoClip"),
        dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
        dict(type="ClipRandomAffineMotion", num_frames=4, with_flow=False, max_translation=0.05),
        dict(type="TemporalReverse"),
    ]
    dataset = ImageMattingDataset(root, pipeline=pipeline)
    assert [dataset.get_data_info(i)["video_id"] for i in range(2)] == ["man", "woman"]
    info = dataset.get_data_info(0)
    assert info["frame_paths"] == info["fgr_paths"] == [str(root / "fg" / "man.jpg")]
    assert info["alpha_paths"] == [str(root / "alpha" / "man.png")] and info["num_video_frames"] == 1
    np.random.seed(0)
    results = dataset[0]
    assert len(results["imgs"]) == len(results["gt_alpha"]) == 4 and "gt_flow" not in results
    assert results["imgs"][0].shape == (H + 4, W + 8, 3) and results["gt_alpha"][0].shape == (H + 4, W + 8)
    # Frames and alpha move together, and they move.
    assert not np.array_equal(results["gt_alpha"][0], results["gt_alpha"][3])
    _, alpha = matting_frame(1)
    source = cv2.resize(alpha, (W + 8, H + 4), interpolation=cv2.INTER_NEAREST)
    middle = cv2.warpAffine(
        source, results["motion_matrices"][1], (W + 8, H + 4), borderMode=cv2.BORDER_REFLECT_101
    )
    frame = 2 if results["reversed"] else 1
    assert np.abs(results["gt_alpha"][frame].astype(int) - middle).max() <= 1


def test_bad_image_matting_layouts_name_the_file(tmp_path):
    root = write_image_matting(tmp_path / "d646", ["a", "b"], fg_dir="FG", alpha_dir="GT")
    assert len(ImageMattingDataset(root, fg_dir="FG", alpha_dir="GT")) == 2
    (root / "GT" / "b.png").unlink()
    with pytest.raises(
        VideoDataError, match=re.escape(f"{root}/GT/b.jpg|jpeg|png|bmp: not found, the alpha of")
    ):
        ImageMattingDataset(root, fg_dir="FG", alpha_dir="GT")
    with pytest.raises(VideoDataError, match=re.escape(f"{root}/fg: folder not found")):
        ImageMattingDataset(root)


def test_video_matte_composited_over_a_moving_photo(tmp_path):
    root = write_video_matte(tmp_path / "vm", {"0000": 12})
    photo = write_photo(tmp_path / "bg.jpg")
    pipeline = [
        dict(type="SampleClipFramesAtSpeed", clip_len=4, speed_range=(0.5, 3.0)),
        dict(type="LoadVideoClip"),
        dict(type="LoadClipAnnotations", with_sem_seg=False, with_alpha=True),
        dict(type="ClipRandomAffineMotion", with_flow=False),
        dict(type="TemporalReverse"),
        dict(type="ClipRandomResizedCrop", size=(24, 16), scale=(0.5, 1.0)),
        dict(type="ClipFlip"),
        dict(type="ClipAlbumentations", transforms=[dict(type="ColorJitter", brightness=0.2, hue=0.05)]),
        dict(
            type="LoadClipBackground", images=[photo], transforms=[dict(type="ColorJitter", brightness=0.2)]
        ),
        dict(type="ClipComposite", frames_are_foreground=True),
        dict(type="SemSegFromAlpha"),
    ]
    dataset = VideoMatteDataset(root, pipeline=pipeline)
    for seed in range(3):
        np.random.seed(seed)
        results = dataset[0]
        composite = np.stack(results["imgs"]).astype(np.float64)
        alpha = np.stack(results["gt_alpha"]).astype(np.float64)[..., None] / 255
        expected = alpha * np.stack(results["gt_fgr"]) + (1 - alpha) * np.stack(results["background"])
        np.testing.assert_allclose(composite, expected, rtol=0, atol=1e-3)
        assert composite.shape == (4, 16, 24, 3) and 0 < alpha.mean() < 1
        packed = PackVideoInputs()(results)
        sample = packed["data_samples"]
        assert packed["inputs"].shape == (4, 3, 16, 24) and packed["inputs"].dtype == torch.float32
        assert sample.gt_alpha.shape == (4, 1, 16, 24) and sample.gt_fgr.shape == (4, 3, 16, 24)
        assert sample.gt_sem_seg.shape == (4, 16, 24) and "gt_flow" not in sample
        torch.testing.assert_close(packed["inputs"], torch.from_numpy(composite).float().permute(0, 3, 1, 2))


def test_synthetic_people_as_matting_clips_over_other_backgrounds(tmp_path, synthetic_writer):
    root = synthetic_writer(tmp_path / "synthetic", num_frames=4)
    photo = write_photo(tmp_path / "bg.png")
    load = [
        dict(type="SampleClipFrames", clip_len=3),
        dict(type="LoadVideoClip"),
        dict(type="LoadClipAnnotations", with_alpha=True, with_fgr=True),
    ]
    as_is = SyntheticPeopleDataset(
        root, with_alpha=True, with_fgr=True, pipeline=[*load, dict(type="PackVideoInputs")]
    )
    np.random.seed(0)
    sample = as_is[0]["data_samples"]
    assert sample.gt_alpha.shape == (3, 1, 32, 48) and sample.gt_fgr.shape == (3, 3, 32, 48)
    assert sample.gt_sem_seg.shape == (3, 32, 48) and set(sample.gt_sem_seg.unique().tolist()) == {0, 1}
    recomposited = SyntheticPeopleDataset(
        root,
        with_alpha=True,
        with_fgr=True,
        pipeline=[*load, dict(type="LoadClipBackground", images=[photo]), dict(type="ClipComposite")],
    )
    np.random.seed(0)
    results = recomposited[0]
    alpha = np.stack(results["gt_alpha"]).astype(np.float64)[..., None] / 255
    expected = alpha * np.stack(results["gt_fgr"]) + (1 - alpha) * np.stack(results["background"])
    np.testing.assert_allclose(np.stack(results["imgs"]), expected, rtol=0, atol=1e-3)
    # The people's masks stay the synthetic set's; the background is the photo's.
    assert results["gt_seg_maps"][0].max() == 1 and results["background_source"] == str(photo)
