"""``BaseVideoDataset``: one entry per video for training, consecutive chunks for testing.

A subclass only lists its videos (:meth:`BaseVideoDataset.load_video_infos`); each video info holds
``video_id``, ``frame_paths`` (frame folder) or ``video_path`` (video file), ``num_video_frames``,
``fps``, ``label_mode`` (how ``LoadClipAnnotations`` reads masks: ``'binary'`` 0/255, ``'instance'`` ids,
``'semantic'`` class ids, ``None`` unlabelled) and optional per-frame ``mask_paths`` / ``alpha_paths`` /
``fgr_paths`` and ``flow_paths`` (frames 1..N-1).
Layout problems are found here, at load time, each naming its folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mmengine.dataset import BaseDataset

from steadyseg.registry import TRANSFORMS

from .errors import VideoDataError
from .video_io import IMAGE_EXTENSIONS


def list_frame_files(folder: str | Path, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> list[str]:
    """Per-frame files of ``folder`` by name (every layout we read zero-pads its frame numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoDataError(f"{folder}: folder not found")
    paths = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in extensions)
    if not paths:
        raise VideoDataError(f"{folder}: empty folder (no {' / '.join(extensions)} files)")
    return paths


def check_per_frame_files(
    paths: list[str],
    folder: str | Path,
    what: str,
    num_expected: int,
    expected_stems: list[str] | None = None,
) -> None:
    """``paths`` must hold one file per frame (``expected_stems``: the frame names they must match)."""
    if len(paths) != num_expected:
        raise VideoDataError(f"{folder}: {len(paths)} {what} files for {num_expected} frames")
    if expected_stems is not None:
        for path, stem in zip(paths, expected_stems):
            if Path(path).stem != stem:
                raise VideoDataError(f"{path}: {what} file does not match frame {stem!r}")


class BaseVideoDataset(BaseDataset):
    """Base of the video datasets.

    Args:
        data_root: dataset root folder.
        pipeline: transforms (config dicts, built with steadyseg's ``TRANSFORMS`` even without a default
            scope, or callables).
        test_mode: one entry per chunk of ``clip_len`` consecutive frames (each video is covered exactly once,
            the last chunk may be shorter) instead of one entry per video.
        clip_len: chunk length in test mode; None = the whole video in one chunk. Unused in training, where
            ``SampleClipFrames`` picks the clip.
        sequences: only these videos (by ``video_id``), in this order; an unknown name is an error.
        metainfo, serialize_data, lazy_init, max_refetch: as mmengine's ``BaseDataset``.
    """

    METAINFO = dict(classes=("background", "person"), palette=[[0, 0, 0], [220, 20, 60]])

    def __init__(
        self,
        data_root: str | Path = "",
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        metainfo: dict | None = None,
        serialize_data: bool = True,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ):
        if clip_len is not None and clip_len < 1:
            raise ValueError(f"{type(self).__name__}: clip_len must be >= 1 or None, got {clip_len}")
        if isinstance(sequences, str):
            sequences = [sequences]
        self.clip_len = clip_len
        self.sequences = None if sequences is None else list(sequences)
        super().__init__(
            data_root=str(data_root),
            metainfo=metainfo,
            pipeline=[TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline],
            test_mode=test_mode,
            serialize_data=serialize_data,
            lazy_init=lazy_init,
            max_refetch=max_refetch,
        )

    def load_video_infos(self) -> list[dict]:
        """One info per video (keys in the module docstring); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_video_infos()")

    def select_sequences(self, available: list[str], source: str | Path) -> list[str]:
        """``available`` filtered to ``self.sequences``; errors name ``source``, where the names came from."""
        if self.sequences is None:
            return available
        missing = [name for name in self.sequences if name not in available]
        if missing:
            raise VideoDataError(f"{source}: sequences {missing} not found (available: {available})")
        return self.sequences

    def load_data_list(self) -> list[dict]:
        videos = self.load_video_infos()
        if not videos:
            raise VideoDataError(f"{self.data_root}: no videos found")
        if not self.test_mode:
            # A sampled training clip is independent of any other, so recurrent state always starts fresh.
            return [dict(video, is_first_clip=True) for video in videos]
        chunks = []
        for video in videos:
            num_frames = video["num_video_frames"]
            chunk_len = self.clip_len or num_frames
            for start in range(0, num_frames, chunk_len):
                indices = list(range(start, min(start + chunk_len, num_frames)))
                chunks.append(dict(video, frame_indices=indices, is_first_clip=start == 0))
        return chunks
