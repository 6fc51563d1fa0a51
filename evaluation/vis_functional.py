"""Video instance segmentation: YouTube-VIS tube IoU and AP/AR on pycocotools' COCOeval engine, and the tube
bookkeeping that the VIS and tracking metrics share (plain numpy and pycocotools, no torch).

A **track** is one instance over the frames of a video: a list with one COCO RLE per frame (a dict with
``size`` [H, W] and ``counts``, compressed as ``str`` or ``bytes``), ``None`` in the frames where the track
has no mask. All tracks of a video have the same number of frames.

YouTube-VIS scores tracks as COCO scores boxes, with three changes (its evaluation code, a fork of
pycocotools' ``COCOeval``): the IoU of two tracks is the tube IoU ``sum_t |d_t and g_t| / sum_t |d_t or
g_t|``, where a frame holding only one of the two masks adds that mask to the union; a track's area is the
mean of its mask areas over the frames where it has a non-empty mask; and the size ranges are split at 128^2
and 256^2 pixels (COCO's: 32^2 and 96^2). IoU thresholds 0.50:0.05:0.95, 101 recall points and at most
1, 10, 100 detections are COCO's.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

from .functional import unpack_clip

# ---------------------------------------------------------------------------------------------------------
# YouTube-VIS AP / AR
# ---------------------------------------------------------------------------------------------------------

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = (1, 10, 100)
# name -> [min, max] of a track's mean area in pixels; both ends belong to the range, as in COCOeval.
AREA_RANGES = {
    "all": (0, 1e5**2),
    "small": (0, 128**2),
    "medium": (128**2, 256**2),
    "large": (256**2, 1e5**2),
}
# COCOeval.summarize's twelve statistics, in its order (AP and AR at 100 detections unless the name says).
SUMMARY_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _frame_sizes(tracks: Sequence[Sequence[dict | None]], frame: int) -> set[tuple[int, int]]:
    return {tuple(int(s) for s in track[frame]["size"]) for track in tracks if track[frame] is not None}


def _num_frames(tracks: Sequence[Sequence[dict | None]], what: str) -> int | None:
    """The common length of ``tracks`` (None when there are none); ValueError naming ``what`` otherwise."""
    lengths = {len(track) for track in tracks}
    if len(lengths) > 1:
        raise ValueError(f"{what}: tracks cover different numbers of frames {sorted(lengths)}")
    return lengths.pop() if lengths else None


def frame_areas(tracks: Sequence[Sequence[dict | None]]) -> np.ndarray:
    """Mask areas ``[N, T]`` in pixels of ``N`` tracks of ``T`` frames (0 where a track has no mask)."""
    num_frames = _num_frames(tracks, "frame_areas") or 0
    areas = np.zeros((len(tracks), num_frames))
    for index, track in enumerate(tracks):
        present = [t for t, rle in enumerate(track) if rle is not None]
        if present:
            areas[index, present] = mask_utils.area([track[t] for t in present])
    return areas


def mean_area(track: Sequence[dict | None]) -> float:
    """YouTube-VIS's area of a track: the mean of its mask areas over the frames where the mask is not empty
    (0 for a track that has none), which decides its size range."""
    areas = frame_areas([track])[0]
    areas = areas[areas > 0]
    return float(areas.mean()) if areas.size else 0.0


def tube_iou(
    pred_tracks: Sequence[Sequence[dict | None]], gt_tracks: Sequence[Sequence[dict | None]]
) -> np.ndarray:
    """Tube IoU ``[D, G]`` of each predicted track with each ground-truth track of one video.

    ``sum_t |d_t and g_t| / sum_t |d_t or g_t|`` over the frames; a frame where only one track has a mask
    adds that mask's area to the union, a frame where neither has one adds nothing; 0 when the union is
    empty. Each frame's intersections come from one ``pycocotools.mask.iou`` call over all pairs, with every
    ground-truth mask marked crowd so it returns intersection / predicted area, which times the predicted
    area gives the intersection in pixels.
    """
    num_frames = _num_frames([*pred_tracks, *gt_tracks], "tube_iou")
    pred_areas, gt_areas = frame_areas(pred_tracks), frame_areas(gt_tracks)
    intersection = np.zeros((len(pred_tracks), len(gt_tracks)))
    for frame in range(num_frames or 0):
        preds = [d for d, track in enumerate(pred_tracks) if track[frame] is not None]
        gts = [g for g, track in enumerate(gt_tracks) if track[frame] is not None]
        if not preds or not gts:
            continue
        sizes = _frame_sizes(pred_tracks, frame) | _frame_sizes(gt_tracks, frame)
        if len(sizes) > 1:
            raise ValueError(f"tube_iou: the masks of frame {frame} differ in size: {sorted(sizes)}")
        over_pred_area = mask_utils.iou(
            [pred_tracks[d][frame] for d in preds], [gt_tracks[g][frame] for g in gts], [1] * len(gts)
        )
        intersection[np.ix_(preds, gts)] += np.rint(over_pred_area * pred_areas[preds, frame][:, None])
    union = pred_areas.sum(1)[:, None] + gt_areas.sum(1)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


class _TubeEval(COCOeval):
    """pycocotools' COCOeval with videos for images and tracks for annotations, as YouTube-VIS's evaluation
    runs it: annotations come prepared (``segmentations``, ``area`` = mean area, ids from 1) instead of
    through COCO objects, and the IoU is :func:`tube_iou`. Matching, accumulation and the summary are
    COCOeval's own."""

    def __init__(self, gts: dict, dts: dict, video_keys: list[int], category_ids: list[int]) -> None:
        super().__init__(iouType="segm")
        params = self.params
        params.imgIds, params.catIds = video_keys, category_ids
        params.iouThrs, params.recThrs = IOU_THRESHOLDS.copy(), RECALL_THRESHOLDS.copy()
        params.maxDets = list(MAX_DETECTIONS)
        params.areaRng = [list(bounds) for bounds in AREA_RANGES.values()]
        params.areaRngLbl = list(AREA_RANGES)
        self._prepared = (gts, dts)

    def _prepare(self) -> None:
        gts, dts = self._prepared
        self._gts, self._dts = defaultdict(list, gts), defaultdict(list, dts)
        self.evalImgs, self.eval = defaultdict(list), {}

    def computeIoU(self, video_key, category_id):  # noqa: N802 (COCOeval's name)
        gts, dts = self._gts[video_key, category_id], self._dts[video_key, category_id]
        if not gts and not dts:
            return []
        # The same order and cut as COCOeval.evaluateImg takes the detections in.
        order = np.argsort([-dt["score"] for dt in dts], kind="mergesort")[: self.params.maxDets[-1]]
        return tube_iou([dts[i]["segmentations"] for i in order], [gt["segmentations"] for gt in gts])


