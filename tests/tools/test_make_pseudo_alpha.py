"""tools/make_pseudo_alpha.py: the VideoMatte240K layout from DAVIS and COCO masks, resuming, errors, real DAVIS."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

from steadyseg.datasets import VideoMatteDataset
from steadyseg.pseudo_alpha import trimap_from_mask

HEIGHT, WIDTH, BAND = 48, 64, 6
FOREGROUND_RGB = np.array([230, 80, 30])
BACKGROUND_RGB = np.array([30, 100, 200])


def soft_disk(center_x: float) -> np.ndarray:
    """A disk of radius 14 px whose alpha falls from 1 to 0 over 6 px."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    return np.clip((14 - np.hypot(yy - 23.5, xx - center_x)) / 6 + 0.5, 0, 1)


def write_davis_frame(root: Path, clip: str, frame: str, alpha: np.ndarray) -> None:
    rgb = alpha[..., None] * FOREGROUND_RGB + (1 - alpha[..., None]) * BACKGROUND_RGB
    for kind in ("JPEGImages", "Annotations"):
        (root / kind / "480p" / clip).mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(np.round(rgb).astype(np.uint8), cv2.COLOR_RGB2BGR)
    # Full-resolution chroma, so the JPEG stays close to the exact composite at the edge.
    quality = [
        cv2.IMWRITE_JPEG_QUALITY,
        100,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    ]
    cv2.imwrite(str(root / "JPEGImages" / "480p" / clip / f"{frame}.jpg"), bgr, quality)
    cv2.imwrite(
        str(root / "Annotations" / "480p" / clip / f"{frame}.png"), (alpha >= 0.5).astype(np.uint8) * 255
    )


@pytest.fixture
def davis_root(tmp_path) -> Path:
    """Clips a and b, two frames each: a soft disk over two flat colours moving 4 px right per frame."""
    root = tmp_path / "davis"
    for clip, start in (("a", 24.0), ("b", 36.0)):
        for t in range(2):
            write_davis_frame(root, clip, f"{t:05d}", soft_disk(start + 4 * t))
    return root


@pytest.fixture(scope="module")
def make_pseudo_alpha(repo_root):
    return runpy.run_path(str(repo_root / "tools" / "make_pseudo_alpha.py"), run_name="make_pseudo_alpha")[
        "main"
    ]


def files_of(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def read_alpha(path: Path) -> np.ndarray:
    pha = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert pha.dtype == np.uint8 and pha.shape == (HEIGHT, WIDTH)
    return pha / 255


def test_writes_the_videomatte_layout_with_the_alpha_of_the_composite(
    make_pseudo_alpha, davis_root, tmp_path
):
    out = tmp_path / "out"
    make_pseudo_alpha(["--out", str(out), "--davis", str(davis_root), "--clips", "a", "--band", str(BAND)])

    assert files_of(out) == [
        "README.txt",
        "fgr/a/00000.jpg",
        "fgr/a/00001.jpg",
        "pha/a/00000.png",
        "pha/a/00001.png",
        "pseudo_alpha.json",
    ]
    for t in range(2):
        alpha, true_alpha = read_alpha(out / "pha" / "a" / f"{t:05d}.png"), soft_disk(24 + 4 * t)
        # The soft edge lies inside the band, so its alpha is the composite's; measured worst error 0.013 (JPEG
        # of the frames, 8-bit alpha), and pixels beyond the band are exactly 0 or 1.
        assert np.abs(alpha - true_alpha).max() < 0.03
        trimap = trimap_from_mask(true_alpha >= 0.5, BAND)
        np.testing.assert_array_equal(alpha[trimap != 0.5], trimap[trimap != 0.5])
        fgr = cv2.cvtColor(cv2.imread(str(out / "fgr" / "a" / f"{t:05d}.jpg")), cv2.COLOR_BGR2RGB)
        assert np.abs(fgr[true_alpha >= 0.5].astype(int) - FOREGROUND_RGB).max() < 12
    record = json.loads((out / "pseudo_alpha.json").read_text())
    assert record["pseudo_ground_truth"] is True and record["band"] == BAND
    assert record["source"] == {"format": "davis", "root": str(davis_root), "resolution": "480p"}
    assert record["clips"]["a"]["frames"] == 2
    readme = (out / "README.txt").read_text()
    assert readme.startswith("PSEUDO GROUND TRUTH") and f"within {BAND} px" in readme
    # The layout's reader pairs each foreground with its alpha.
    (info,) = VideoMatteDataset(str(out)).load_video_infos()
    assert info["video_id"] == "a" and info["num_video_frames"] == 2
    assert info["alpha_paths"] == [str(out / "pha" / "a" / f"{t:05d}.png") for t in range(2)]


def test_a_rerun_skips_written_clips_and_redoes_an_interrupted_one(
    make_pseudo_alpha, davis_root, tmp_path, capsys
):
    out = tmp_path / "out"
    arguments = ["--out", str(out), "--davis", str(davis_root), "--band", str(BAND)]
    make_pseudo_alpha([*arguments, "--clips", "a"])
    written = {path: path.stat().st_mtime_ns for path in (out / "pha" / "a").iterdir()}
    # Clip b was interrupted by an earlier run: it left a frame behind but is not in the record.
    (out / "pha" / "b").mkdir()
    (out / "pha" / "b" / "00007.png").write_bytes(b"left over")
    capsys.readouterr()

    make_pseudo_alpha(arguments)

    assert "skipping 1 clips already written: a" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in (out / "pha" / "a").iterdir()} == written
    assert files_of(out / "pha" / "b") == ["00000.png", "00001.png"]
    assert set(json.loads((out / "pseudo_alpha.json").read_text())["clips"]) == {"a", "b"}


