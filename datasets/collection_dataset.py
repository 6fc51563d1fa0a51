"""``CollectionDataset``: the segments listed in a collection file (e.g. mined by ``tools/discover.py``) as clips.

Also holds the collection file format, :func:`read_collection`. A collection is a JSON object::

    {"format": "steadyseg-collection", "version": 1, "name": "failures", "description": "...",
     "segments": [{"video": "/data/a.mp4", "start": 32, "end": 48, "scores": {"failure": 0.41}}, ...]}

``video`` is a video file or a frame folder (a relative path is under the collection file's folder), ``start``
and ``end`` are frame indices (``end`` excluded), ``scores`` any numbers (kept in each item's info).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from steadyseg.registry import DATASETS, TRANSFORMS

from .errors import VideoDataError
from .video_folder import VideoFolderDataset

COLLECTION_FORMAT = "steadyseg-collection"
COLLECTION_VERSION = 1


@dataclass
class CollectionSegment:
    """Frames ``start .. end - 1`` of ``video``, with the scores that selected them."""

    video: Path
    start: int
    end: int
    scores: dict = field(default_factory=dict)


def read_collection(path: str | Path) -> tuple[dict, list[CollectionSegment]]:
    """``(header, segments)`` of a collection file: the header is every top-level key but ``segments``.

    Errors name the file and, for a bad segment, its position in the list.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoDataError(f"{path}: collection file not found")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise VideoDataError(f"{path}: not a JSON collection file ({error})") from None
    if not isinstance(data, dict) or data.get("format") != COLLECTION_FORMAT:
        raise VideoDataError(f"{path}: not a collection file (its 'format' must be {COLLECTION_FORMAT!r})")
    if data.get("version") != COLLECTION_VERSION:
        raise VideoDataError(
            f"{path}: collection version {data.get('version')!r}, this steadyseg reads {COLLECTION_VERSION}"
        )
    entries = data.get("segments")
    if not isinstance(entries, list):
        raise VideoDataError(f"{path}: 'segments' must be a list")
    segments = []
    for number, entry in enumerate(entries):
        where = f"{path}: segments[{number}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("video"), str):
            raise VideoDataError(f"{where}: needs 'video' (a path), 'start' and 'end'")
        start, end = entry.get("start"), entry.get("end")
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
            raise VideoDataError(f"{where}: 'start' and 'end' must be frame indices, got {start!r}, {end!r}")
        if not 0 <= start < end:
            raise VideoDataError(f"{where}: needs 0 <= start < end, got start={start}, end={end}")
        scores = entry.get("scores", {})
        if not isinstance(scores, dict):
            raise VideoDataError(f"{where}: 'scores' must be an object")
        segments.append(CollectionSegment(path.parent / entry["video"], start, end, scores))
    header = {key: value for key, value in data.items() if key != "segments"}
    return header, segments


@DATASETS.register_module()
class CollectionDataset(VideoFolderDataset):
    """The segments of a collection file, unlabelled (``label_mode=None``, as ``UnlabelledVideoDataset``), so
    mined clips train through losses that need no labels (distillation) or go out to be annotated.

    Each segment is a video of its own: ``video_id`` is ``<video>@<start>-<end>``, and a recurrent model starts
    each segment from its initial state.

    Args:
        collection: the collection file.
        pipeline: transforms, as for any video dataset.
        test_mode: False (default): one entry per segment; its clip is the whole segment, or, with
            ``clip_sampler``, a clip that transform picks inside it. True: each segment cut into consecutive
            chunks of ``clip_len`` frames (the whole segment when None).
        clip_sampler: a ``SampleClipFrames`` config (or any transform setting ``frame_indices`` from
            ``num_video_frames``), applied to the segment's frames; a ``SampleClipFrames`` in ``pipeline``
            then keeps these indices.
        fps: frame rate reported for frame folders.
        **kwargs: see :class:`~steadyseg.datasets.base_video_dataset.BaseVideoDataset`.
    """

    def __init__(
        self,
        collection: str | Path,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        clip_sampler: dict | Callable | None = None,
        fps: float | None = None,
        **kwargs,
    ):
        self.collection = Path(collection)
        self.clip_sampler = TRANSFORMS.build(clip_sampler) if isinstance(clip_sampler, dict) else clip_sampler
        super().__init__(
            data_root=str(self.collection.parent),
            pipeline=pipeline,
            test_mode=test_mode,
            clip_len=clip_len,
            fps=fps,
            **kwargs,
        )

    def load_video_infos(self) -> list[dict]:
        _, segments = read_collection(self.collection)
        if not segments:
            raise VideoDataError(f"{self.collection}: the collection lists no segments")
        videos, infos = {}, []
        for number, segment in enumerate(segments):
            if segment.video not in videos:
                videos[segment.video] = self._video_info(segment.video)
            video = videos[segment.video]
            if segment.end > video["num_video_frames"]:
                raise VideoDataError(
                    f"{self.collection}: segments[{number}] ends at frame {segment.end}, past the "
                    f"{video['num_video_frames']} frames of {segment.video}"
                )
            infos.append(
                dict(
                    video,
                    video_id=f"{video['video_id']}@{segment.start}-{segment.end}",
                    segment_start=segment.start,
                    segment_end=segment.end,
                    scores=segment.scores,
                    label_mode=None,
                )
            )
        return infos

    def load_data_list(self) -> list[dict]:
        segments = self.load_video_infos()
        if not self.test_mode:
            return [dict(segment, is_first_clip=True) for segment in segments]
        chunks = []
        for segment in segments:
            start, end = segment["segment_start"], segment["segment_end"]
            chunk_len = self.clip_len or end - start
            for first in range(start, end, chunk_len):
                indices = list(range(first, min(first + chunk_len, end)))
                chunks.append(dict(segment, frame_indices=indices, is_first_clip=first == start))
        return chunks

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        if not self.test_mode:
            start, end = info["segment_start"], info["segment_end"]
            if self.clip_sampler is None:
                info.update(frame_indices=list(range(start, end)), frame_stride=1)
            else:
                picked = self.clip_sampler({"num_video_frames": end - start})
                info.update(
                    frame_indices=[start + index for index in picked["frame_indices"]],
                    frame_stride=picked.get("frame_stride", 1),
                )
        return self.pipeline(info)
