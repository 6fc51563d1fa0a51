"""``VideoFolderDataset``: unlabelled videos (files or frame folders) for inference and GT-free metrics.

Also holds :func:`list_video_sources`, which turns a ``videos`` argument into video files and frame folders.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset, list_frame_files
from .errors import VideoDataError
from .video_io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_video


@DATASETS.register_module()
class VideoFolderDataset(BaseVideoDataset):
    """Videos without labels; ``video_id`` is the file stem or the frame folder's name.

    Args:
        data_root: a video file, a frame folder, or a folder holding video files and/or frame folders.
        videos: replaces the scan of ``data_root`` (see :func:`list_video_sources`): a list of video files /
            frame folders, a folder to scan, a glob pattern, or a ``.txt`` list file (one entry a line);
            relative paths and entries are under ``data_root``.
        pipeline, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        test_mode: True by default, as these videos serve inference (chunks of ``clip_len`` frames).
        fps: frame rate reported for frame folders (video files report their own).
    """

    def __init__(
        self,
        data_root: str | Path = "",
        videos: str | Path | Sequence[str | Path] | None = None,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = True,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        fps: float | None = None,
        **kwargs,
    ):
        self.videos = videos
        self.fps = fps
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _video_info(self, source: Path) -> dict:
        if source.is_dir():
            frames = list_frame_files(source)
            return dict(video_id=source.name, frame_paths=frames, num_video_frames=len(frames), fps=self.fps)
        reader = open_video(source)
        return dict(
            video_id=source.stem,
            video_path=str(source),
            num_video_frames=len(reader),
            fps=reader.get_avg_fps(),
        )

    def load_video_infos(self) -> list[dict]:
        sources = {}
        for source in list_video_sources(self.data_root, self.videos):
            video_id = source.name if source.is_dir() else source.stem
            if video_id in sources:
                raise VideoDataError(f"{source}: video id {video_id!r} also used by {sources[video_id]}")
            sources[video_id] = source
        names = self.select_sequences(list(sources), self.data_root or "videos")
        return [dict(self._video_info(sources[name]), label_mode=None) for name in names]


def list_video_sources(
    data_root: str | Path, videos: str | Path | Sequence[str | Path] | None = None
) -> list[Path]:
    """The video files and frame folders of a dataset of unlabelled videos.

    ``videos`` None scans ``data_root``; a sequence lists the videos; a single path is a glob pattern (when it
    has ``*``, ``?`` or ``[``), a ``.txt`` list file (one video a line; blank lines and ``#`` comments
    skipped), or a video file / folder to scan. Relative paths, including a list file's entries, are under
    ``data_root``. A scanned folder that holds images is itself one video (a frame folder); otherwise its video
    files and sub-folders are the videos.
    """
    root = Path(data_root)
    if videos is None:
        return _scan(root)
    if not isinstance(videos, (str, Path)):
        return [root / video for video in videos]
    path = root / videos
    if any(char in str(videos) for char in "*?["):
        matches = [Path(match) for match in sorted(glob.glob(str(path)))]
        sources = [match for match in matches if match.is_dir() or match.suffix.lower() in VIDEO_EXTENSIONS]
        if not sources:
            raise VideoDataError(f"{path}: the pattern matches no video files or frame folders")
        return sources
    if path.suffix.lower() == ".txt":
        if not path.is_file():
            raise VideoDataError(f"{path}: video list file not found")
        lines = [line.strip() for line in path.read_text().splitlines()]
        entries = [line for line in lines if line and not line.startswith("#")]
        if not entries:
            raise VideoDataError(f"{path}: the video list file lists no videos")
        return [root / entry for entry in entries]
    return _scan(path)


def _scan(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise VideoDataError(f"{path}: no such video file or folder")
    entries = sorted(path.iterdir())
    if any(p.suffix.lower() in IMAGE_EXTENSIONS for p in entries):
        return [path]
    sources = [p for p in entries if p.suffix.lower() in VIDEO_EXTENSIONS or p.is_dir()]
    if not sources:
        raise VideoDataError(f"{path}: no video files ({' / '.join(VIDEO_EXTENSIONS)}) or frame folders")
    return sources
