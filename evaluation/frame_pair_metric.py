"""``FramePairMetric``: the base of metrics that score every pair of consecutive frames of a video."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from mmengine.evaluator import BaseMetric

from .functional import Clip, compact, group_clips, unpack_clip


def _keep_frame(frames: dict[str, np.ndarray], position: int) -> dict[str, tuple[np.ndarray, np.dtype]]:
    return {key: (compact(array[position]), array.dtype) for key, array in frames.items()}


def _restore_frame(kept: dict[str, tuple[np.ndarray, np.dtype]]) -> dict[str, np.ndarray]:
    """A kept frame as one side of a single pair: ``[1, ...]`` arrays in their original dtypes."""
    return {key: array[None].astype(dtype) for key, (array, dtype) in kept.items()}


class FramePairMetric(BaseMetric):
    """Scores every pair of consecutive frames ``(t-1, t)`` of every video, exactly as in the whole video.

    A video may arrive as consecutive clips, in any order and on any rank. Each clip is reduced at once to
    statistics of the pairs inside it, and keeps its first and last frame; ``compute_metrics`` scores the
    pair that straddles two consecutive clips from those, so the statistics are the same however the video
    was cut (clips of one video must not overlap: see ``functional.group_clips``).

    A new pair metric (e.g. matting's dtSSD) subclasses this, sets :attr:`fields` (the clip fields it reads,
    as ``functional.unpack_clip`` names them; :attr:`optional_fields` for those it reads when present) and
    implements

    * :meth:`score_pairs`: statistics ``[P, ...]`` of ``P`` pairs from ``earlier`` and ``later``, two dicts
      of ``[P, ...]`` arrays (the fields at frames ``t-1`` and ``t``), and the ``motion`` between them;
    * :meth:`summarize`: the metrics from each video's statistics, in frame order.

    It may override :meth:`check_clip` (reject bad values with an error naming the video),
    :meth:`reduce_clip` (what a clip keeps of its pairs' statistics, e.g. their sum), :meth:`prepare_clip`
    (more per-frame arrays, such as the RGB frames of ``data_batch``, and the ``motion`` of the clip's
    pairs, such as optical flow) and :meth:`motion_across` (the ``motion`` of the pair that straddles two
    clips, from the frames they kept). It registers in ``METRICS`` like any metric.
    """

    fields: ClassVar[tuple[str, ...]] = ()
    optional_fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def score_pairs(
        self, earlier: dict[str, np.ndarray], later: dict[str, np.ndarray], motion: Any
    ) -> np.ndarray:
        """Statistics ``[P, ...]`` of the ``P`` pairs ``(earlier[i], later[i])`` (``P`` may be 0)."""

    @abstractmethod
    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        """The metrics from each video's reduced statistics, in frame order: clip, straddling pair, clip..."""

    def check_clip(self, clip: Clip) -> None:
        """Hook for subclasses that restrict the values of a field."""

    def reduce_clip(self, stats: np.ndarray) -> np.ndarray:
        """What a clip keeps of its pairs' statistics (by default all of them, in frame order)."""
        return stats

    def prepare_clip(self, clip: Clip, data_batch: Any, index: int) -> tuple[dict[str, np.ndarray], Any]:
        """``(frames, motion)``: per-frame arrays ``[T, ...]`` the pairs are scored from, and the motion of
        the clip's ``T - 1`` pairs. By default the clip's fields and no motion. ``index`` is the clip's
        position in the batch's data samples."""
        return clip.arrays, None

    def motion_across(self, earlier: dict[str, np.ndarray], later: dict[str, np.ndarray]) -> Any:
        """Motion of the pair that straddles two clips, from the frames kept at their edges (``[1, ...]``
        arrays); by default none."""
        return None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for index, data_sample in enumerate(data_samples):
            clip = unpack_clip(data_sample, type(self).__name__, self.fields, self.optional_fields)
            self.check_clip(clip)
            frames, motion = self.prepare_clip(clip, data_batch, index)
            earlier = {key: array[:-1] for key, array in frames.items()}
            later = {key: array[1:] for key, array in frames.items()}
            self.results.append(
                dict(
                    video_id=clip.video_id,
                    frame_indices=clip.frame_indices,
                    stats=self.reduce_clip(self.score_pairs(earlier, later, motion)),
                    first=_keep_frame(frames, 0),
                    last=_keep_frame(frames, -1),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        videos = []
        for video_id, clips in group_clips(results, type(self).__name__).items():
            pieces = []
            for clip, following in zip(clips, clips[1:] + [None]):
                pieces.append(clip["stats"])
                if following is not None:
                    pieces.append(self.reduce_clip(self._score_across(video_id, clip, following)))
            videos.append(pieces)
        return self.summarize(videos)

    def _score_across(self, video_id: str, clip: dict, following: dict) -> np.ndarray:
        # A per-frame array that only one of the two clips had (RGB frames given with one batch but not the
        # other) cannot relate the pair: both sides keep the arrays they share.
        shared = clip["last"].keys() & following["first"].keys()
        earlier = _restore_frame({key: clip["last"][key] for key in shared})
        later = _restore_frame({key: following["first"][key] for key in shared})
        for key in sorted(shared):
            if earlier[key].shape != later[key].shape:
                raise ValueError(
                    f"{type(self).__name__}: video {video_id!r}: frames {clip['frame_indices'][-1]} and "
                    f"{following['frame_indices'][0]} have {key} of different sizes "
                    f"{earlier[key].shape[1:]} and {later[key].shape[1:]}"
                )
        return self.score_pairs(earlier, later, self.motion_across(earlier, later))
