"""``VideoFolderDataset``: unlabelled videos (files or frame folders) for inference and GT-free metrics."""

from __future__ import annotations

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
        videos: explicit list of video files / frame folders (relative ones are under ``data_root``);
            replaces the scan of ``data_root``.
        pipeline, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        test_mode: True by default, as these videos serve inference (chunks of ``clip_len`` frames).
        fps: frame rate reported for frame folders (video files report their own).
    """

    def __init__(
        self,
        data_root: str | Path = "",
        videos: Sequence[str | Path] | None = None,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = True,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        fps: float | None = None,
        **kwargs,
    ):
        self.videos = None if videos is None else [Path(data_root) / v for v in videos]
        self.fps = fps
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _sources(self) -> list[Path]:
        if self.videos is not None:
            return self.videos
        root = Path(self.data_root)
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise VideoDataError(f"{root}: no such video file or folder")
        entries = sorted(root.iterdir())
        if any(p.suffix.lower() in IMAGE_EXTENSIONS for p in entries):
            return [root]
        sources = [p for p in entries if p.suffix.lower() in VIDEO_EXTENSIONS or p.is_dir()]
        if not sources:
            raise VideoDataError(f"{root}: no video files ({' / '.join(VIDEO_EXTENSIONS)}) or frame folders")
        return sources

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
        for source in self._sources():
            video_id = source.name if source.is_dir() else source.stem
            if video_id in sources:
                raise VideoDataError(f"{source}: video id {video_id!r} also used by {sources[video_id]}")
            sources[video_id] = source
        names = self.select_sequences(list(sources), self.data_root or "videos")
        return [dict(self._video_info(sources[name]), label_mode=None) for name in names]