def evaluate_ytvis(
    gt_videos: Mapping[Hashable, Sequence[Mapping]],
    pred_videos: Mapping[Hashable, Sequence[Mapping]],
    category_ids: Sequence[int] | None = None,
) -> dict[str, float]:
    """YouTube-VIS AP and AR (:data:`SUMMARY_KEYS`) of predicted tracks against ground-truth tracks.

    Args:
        gt_videos: video id -> its ground-truth tracks, each ``{"segmentations": track, "category_id": int}``
            (a track as the module docstring defines it). Every video to score is a key, with or without
            tracks; videos are taken in this order, which, as COCO's image order, breaks ties between
            detections of equal score.
        pred_videos: video id -> predicted tracks, each as a ground-truth track plus ``"score"``; a video
            may be missing (no predictions) but must be one of ``gt_videos``. Predictions and ground truth
            of a video cover the same frames.
        category_ids: the categories scored (COCOeval's ``catIds``); predictions of other categories are
            left out. Default: every category of the ground truth.

    Returns:
        ``AP`` (mean over IoU 0.50:0.05:0.95, 101 recall points, categories with ground truth, at 100
        detections per video and category), ``AP50``, ``AP75``, ``APs``/``APm``/``APl`` (size ranges by mean
        area), ``AR1``/``AR10``/``AR100`` (recall at 1, 10, 100 detections) and ``ARs``/``ARm``/``ARl``;
        NaN where COCOeval has nothing to average (its -1: no ground-truth track in the range).
    """
    unknown = [video for video in pred_videos if video not in gt_videos]
    if unknown:
        raise ValueError(f"evaluate_ytvis: predictions for videos without ground truth: {unknown[:5]}")
    if category_ids is None:
        category_ids = sorted({int(gt["category_id"]) for tracks in gt_videos.values() for gt in tracks})
    scored = {int(category) for category in category_ids}
    gts, dts = defaultdict(list), defaultdict(list)
    next_id = 1  # COCOeval marks an unmatched annotation with id 0
    for video_key, video in enumerate(gt_videos):
        predictions = pred_videos.get(video, ())
        _num_frames(
            [t["segmentations"] for t in (*gt_videos[video], *predictions)],
            f"evaluate_ytvis: video {video!r}",
        )
        for track in gt_videos[video]:
            category = int(track["category_id"])
            if category in scored:
                gts[video_key, category].append(
                    dict(
                        id=next_id,
                        segmentations=track["segmentations"],
                        area=mean_area(track["segmentations"]),
                        iscrowd=0,
                        ignore=0,
                    )
                )
                next_id += 1
        for track in predictions:
            category = int(track["category_id"])
            if category in scored:
                dts[video_key, category].append(
                    dict(
                        id=next_id,
                        segmentations=track["segmentations"],
                        area=mean_area(track["segmentations"]),
                        score=float(track["score"]),
                    )
                )
                next_id += 1
    engine = _TubeEval(gts, dts, list(range(len(gt_videos))), sorted(scored))
    # COCOeval reports progress and the summary table on stdout.
    with contextlib.redirect_stdout(io.StringIO()):
        engine.evaluate()
        engine.accumulate()
        engine.summarize()
    return {key: float(value) if value > -1 else math.nan for key, value in zip(SUMMARY_KEYS, engine.stats)}


