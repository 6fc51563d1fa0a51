"""``PeopleTrackingMetric``: HOTA, CLEAR MOT and identity metrics of predicted people tubes, by ``trackeval``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from pycocotools import mask as mask_utils
from trackeval.metrics import CLEAR, HOTA, Identity

from steadyseg.registry import METRICS

from .functional import group_clips
from .vis_functional import clip_tubes, video_tracks

# CLEAR and Identity match a prediction to a ground-truth mask from this mask IoU on, as trackeval's MOTS
# benchmarks do; HOTA sweeps its own thresholds 0.05..0.95.
MATCH_IOU = 0.5
KEYS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW")


def _relabel(ids_per_frame: list[list[int]]) -> tuple[list[np.ndarray], int]:
    """Track ids per frame as indices 0..n-1 of the ids that occur (trackeval's metrics index arrays by id)."""
    unique = sorted({track_id for ids in ids_per_frame for track_id in ids})
    index = {track_id: position for position, track_id in enumerate(unique)}
    return [np.array([index[i] for i in ids], dtype=int) for ids in ids_per_frame], len(unique)


def sequence_data(gt_tracks: list[list[dict | None]], pred_tracks: list[list[dict | None]]) -> dict:
    """trackeval's input for one video from its tracks (per-frame RLE or None, see ``vis_functional``): per
    frame the ground-truth and predicted ids present and their mask IoUs ``[gt, pred]``, ids made 0..n-1."""
    num_frames = len((gt_tracks or pred_tracks or [[]])[0])
    gt_ids, pred_ids, similarity = [], [], []
    for frame in range(num_frames):
        gts = [g for g, track in enumerate(gt_tracks) if track[frame] is not None]
        preds = [p for p, track in enumerate(pred_tracks) if track[frame] is not None]
        ious = np.zeros((len(gts), len(preds)))
        if gts and preds:
            ious = np.asarray(
                mask_utils.iou(
                    [gt_tracks[g][frame] for g in gts],
                    [pred_tracks[p][frame] for p in preds],
                    [0] * len(preds),
                )
            )
        gt_ids.append(gts)
        pred_ids.append(preds)
        similarity.append(ious)
    gt_ids, num_gt_ids = _relabel(gt_ids)
    pred_ids, num_pred_ids = _relabel(pred_ids)
    return dict(
        num_timesteps=num_frames,
        gt_ids=gt_ids,
        tracker_ids=pred_ids,
        similarity_scores=similarity,
        num_gt_ids=num_gt_ids,
        num_tracker_ids=num_pred_ids,
        num_gt_dets=sum(len(ids) for ids in gt_ids),
        num_tracker_dets=sum(len(ids) for ids in pred_ids),
    )


@METRICS.register_module()
class PeopleTrackingMetric(BaseMetric):
    """``HOTA``, ``DetA``, ``AssA``, ``MOTA``, ``IDF1`` and ``IDSW`` (ID switches) of the people in
    ``pred_instances`` against ``gt_instances`` (tubes ``[N, T, H, W]`` with ``track_ids`` and ``labels``),
    computed by trackeval's own metric classes (``HOTA``, ``CLEAR``, ``Identity``), not a copy of them.

    In each frame a tube with a non-empty mask is a detection with its track id; the similarity of a
    ground-truth and a predicted detection is their mask IoU (trackeval's MOTS convention; CLEAR and Identity
    match from IoU 0.5 on). Each video is one trackeval sequence, scored by ``eval_sequence`` and combined over
    videos by ``combine_sequences`` (sums of the counts, not a mean of per-video scores). HOTA, DetA and AssA
    are the means over HOTA's 19 thresholds 0.05..0.95, as trackeval reports them. The clips of a video (any
    order) are put back in frame order and a track continues across clips by its ``(track id, label)``.
    Unlike trackeval's MOTS loaders, predicted masks may overlap, and no region is ignored.

    Args:
        person_labels: the labels that are people (the datasets give person tubes label 1); tubes of other
            labels are left out on both sides.
        prefix: prefix of the metric keys.
    """

    undefined_when = {key: "no scored frame holds a ground-truth person" for key in KEYS}

    def __init__(self, person_labels: Sequence[int] = (1,), prefix: str | None = None) -> None:
        super().__init__(prefix=prefix)
        self.person_labels = [int(label) for label in person_labels]
        if not self.person_labels:
            raise ValueError("PeopleTrackingMetric: person_labels is empty")
        config = dict(THRESHOLD=MATCH_IOU, PRINT_CONFIG=False)
        self.hota, self.clear, self.identity = HOTA(), CLEAR(dict(config)), Identity(dict(config))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            self.results.append(clip_tubes(data_sample, type(self).__name__, self.person_labels))

    def compute_metrics(self, results: list) -> dict[str, float]:
        per_video = {metric: {} for metric in (self.hota, self.clear, self.identity)}
        num_gt_dets = 0
        for video_id, clips in group_clips(results, type(self).__name__).items():
            _, tracks = video_tracks(clips, type(self).__name__)
            data = sequence_data(
                [track["rles"] for track in tracks["gt_instances"]],
                [track["rles"] for track in tracks["pred_instances"]],
            )
            num_gt_dets += data["num_gt_dets"]
            for metric, videos in per_video.items():
                videos[video_id] = metric.eval_sequence(data)
        if num_gt_dets == 0:
            return {key: math.nan for key in KEYS}
        hota, clear, identity = (metric.combine_sequences(videos) for metric, videos in per_video.items())
        return dict(
            HOTA=float(np.mean(hota["HOTA"])),
            DetA=float(np.mean(hota["DetA"])),
            AssA=float(np.mean(hota["AssA"])),
            MOTA=float(clear["MOTA"]),
            IDF1=float(identity["IDF1"]),
            IDSW=int(clear["IDSW"]),
        )
