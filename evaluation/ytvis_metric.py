"""``YouTubeVISMetric``: YouTube-VIS AP and AR of predicted instance tubes, and its results JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from steadyseg.registry import METRICS

from .functional import group_clips
from .vis_functional import SUMMARY_KEYS, clip_tubes, evaluate_ytvis, video_tracks


@METRICS.register_module()
class YouTubeVISMetric(BaseMetric):
    """YouTube-VIS ``AP``, ``AP50``, ``AP75``, ``APs``, ``APm``, ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``,
    ``ARm``, ``ARl`` of ``pred_instances`` against ``gt_instances`` (tubes ``[N, T, H, W]`` with ``track_ids``,
    ``labels`` and, for predictions, ``scores``), as :func:`vis_functional.evaluate_ytvis` defines them.

    The clips of a video (in any order) are put back in frame order, and a tube's masks in each clip join
    those of the same ``(track id, label)`` in the others, so a video scores the same whole or in clips. A
    tube's mask is absent (``None``) in the frames where it is empty and in the clips that lack the tube. A
    predicted track's score is the mean of its clips' scores weighted by their numbers of frames. Only the
    frames the clips hold are scored; ``gt_instances`` and ``pred_instances`` cover the same frames at the
    same size (the original frame size, for the results JSON).

    Args:
        classes: the labels scored, each as its own category (``(1,)``: people, the label the datasets give
            person tubes); tubes of other labels are left out on both sides. None scores every label.
        results_json: where to write the predictions in the YouTube-VIS results format the evaluation server
            takes: a JSON list of ``{"video_id", "category_id", "segmentations", "score"}``, one per predicted
            track, ``segmentations`` holding one compressed RLE (``counts`` a string) or null per frame of the
            video (``num_video_frames`` frames when the samples carry it, else up to the last frame scored;
            frames no clip holds are null). ``video_id`` is the sample's ``ann_video_id`` (the YouTube-VIS JSON
            id, which ``PackVideoInputs`` keeps by default) when present, else its ``video_id``. Written on
            the main rank by each evaluation.
        category_ids: label -> the ``category_id`` written in the results JSON (YouTube-VIS 2021's person is
            26: ``{1: 26}``); labels not in it are written as they are.
        prefix: prefix of the metric keys.
    """

    undefined_when = {
        "AP*": "no ground-truth track of the scored classes falls in the size range (COCOeval's -1)",
        "AR*": "no ground-truth track of the scored classes falls in the size range (COCOeval's -1)",
    }

    def __init__(
        self,
        classes: Sequence[int] | None = None,
        results_json: str | Path | None = None,
        category_ids: Mapping[int, int] | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(prefix=prefix)
        self.classes = None if classes is None else [int(label) for label in classes]
        if self.classes is not None and not self.classes:
            raise ValueError("YouTubeVISMetric: classes is empty (None scores every label)")
        self.results_json = None if results_json is None else Path(results_json)
        self.category_ids = {int(label): int(category) for label, category in (category_ids or {}).items()}

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            if isinstance(data_sample, BaseDataElement):
                data_sample = data_sample.to_dict()
            record = clip_tubes(data_sample, type(self).__name__, self.classes)
            if data_sample.get("num_video_frames") is not None:
                record["num_video_frames"] = int(data_sample["num_video_frames"])
            ann_video_id = data_sample.get("ann_video_id")
            if ann_video_id is not None:
                # YouTube-VIS ids are integers; a numpy integer would not go into JSON.
                is_integer = isinstance(ann_video_id, int | np.integer)
                record["ann_video_id"] = int(ann_video_id) if is_integer else ann_video_id
            self.results.append(record)

    def compute_metrics(self, results: list) -> dict[str, float]:
        gt_videos, pred_videos, submission = {}, {}, []
        for video_id, clips in group_clips(results, type(self).__name__).items():
            frame_indices, tracks = video_tracks(clips, type(self).__name__)
            gt_videos[video_id] = [
                dict(segmentations=track["rles"], category_id=track["label"])
                for track in tracks["gt_instances"]
            ]
            pred_videos[video_id] = [
                dict(segmentations=track["rles"], category_id=track["label"], score=track["score"])
                for track in tracks["pred_instances"]
            ]
            if self.results_json is not None:
                submission.extend(self._submission(clips, frame_indices, tracks["pred_instances"]))
        if self.results_json is not None:
            self.results_json.parent.mkdir(parents=True, exist_ok=True)
            self.results_json.write_text(json.dumps(submission))
        metrics = evaluate_ytvis(gt_videos, pred_videos, self.classes)
        return {key: metrics[key] for key in SUMMARY_KEYS}

    def _submission(self, clips: list[dict], frame_indices: list[int], tracks: list[dict]) -> list[dict]:
        """The YouTube-VIS results entries of one video's predicted tracks."""
        first = clips[0]
        num_frames = first.get("num_video_frames") or frame_indices[-1] + 1
        if num_frames <= frame_indices[-1]:
            raise ValueError(
                f"{type(self).__name__}: video {first['video_id']!r}: frame index {frame_indices[-1]} is "
                f"beyond its num_video_frames={num_frames}"
            )
        entries = []
        for track in tracks:
            segmentations = [None] * num_frames
            for index, rle in zip(frame_indices, track["rles"]):
                segmentations[index] = rle
            entries.append(
                dict(
                    video_id=first.get("ann_video_id", first["video_id"]),
                    category_id=self.category_ids.get(track["label"], track["label"]),
                    segmentations=segmentations,
                    score=track["score"],
                )
            )
        return entries