# ---------------------------------------------------------------------------------------------------------
# Tubes of clips (shared by YouTubeVISMetric and PeopleTrackingMetric)
# ---------------------------------------------------------------------------------------------------------

INSTANCE_KEYS = ("gt_instances", "pred_instances")


def encode_tube(tube: np.ndarray) -> list[dict | None]:
    """Per-frame RLEs (``counts`` as ``str``) of a boolean tube ``[T, H, W]``; ``None`` for an empty frame."""
    present = tube.reshape(len(tube), -1).any(1)
    rles: list[dict | None] = [None] * len(tube)
    if present.any():
        frames = np.asfortranarray(tube[present].transpose(1, 2, 0), dtype=np.uint8)
        for frame, rle in zip(np.flatnonzero(present), mask_utils.encode(frames)):
            rles[frame] = {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}
    return rles


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _read_tubes(
    instances, key: str, owner: str, video_id: str, num_frames: int, labels: Sequence[int] | None
) -> tuple[list[dict], tuple[int, ...]]:
    """The tubes of ``instances`` (``key`` of a clip) whose label is in ``labels`` (all when None), each
    ``{"track_id", "label", "rles"}`` (+ ``"score"`` for predictions), and the clip's frame size."""
    if isinstance(instances, BaseDataElement):
        instances = instances.to_dict()
    where = f"{owner}: video {video_id!r}: {key}"
    fields = ("masks", "track_ids", "labels", *(("scores",) if key == "pred_instances" else ()))
    missing = [field for field in fields if field not in instances]
    if missing:
        raise ValueError(f"{where} has no {missing} (it holds {sorted(instances)})")
    arrays = {field: _numpy(instances[field]) for field in fields}
    masks = arrays["masks"]
    if masks.ndim != 4 or masks.shape[1] != num_frames:
        raise ValueError(
            f"{where}.masks must be [N, T, H, W] with T = {num_frames} (len(frame_indices)), got {masks.shape}"
        )
    for field in fields[1:]:
        if arrays[field].shape != (len(masks),):
            raise ValueError(
                f"{where}.{field} must hold one entry per tube ({len(masks)}), got {arrays[field].shape}"
            )
    track_ids = arrays["track_ids"].astype(np.int64).tolist()
    if len(set(track_ids)) != len(track_ids):
        raise ValueError(f"{where}: track_ids {track_ids} repeat within the clip")
    tubes = []
    for index, (track_id, label) in enumerate(zip(track_ids, arrays["labels"].astype(np.int64).tolist())):
        if labels is not None and label not in labels:
            continue
        tube = dict(track_id=track_id, label=label, rles=encode_tube(masks[index].astype(bool, copy=False)))
        if key == "pred_instances":
            tube["score"] = float(arrays["scores"][index])
        tubes.append(tube)
    return tubes, tuple(masks.shape[2:])


