import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from steadyseg.datasets import LoadVideoClip, VideoDataError


def load(**results):
    return LoadVideoClip()(results)


def test_video_file_reads_requested_frames_as_rgb(shared_data):
    path = shared_data / "davis_schoolgirls" / "schoolgirls.mp4"
    results = load(video_path=str(path), frame_indices=[0, 10, 79])
    assert len(results["imgs"]) == 3
    assert all(img.shape == (240, 432, 3) and img.dtype == np.uint8 for img in results["imgs"])
    assert results["ori_shape"] == results["img_shape"] == (240, 432)
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 10)
    ok, bgr = capture.read()
    assert ok
    rgb = bgr[..., ::-1].astype(int)
    # Frame 10 in RGB order: close to OpenCV's decode of frame 10, far from frame 0 and from BGR order.
    assert np.abs(results["imgs"][1] - rgb).mean() < 3
    assert np.abs(results["imgs"][0] - rgb).mean() > 3
    assert np.abs(results["imgs"][1] - bgr).mean() > 10


def test_frame_folder_reads_rgb(shared_data):
    folder = shared_data / "davis_people" / "JPEGImages" / "480p" / "hike"
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    results = load(frame_paths=paths, frame_indices=[5, 2])
    expected = cv2.imread(paths[5])[..., ::-1]
    np.testing.assert_array_equal(results["imgs"][0], expected)
    assert results["ori_shape"] == (480, 854)


def test_missing_video(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(VideoDataError, match=re.escape(f"{missing}: video file not found")):
        load(video_path=str(missing), frame_indices=[0])


def test_corrupt_video(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00not a video" * 200)
    with pytest.raises(VideoDataError, match=re.escape(f"{corrupt}: cannot decode video")):
        load(video_path=str(corrupt), frame_indices=[0])


def test_index_beyond_video(shared_data):
    path = shared_data / "people_videos" / "carphone.mp4"
    with pytest.raises(
        VideoDataError, match=r"carphone.mp4: frame indices \[120\] beyond the video's 120 frames"
    ):
        load(video_path=str(path), frame_indices=[119, 120])


def test_index_beyond_frame_folder(tmp_path):
    paths = [str(tmp_path / f"{i:05d}.jpg") for i in range(3)]
    with pytest.raises(VideoDataError, match=r"frame indices \[3\] beyond the folder's 3 frames"):
        load(frame_paths=paths, frame_indices=[3])


def test_unreadable_and_missing_images(tmp_path):
    broken = tmp_path / "00000.jpg"
    broken.write_bytes(b"garbage")
    with pytest.raises(VideoDataError, match=re.escape(f"{broken}: cannot decode image")):
        load(frame_paths=[str(broken)], frame_indices=[0])
    missing = Path(tmp_path / "00001.jpg")
    with pytest.raises(VideoDataError, match=re.escape(f"{missing}: image file not found")):
        load(frame_paths=[str(broken), str(missing)], frame_indices=[1])


def _jpeg(path: Path) -> bytes:
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(path), frame)
    return path.read_bytes()


def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path):
    # OpenCV decodes it into a partly grey frame and only libjpeg warns on stderr, naming no file.
    path = tmp_path / "00000.jpg"
    path.write_bytes(_jpeg(path)[:-400])
    with pytest.raises(
        VideoDataError, match=re.escape(f"{path}: cannot decode image: truncated or corrupt JPEG")
    ):
        load(frame_paths=[str(path)], frame_indices=[0])


def test_complete_jpegs_with_padding_or_trailer_still_load(tmp_path):
    source = tmp_path / "source.jpg"
    data = _jpeg(source)
    expected = cv2.imread(str(source))[..., ::-1]
    for name, tail in (("padded.jpg", b"\x00" * 200), ("trailer.jpg", b"camera trailer data" * 10)):
        (tmp_path / name).write_bytes(data + tail)
        np.testing.assert_array_equal(
            load(frame_paths=[str(tmp_path / name)], frame_indices=[0])["imgs"][0], expected
        )
