"""``LoadClipBackground``: a random background clip (photo or video) with its own camera motion, for compositing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from ..base_video_dataset import list_frame_files
from ..errors import VideoDataError
from ..video_folder import list_video_sources
from ..video_io import IMAGE_EXTENSIONS, open_video, read_image_rgb, read_video_frames
from .clip_albumentations import build_albumentation
from .clip_random_affine_motion import smooth_similarity_path
from .sample_clip_frames_at_speed import sample_speed_clip


def list_background_images(entries: Sequence[str | Path]) -> list[Path]:
    """The photos of ``entries``: image files, and the images directly inside folders."""
    images = []
    for entry in map(Path, entries):
        if entry.is_dir():
            images += list(map(Path, list_frame_files(entry)))
        elif entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(entry)
        else:
            raise VideoDataError(
                f"{entry}: not an image file ({' / '.join(IMAGE_EXTENSIONS)}) or folder of images"
            )
    return images


def _pixel_map(scale_x: float, scale_y: float, offset_x: float, offset_y: float) -> np.ndarray:
    """3 x 3 map from output pixels to input pixels for a box scaled by (scale_x, scale_y) from (offset_x,
    offset_y), pixel centres at integers (as OpenCV resamples)."""
    return np.array(
        [
            [scale_x, 0.0, offset_x + 0.5 * scale_x - 0.5],
            [0.0, scale_y, offset_y + 0.5 * scale_y - 0.5],
            [0.0, 0.0, 1.0],
        ]
    )


def _seen_box(
    views: list[np.ndarray], height: int, width: int, source_h: int, source_w: int, margin: float
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the source pixels that output pixels map to under any of ``views`` (an affine map takes
    the output rectangle's extremes to its corners), with their mirror images where they fall past the source's
    border (it reflects), widened by ``margin`` and clipped to the source."""
    corners = np.array([[0, width - 1, 0, width - 1], [0, 0, height - 1, height - 1], [1, 1, 1, 1]], float)
    seen = np.concatenate([(view @ corners)[:2] for view in views], axis=1)
    box = []
    for low, high, size in (
        (seen[0].min(), seen[0].max(), source_w),
        (seen[1].min(), seen[1].max(), source_h),
    ):
        low, high = min(low, 2 * (size - 1) - high), max(high, -low)
        start = min(max(int(np.floor(low - margin)), 0), size - 1)
        box.append((start, max(min(int(np.ceil(high + margin)) + 1, size), start + 1)))
    (x0, x1), (y0, y1) = box
    return x0, y0, x1, y1