def clip_tubes(data_sample: dict | BaseDataElement, owner: str, labels: Sequence[int] | None = None) -> dict:
    """One clip's ``gt_instances`` and ``pred_instances`` (tubes, see ``steadyseg.structures``) as per-frame
    RLEs.

    Returns ``{"video_id", "frame_indices", "frame_size", "gt_instances", "pred_instances"}``, each instance
    list holding ``{"track_id", "label", "rles"}`` (``"score"`` too for predictions) of the tubes whose label
    is in ``labels`` (all when None): what a metric keeps of a clip. Errors name ``owner``, the video and
    the field at fault.
    """
    if isinstance(data_sample, BaseDataElement):
        data_sample = data_sample.to_dict()
    clip = unpack_clip(data_sample, owner, ())
    record = dict(video_id=clip.video_id, frame_indices=clip.frame_indices)
    sizes = {}
    for key in INSTANCE_KEYS:
        if data_sample.get(key) is None:
            raise ValueError(
                f"{owner}: video {clip.video_id!r}: data sample has no {key!r} (keys: {sorted(data_sample)})"
            )
        record[key], sizes[key] = _read_tubes(
            data_sample[key], key, owner, clip.video_id, len(clip.frame_indices), labels
        )
    if sizes["gt_instances"] != sizes["pred_instances"]:
        raise ValueError(
            f"{owner}: video {clip.video_id!r}: gt_instances masks are {sizes['gt_instances']} and "
            f"pred_instances masks {sizes['pred_instances']} in frame size"
        )
    record["frame_size"] = sizes["gt_instances"]
    return record


def video_tracks(clips: Sequence[dict], owner: str) -> tuple[list[int], dict[str, list[dict]]]:
    """The tracks of one video from its :func:`clip_tubes` records in frame order (as ``group_clips`` gives
    them): the video's scored frame indices, and per instance key its tracks ``{"track_id", "label",
    "rles"}`` over those frames (``None`` in the clips a track is absent from), one per ``(track_id,
    label)``, sorted by it. A predicted track's ``score`` is the mean of its clips' scores weighted by their
    numbers of frames."""
    frame_indices = [index for clip in clips for index in clip["frame_indices"]]
    sizes = {clip["frame_size"] for clip in clips}
    if len(sizes) > 1:
        raise ValueError(
            f"{owner}: video {clips[0]['video_id']!r}: clips differ in frame size {sorted(sizes)}"
        )
    tracks = {}
    for key in INSTANCE_KEYS:
        merged: dict[tuple[int, int], dict] = {}
        start = 0
        for clip in clips:
            length = len(clip["frame_indices"])
            for tube in clip[key]:
                track = merged.setdefault(
                    (tube["track_id"], tube["label"]),
                    dict(track_id=tube["track_id"], label=tube["label"], rles=[None] * len(frame_indices)),
                )
                track["rles"][start : start + length] = tube["rles"]
                if "score" in tube:
                    track.setdefault("weighted_scores", []).append((tube["score"], length))
            start += length
        for track in merged.values():
            weighted = track.pop("weighted_scores", None)
            if weighted is not None:
                track["score"] = math.fsum(score * length for score, length in weighted) / sum(
                    length for _, length in weighted
                )
        tracks[key] = [merged[track_key] for track_key in sorted(merged)]
    return frame_indices, tracks