def test_a_rerun_with_other_settings_names_the_record(make_pseudo_alpha, davis_root, tmp_path):
    out = tmp_path / "out"
    make_pseudo_alpha(["--out", str(out), "--davis", str(davis_root), "--clips", "a", "--band", str(BAND)])
    with pytest.raises(SystemExit, match=r"pseudo_alpha.json: made with band=6, this run asks for 5"):
        make_pseudo_alpha(["--out", str(out), "--davis", str(davis_root), "--band", "5"])


def test_max_frames_keeps_each_clips_first_frames(make_pseudo_alpha, davis_root, tmp_path):
    out = tmp_path / "out"
    make_pseudo_alpha(
        ["--out", str(out), "--davis", str(davis_root), "--max-frames", "1", "--band", str(BAND)]
    )
    assert files_of(out / "pha") == ["a/00000.png", "b/00000.png"]


@pytest.mark.parametrize("damage", ["truncated frame", "missing mask", "mask of another size"])
def test_bad_files_are_named(make_pseudo_alpha, davis_root, tmp_path, damage):
    frame = davis_root / "JPEGImages" / "480p" / "b" / "00001.jpg"
    mask = davis_root / "Annotations" / "480p" / "b" / "00001.png"
    if damage == "truncated frame":
        frame.write_bytes(frame.read_bytes()[:200])
        culprit = frame
    elif damage == "missing mask":
        mask.unlink()
        culprit = mask
    else:
        cv2.imwrite(str(mask), np.zeros((HEIGHT, WIDTH + 2), np.uint8))
        culprit = mask
    with pytest.raises(SystemExit, match=f"make_pseudo_alpha: error: {culprit}"):
        make_pseudo_alpha(["--out", str(tmp_path / "out"), "--davis", str(davis_root), "--band", str(BAND)])


def write_coco_root(root: Path) -> None:
    """Photo 1: two people (squares, one with a soft edge in the image); photo 2: a crowd; photo 3: no one."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[:] = BACKGROUND_RGB
    image[8:30, 6:28] = FOREGROUND_RGB
    image[20:44, 36:60] = FOREGROUND_RGB
    for name in ("0001", "0002", "0003"):
        cv2.imwrite(str(root / "images" / f"{name}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def square(x0, y0, x1, y1):
        return [[x0, y0, x1, y0, x1, y1, x0, y1]]

    people = [
        dict(id=1, image_id=1, category_id=1, iscrowd=0, segmentation=square(6, 8, 28, 30)),
        dict(id=2, image_id=1, category_id=1, iscrowd=0, segmentation=square(36, 20, 60, 44)),
        dict(id=3, image_id=2, category_id=1, iscrowd=1, segmentation=square(6, 8, 28, 30)),
        dict(id=4, image_id=3, category_id=2, iscrowd=0, segmentation=square(6, 8, 28, 30)),
    ]
    for person in people:
        person.update(area=484.0, bbox=[0, 0, 1, 1])
    images = [dict(id=i, file_name=f"000{i}.jpg", height=HEIGHT, width=WIDTH) for i in (1, 2, 3)]
    categories = [dict(id=1, name="person"), dict(id=2, name="bicycle")]
    content = dict(images=images, annotations=people, categories=categories)
    (root / "annotations" / "instances.json").write_text(json.dumps(content))


def test_coco_images_become_one_frame_clips_of_all_their_people(make_pseudo_alpha, tmp_path):
    root, out = tmp_path / "coco", tmp_path / "out"
    write_coco_root(root)
    make_pseudo_alpha(["--out", str(out), "--coco", str(root), "--band", "4"])

    # Photo 2 has a crowd region and is left out; photo 3 has no person.
    assert files_of(out / "pha") == ["0001/00000.png"]
    alpha = read_alpha(out / "pha" / "0001" / "00000.png")
    # Both people, each deep inside its square (pycocotools rasterizes the polygons' pixel grid).
    assert (alpha[12:26, 10:24] == 1).all() and (alpha[24:40, 40:56] == 1).all()
    # Between them lies flat background within both bands, beyond them background outside any band.
    assert alpha[:, 30:34].max() < 0.05
    assert alpha[:3].max() == 0 and alpha[:, :2].max() == 0
    source = json.loads((out / "pseudo_alpha.json").read_text())["source"]
    assert source["format"] == "coco" and source["left_out_crowd_images"] == ["0002"]


def test_real_davis_clip_gives_alpha_that_agrees_with_its_mask(make_pseudo_alpha, shared_data, tmp_path):
    davis, out = shared_data / "davis_people", tmp_path / "out"
    make_pseudo_alpha(["--out", str(out), "--davis", str(davis), "--clips", "hike", "--max-frames", "2"])

    assert files_of(out / "pha") == ["hike/00000.png", "hike/00001.png"]
    for frame in ("00000", "00001"):
        alpha = cv2.imread(str(out / "pha" / "hike" / f"{frame}.png"), cv2.IMREAD_UNCHANGED) / 255
        mask = (
            cv2.imread(str(davis / "Annotations" / "480p" / "hike" / f"{frame}.png"), cv2.IMREAD_GRAYSCALE)
            > 0
        )
        assert alpha.shape == mask.shape == (480, 854)
        assert alpha.min() >= 0 and alpha.max() <= 1
        person = alpha >= 0.5
        # Measured 0.943 and 0.939 with the default 10 px band.
        assert (person & mask).sum() / (person | mask).sum() >= 0.9
        # Soft values only near the edge: some exist (the matting did something), and only within the band.
        soft = (alpha > 0) & (alpha < 1)
        assert soft.sum() > 1000
        assert not (soft & (cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5) > 10)).any()