@TRANSFORMS.register_module()
class LoadClipBackground(BaseTransform):
    """Load a background clip the size and length of the clip's frames: ``background`` (list of T H x W x 3
    uint8 RGB), for ``ClipComposite``.

    A source is drawn at random: a video with probability ``video_probability`` (when both kinds are given),
    else a photo, each uniformly among its kind. A video plays ``T`` frames at a random speed in ``speed_range``
    (:func:`~steadyseg.datasets.transforms.sample_clip_frames_at_speed.sample_speed_clip`; a short video slows
    down, repeating frames); a photo stands still. The camera then looks at a random box of the source with the
    clip's aspect ratio (area ``scale`` times the largest such box; photos larger than the box are first shrunk
    with area averaging, so no aliasing) and moves over the clip along a smooth random similarity path
    (:func:`~steadyseg.datasets.transforms.clip_random_affine_motion.smooth_similarity_path`, its own draw,
    independent of any foreground motion): pan and zoom by default, rotation with ``max_rotation``. Where the
    camera sees past the source's border, the source reflects. ``transforms`` (albumentations, e.g. colour
    jitter) then apply to all background frames with one parameter draw, as ``ClipAlbumentations`` does to the
    foreground, so foreground and background get their own augmentation before they are composited.

    Run it after the transforms that set the clip's length and size (motion, crops, resizes): it reads them from
    ``imgs``. Adds ``background`` and ``background_source`` (the file or frame folder drawn). Draws come from
    numpy's global RNG (seeded by mmengine).

    Args:
        images: photos: image files and folders of images (each image a background).
        videos: videos: video files, frame folders, or folders of them, as
            :func:`~steadyseg.datasets.video_folder.list_video_sources` reads a ``videos`` entry (a ``.txt``
            list or a glob pattern too).
        video_probability: chance of a video background when both kinds are given.
        scale: (min, max) area of the camera's box as a fraction of the largest box of the clip's aspect ratio
            that fits in the source.
        speed_range: (slowest, fastest) playback speed of a video background.
        max_translation, max_rotation, max_scale, max_acceleration: the camera path's ranges, as in
            ``ClipRandomAffineMotion``.
        transforms: albumentations transforms (dicts or instances) applied to the background clip.
    """

    def __init__(
        self,
        images: Sequence[str | Path] = (),
        videos: Sequence[str | Path] = (),
        video_probability: float = 0.5,
        scale: tuple[float, float] = (0.3, 1.0),
        speed_range: tuple[float, float] = (1.0, 1.0),
        max_translation: float = 0.02,
        max_rotation: float = 0.0,
        max_scale: float = 0.02,
        max_acceleration: float = 0.5,
        transforms: Sequence[dict | A.BasicTransform] = (),
    ):
        if isinstance(images, (str, Path)):
            images = [images]
        if isinstance(videos, (str, Path)):
            videos = [videos]
        valid = (
            0 <= video_probability <= 1
            and 0 < scale[0] <= scale[1] <= 1
            and 0 < speed_range[0] <= speed_range[1]
        )
        if not valid:
            raise ValueError(
                f"LoadClipBackground: need 0 <= video_probability <= 1, 0 < scale[0] <= scale[1] <= 1 and "
                f"0 < speed_range[0] <= speed_range[1], got video_probability={video_probability}, scale={scale}, "
                f"speed_range={speed_range}"
            )
        self.images = list_background_images(images)
        self.videos = [source for entry in videos for source in list_video_sources("", entry)]
        if not self.images and not self.videos:
            raise ValueError("LoadClipBackground: no backgrounds: give images and/or videos")
        self.video_probability = video_probability
        self.scale = tuple(scale)
        self.speed_range = tuple(speed_range)
        self.motion = dict(
            max_translation=max_translation,
            max_rotation=max_rotation,
            max_scale=max_scale,
            max_acceleration=max_acceleration,
        )
        self.transforms = [build_albumentation(t) for t in transforms]
        self.compose = A.Compose(self.transforms)

    def _video_frames(self, source: Path, num_frames: int) -> list[np.ndarray]:
        frame_paths = list_frame_files(source) if source.is_dir() else None
        length = len(frame_paths) if frame_paths is not None else len(open_video(source))
        indices, _ = sample_speed_clip(length, num_frames, self.speed_range)
        if frame_paths is None:
            return read_video_frames(source, indices)
        # A slowed-down clip repeats frames: decode each once.
        decoded = {i: read_image_rgb(frame_paths[i]) for i in sorted(set(indices))}
        for i, frame in decoded.items():
            if frame.shape != decoded[indices[0]].shape:
                raise VideoDataError(
                    f"{frame_paths[i]}: frame size {frame.shape[:2]} differs from the background clip's "
                    f"{decoded[indices[0]].shape[:2]}"
                )
        return [decoded[i] for i in indices]

    def _camera_box(
        self, source_h: int, source_w: int, height: int, width: int
    ) -> tuple[float, float, float]:
        """(x0, y0, size factor) of a random box of the clip's aspect ratio in the source: box pixel = factor x
        output pixel."""
        largest = min(source_w / width, source_h / height)
        factor = largest * np.sqrt(np.random.uniform(*self.scale))
        x0 = np.random.uniform(0, source_w - factor * width)
        y0 = np.random.uniform(0, source_h - factor * height)
        return x0, y0, factor

    def transform(self, results: dict) -> dict:
        num_frames = len(results["imgs"])
        height, width = results["imgs"][0].shape[:2]
        use_video = bool(self.videos) and (not self.images or np.random.rand() < self.video_probability)
        if use_video:
            source = self.videos[np.random.randint(len(self.videos))]
            frames = self._video_frames(source, num_frames)
        else:
            source = self.images[np.random.randint(len(self.images))]
            frames = [read_image_rgb(source)]
        source_h, source_w = frames[0].shape[:2]
        x0, y0, factor = self._camera_box(source_h, source_w, height, width)
        camera = smooth_similarity_path(num_frames, height, width, **self.motion)
        # Per frame, output pixel -> source pixel: the camera's path within the box, then the box in the source.
        views = [_pixel_map(factor, factor, x0, y0) @ np.linalg.inv(matrix) for matrix in camera]
        # Only what the camera sees over the clip is resampled (plus what bilinear and area sampling read around
        # it), so large sources cost little.
        x_lo, y_lo, x_hi, y_hi = _seen_box(
            views, height, width, source_h, source_w, margin=2 * max(factor, 1) + 1
        )
        frames = [frame[y_lo:y_hi, x_lo:x_hi] for frame in frames]
        to_crop = _pixel_map(1.0, 1.0, -x_lo, -y_lo)
        if factor > 1:
            # Bilinear sampling of a box larger than the output would alias: shrink the sources by area first.
            crop_w, crop_h = x_hi - x_lo, y_hi - y_lo
            shrunk = (max(round(crop_w / factor), 1), max(round(crop_h / factor), 1))
            frames = [cv2.resize(frame, shrunk, interpolation=cv2.INTER_AREA) for frame in frames]
            to_crop = _pixel_map(shrunk[0] / crop_w, shrunk[1] / crop_h, 0.0, 0.0) @ to_crop
        if len(frames) == 1:
            frames = frames * num_frames
        background = [
            cv2.warpAffine(
                frame,
                (to_crop @ view)[:2],
                (width, height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            for frame, view in zip(frames, views)
        ]
        if self.transforms:
            self.compose.set_random_seed(int(np.random.randint(2**31)))
            background = list(self.compose(images=np.stack(background))["images"])
        results["background"] = background
        results["background_source"] = str(source)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(images={len(self.images)} files, videos={len(self.videos)} sources, "
            f"video_probability={self.video_probability}, scale={self.scale}, speed_range={self.speed_range}, "
            f"motion={self.motion}, transforms={self.transforms})"
        )
