"""Per-frame and per-window scores shared by the metrics and the notebooks (plain numpy).

Also the small bookkeeping every video metric needs: reading a clip out of a data sample and putting the
clips of each video back in order, because clips of one video reach the metric in any order and from any rank.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from mmengine.structures import BaseDataElement

# ---------------------------------------------------------------------------------------------------------
# Semantic segmentation (mIoU)
# ---------------------------------------------------------------------------------------------------------


def intersect_and_union(
    pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int = 255
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class pixel counts ``(intersection, union, gt_area)``, each int64 ``[num_classes]``.

    Pixels where ``gt == ignore_index`` are left out. A predicted label outside ``[0, num_classes)`` is wrong
    for every class, so it only enlarges the union of its pixel's ground-truth class.
    """
    valid = gt != ignore_index
    gt_valid = gt[valid].astype(np.int64, copy=False)
    pred_valid = pred[valid].astype(np.int64, copy=False)
    if gt_valid.size and (gt_valid.min() < 0 or gt_valid.max() >= num_classes):
        bad = gt_valid[(gt_valid < 0) | (gt_valid >= num_classes)][0]
        raise ValueError(
            f"gt_sem_seg has label {bad}, outside [0, {num_classes}) and not ignore_index={ignore_index}"
        )
    # One bincount over (gt, pred) pairs; column ``num_classes`` collects predictions outside the classes.
    pred_valid = np.where((pred_valid >= 0) & (pred_valid < num_classes), pred_valid, num_classes)
    confusion = np.bincount(
        gt_valid * (num_classes + 1) + pred_valid, minlength=num_classes * (num_classes + 1)
    ).reshape(num_classes, num_classes + 1)
    intersection = np.diagonal(confusion).copy()
    gt_area = confusion.sum(axis=1)
    pred_area = confusion[:, :num_classes].sum(axis=0)
    return intersection, pred_area + gt_area - intersection, gt_area


# ---------------------------------------------------------------------------------------------------------
# DAVIS region similarity J and boundary F-measure F
# ---------------------------------------------------------------------------------------------------------


