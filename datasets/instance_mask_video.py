"""``InstanceMaskVideoDataset``: one video and a folder of its per-frame instance-id masks.

```
<data_root>/<video>              a video file (schoolgirls.mp4) or a folder of frames (00000.jpg, ...)
<data_root>/<mask_dir>/00000.png one single-channel PNG per frame (palette or grey): 0 background, 255 void, any
                                 other value an instance id, which becomes its track id
```
Masks of a video file are named by frame number (``00000.png`` for frame 0); those of a frame folder by the
frame's name. This is how ``../shared/data/davis_schoolgirls`` holds DAVIS-2017's schoolgirls clip, which neither
:class:`DAVISDataset` (JPEG frame folders under ``JPEGImages/<resolution>/``) nor :class:`VideoFolderDataset`
(unlabelled videos) reads; ``MergeTracks`` joins ids that annotate one person apart (a girl and her backpack).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset, check_per_frame_files, list_frame_files
from .errors import VideoDataError
from .video_io import open_video, read_video_frames


@DATASETS.register_module()
class InstanceMaskVideoDataset(BaseVideoDataset):
    """A video with per-frame instance masks (``label_mode='instance'``); ``video_id`` is the file stem or the frame
    folder's name.

    Mask count, names and sizes are checked against the video's frames at load time, each mismatch one
    ``VideoDataError`` naming the file at fault.

    Args:
        data_root: folder holding the video and the masks.
        video: the video file or frame folder, relative to ``data_root`` (or absolute).
        mask_dir: the folder of masks, relative to ``data_root`` (or absolute).
        pipeline, test_mode, clip_len, **kwargs: see :class:`BaseVideoDataset`.
        fps: frame rate reported for a frame folder (a video file reports its own).
    """

    def __init__(
        self,
        data_root: str | Path,
        video: str | Path,
        mask_dir: str | Path = "masks",
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        fps: float | None = None,
        **kwargs,
    ):
        self.video = Path(data_root) / video
        self.mask_dir = Path(data_root) / mask_dir
        self.fps = fps
        super().__init__(data_root, pipeline, test_mode, clip_len, **kwargs)

    def _frames(self) -> tuple[dict, list[str], tuple[int, int]]:
        """The video's info, the names its masks must have, and its frame size."""
        if self.video.is_dir():
            frames = list_frame_files(self.video)
            info = dict(
                video_id=self.video.name, frame_paths=frames, num_video_frames=len(frames), fps=self.fps
            )
            return info, [Path(path).stem for path in frames], _image_size(frames[0])
        reader = open_video(self.video)
        info = dict(
            video_id=self.video.stem,
            video_path=str(self.video),
            num_video_frames=len(reader),
            fps=reader.get_avg_fps(),
        )
        size = read_video_frames(self.video, [0])[0].shape[:2]
        return info, [f"{i:05d}" for i in range(len(reader))], size

    def load_video_infos(self) -> list[dict]:
        info, stems, size = self._frames()
        # The one video is always read; ``sequences``, if given, may only name it.
        self.select_sequences([info["video_id"]], self.video)
        masks = list_frame_files(self.mask_dir, (".png",))
        if len(masks) != len(stems):
            raise VideoDataError(
                f"{self.mask_dir}: {len(masks)} masks for the {len(stems)} frames of {self.video}"
            )
        check_per_frame_files(masks, self.mask_dir, "mask", len(stems), stems)
        for path in masks:
            mask_size = _image_size(path)
            if mask_size != size:
                raise VideoDataError(
                    f"{path}: mask size {mask_size} differs from the frame size {size} of {self.video}"
                )
        return [dict(info, mask_paths=masks, label_mode="instance")]


def _image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the file's header, without decoding the image."""
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except (UnidentifiedImageError, OSError) as error:
        raise VideoDataError(f"{path}: cannot read the image ({error})") from error