def region_similarity(
    pred_mask: np.ndarray, gt_mask: np.ndarray, void_mask: np.ndarray | None = None
) -> float:
    """DAVIS J: IoU of two binary masks, 1.0 when both are empty; ``void_mask`` pixels are left out."""
    pred_mask, gt_mask = pred_mask.astype(bool), gt_mask.astype(bool)
    if void_mask is not None:
        keep = ~void_mask.astype(bool)
        pred_mask, gt_mask = pred_mask & keep, gt_mask & keep
    union = np.count_nonzero(pred_mask | gt_mask)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred_mask & gt_mask) / union


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of a binary mask as DAVIS's ``seg2bmap`` draws it.

    A pixel is on the boundary when it differs from its right, bottom or bottom-right neighbour; neighbours
    outside the image are not compared, so a region touching the border has no boundary along it.
    """
    mask = mask.astype(bool)
    boundary = np.zeros_like(mask)
    boundary[:, :-1] |= mask[:, :-1] != mask[:, 1:]
    boundary[:-1, :] |= mask[:-1, :] != mask[1:, :]
    boundary[:-1, :-1] |= mask[:-1, :-1] != mask[1:, 1:]
    return boundary


def boundary_tolerance(shape: tuple[int, int], bound_th: float = 0.008) -> int:
    """Matching radius in pixels: ``ceil(bound_th * image diagonal)``."""
    return math.ceil(bound_th * math.hypot(shape[0], shape[1]))


def _disk(radius: int) -> np.ndarray:
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)


def boundary_f_measure(
    pred_mask: np.ndarray, gt_mask: np.ndarray, bound_th: float = 0.008, void_mask: np.ndarray | None = None
) -> float:
    """DAVIS F: F-measure of boundary pixels matched within ``boundary_tolerance`` pixels.

    Both boundaries empty gives 1.0, exactly one empty gives 0.0. ``void_mask`` pixels are cleared from both
    masks before their boundaries are drawn (the official DAVIS 2017 handling of void pixels).
    """
    pred_mask, gt_mask = pred_mask.astype(bool), gt_mask.astype(bool)
    if void_mask is not None:
        keep = ~void_mask.astype(bool)
        pred_mask, gt_mask = pred_mask & keep, gt_mask & keep
    pred_boundary, gt_boundary = mask_boundary(pred_mask), mask_boundary(gt_mask)
    num_pred, num_gt = np.count_nonzero(pred_boundary), np.count_nonzero(gt_boundary)
    if num_pred == 0 and num_gt == 0:
        return 1.0
    if num_pred == 0 or num_gt == 0:
        return 0.0
    disk = _disk(boundary_tolerance(pred_mask.shape, bound_th))
    pred_reach = cv2.dilate(pred_boundary.astype(np.uint8), disk).astype(bool)
    gt_reach = cv2.dilate(gt_boundary.astype(np.uint8), disk).astype(bool)
    precision = np.count_nonzero(pred_boundary & gt_reach) / num_pred
    recall = np.count_nonzero(gt_boundary & pred_reach) / num_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------------------
# VSPW video consistency VC_n
# ---------------------------------------------------------------------------------------------------------


def window_accuracy(gt_window: np.ndarray, pred_window: np.ndarray) -> float:
    """Consistency of one window of frames ``[n, H, W]``: ``|G and P| / |G|``, NaN when ``G`` is empty.

    ``G`` (``P``) holds the pixels whose ground-truth (predicted) label stays the same over the window.
    """
    stable_gt = np.all(gt_window[1:] == gt_window[0], axis=0)
    stable_pred = np.all(pred_window[1:] == pred_window[0], axis=0)
    num_stable_gt = np.count_nonzero(stable_gt)
    if num_stable_gt == 0:
        return math.nan
    return np.count_nonzero(stable_gt & stable_pred) / num_stable_gt


def video_consistency(gt: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """Window accuracies ``[max(T - n, 0)]`` of a video ``[T, H, W]``, one per start in ``range(T - n)``.

    ``T - n`` windows and not ``T - n + 1``, exactly as VSPW's reference code: the window ending on the last
    frame is never scored. VC_n is the mean of the non-NaN entries over all videos.
    """
    return np.array([window_accuracy(gt[i : i + n], pred[i : i + n]) for i in range(len(gt) - n)])


# ---------------------------------------------------------------------------------------------------------
# Clip bookkeeping shared by the metrics
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """What a clip field must look like: its shape, in words for error messages, and what is checked of it."""

    shape: str
    ndim: int
    channels: int | None = None
    labels: bool = False
    per_pair: bool = False

    def fits(self, array: np.ndarray, num_frames: int) -> bool:
        length = num_frames - 1 if self.per_pair else num_frames
        return (
            array.ndim == self.ndim
            and len(array) == length
            and len(array) >= int(not self.per_pair)
            and (self.channels is None or array.shape[1] == self.channels)
            and (not self.labels or np.issubdtype(array.dtype, np.integer))
        )


# Every clip field a metric may read. Per-frame fields of one clip share ``T`` and the frame size ``H, W``;
# per-pair fields (``T - 1`` entries, one per consecutive frame pair) may come at another resolution.
CLIP_FIELDS = {
    "gt_sem_seg": FieldSpec("integer labels [T >= 1, H, W]", ndim=3, labels=True),
    "pred_sem_seg": FieldSpec("integer labels [T >= 1, H, W]", ndim=3, labels=True),
    # The annotation's labels as stored, where reading them for training merges labels (VSPW's two voids).
    "gt_sem_seg_raw": FieldSpec("integer labels [T >= 1, H, W]", ndim=3, labels=True),
    "gt_alpha": FieldSpec("[T >= 1, 1, H, W]", ndim=4, channels=1),
    "pred_alpha": FieldSpec("[T >= 1, 1, H, W]", ndim=4, channels=1),
    "gt_fgr": FieldSpec("[T >= 1, 3, H, W]", ndim=4, channels=3),
    "pred_fgr": FieldSpec("[T >= 1, 3, H, W]", ndim=4, channels=3),
    "gt_flow": FieldSpec("[T-1, 2, H, W]", ndim=4, channels=2, per_pair=True),
}


@dataclass(frozen=True)
class Clip:
    """One clip of a video as a metric reads it: ``arrays`` maps each field unpacked to a numpy array."""

    video_id: str
    frame_indices: list[int]
    arrays: dict[str, np.ndarray]


def unpack_clip(
    data_sample: dict | BaseDataElement,
    owner: str,
    fields: Sequence[str],
    optional: Sequence[str] = (),
) -> Clip:
    """The ``fields`` (all required) and ``optional`` fields (those present) of one clip, checked.

    Tensors become numpy arrays. Each field must fit its :data:`CLIP_FIELDS` entry for the clip's ``T``
    frames (``len(frame_indices)``, which must increase), and the per-frame fields must share one frame size.
    ``owner`` names the metric in error messages.
    """
    if isinstance(data_sample, BaseDataElement):
        data_sample = data_sample.to_dict()
    for key in ("video_id", "frame_indices", *fields):
        if key not in data_sample:
            raise ValueError(f"{owner}: data sample has no {key!r} (keys: {sorted(data_sample)})")
    video_id = str(data_sample["video_id"])
    frame_indices = [int(index) for index in data_sample["frame_indices"]]
    if any(later <= earlier for earlier, later in zip(frame_indices, frame_indices[1:])):
        raise ValueError(f"{owner}: video {video_id!r}: frame_indices {frame_indices} are not increasing")
    num_frames = len(frame_indices)
    arrays = {}
    for key in [*fields, *(key for key in optional if data_sample.get(key) is not None)]:
        if key not in CLIP_FIELDS:
            raise ValueError(f"{owner}: no clip field {key!r} is known (known: {sorted(CLIP_FIELDS)})")
        value = data_sample[key]
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        spec = CLIP_FIELDS[key]
        if not spec.fits(array, num_frames):
            raise ValueError(
                f"{owner}: video {video_id!r}: {key} must be {spec.shape} with T = {num_frames} "
                f"(len(frame_indices)), got {array.dtype} {array.shape}"
            )
        arrays[key] = array
    sized = [key for key in arrays if not CLIP_FIELDS[key].per_pair]
    for key in sized[1:]:
        if arrays[key].shape[-2:] != arrays[sized[0]].shape[-2:]:
            raise ValueError(
                f"{owner}: video {video_id!r}: {key} {arrays[key].shape} and {sized[0]} "
                f"{arrays[sized[0]].shape} differ in frame size"
            )
    return Clip(video_id, frame_indices, arrays)


def compact(array: np.ndarray) -> np.ndarray:
    """An integer array in the smallest dtype that holds its values (any other array unchanged): what a metric
    keeps of a clip until ``compute_metrics``, for every clip of the dataset, stays small."""
    if not np.issubdtype(array.dtype, np.integer) or array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    return array.astype(np.result_type(np.min_scalar_type(low), np.min_scalar_type(high)))


def group_clips(results: list[dict], owner: str) -> dict[str, list[dict]]:
    """Clip results (each with ``video_id`` and ``frame_indices``) grouped per video, both in a fixed order.

    Videos come sorted by id and each video's clips by frame index, so the metrics sum in the same order
    however the clips arrived. Clips of one video must cover disjoint runs of frames.
    """
    videos = defaultdict(list)
    for result in results:
        videos[result["video_id"]].append(result)
    for video_id, clips in videos.items():
        clips.sort(key=lambda clip: clip["frame_indices"][0])
        for earlier, later in zip(clips, clips[1:]):
            if later["frame_indices"][0] <= earlier["frame_indices"][-1]:
                raise ValueError(
                    f"{owner}: clips of video {video_id!r} overlap: frames "
                    f"{earlier['frame_indices'][0]}..{earlier['frame_indices'][-1]} and "
                    f"{later['frame_indices'][0]}..{later['frame_indices'][-1]} (each frame is scored once)"
                )
    return {video_id: videos[video_id] for video_id in sorted(videos)}
