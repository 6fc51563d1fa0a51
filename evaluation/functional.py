"""Per-frame and per-window scores shared by the metrics and the notebooks (plain numpy).

Also the small bookkeeping every video metric needs: reading a clip out of a data sample and putting the
clips of each video back in order, because clips of one video reach the metric in any order and from any rank.
"""

from __future__ import annotations

import functools
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
    # A segmentation model's scores behind pred_sem_seg, one channel per class (one for a sigmoid head).
    "seg_logits": FieldSpec("[T >= 1, C, H, W]", ndim=4),
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


# ---------------------------------------------------------------------------------------------------------
# Matting, as Robust Video Matting's low-resolution evaluation scores it (alpha and foreground in [0, 1])
# ---------------------------------------------------------------------------------------------------------

GRAD_SIGMA = 1.4
CONN_STEPS = 10  # thresholds 0, 0.1, ..., 1
CONN_MIN_DIFFERENCE = 0.15


def check_unit_interval(array: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``name`` unless every value of ``array`` is in [0, 1] (NaN is not)."""
    if array.size and not (array.min() >= 0 and array.max() <= 1):
        raise ValueError(f"{name} must hold values in [0, 1], got min {array.min()}, max {array.max()}")


def _matting_maps(caller: str, ndim: int, **arrays) -> list[np.ndarray]:
    """``arrays`` as numpy arrays of one non-empty shape with ``ndim`` dimensions, each in [0, 1]."""
    arrays = {name: np.asarray(array) for name, array in arrays.items()}
    first_name, first = next(iter(arrays.items()))
    for name, array in arrays.items():
        if array.ndim != ndim or array.size == 0 or array.shape != first.shape:
            shapes = ", ".join(f"{other} {value.shape}" for other, value in arrays.items())
            raise ValueError(
                f"{caller}: {name} must be a non-empty {ndim}-D array of the shape of {first_name}, got {shapes}"
            )
        check_unit_interval(array, f"{caller}: {name}")
    return list(arrays.values())


def mad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute difference of two alpha maps ``[H, W]``, x 1e3."""
    pred, gt = _matting_maps("mad", 2, pred=pred, gt=gt)
    return float(np.mean(np.abs(np.subtract(pred, gt, dtype=np.float64))) * 1e3)


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared difference of two alpha maps ``[H, W]``, x 1e3."""
    pred, gt = _matting_maps("mse", 2, pred=pred, gt=gt)
    return float(np.mean(np.square(np.subtract(pred, gt, dtype=np.float64))) * 1e3)


def dtssd(pred: np.ndarray, pred_prev: np.ndarray, gt: np.ndarray, gt_prev: np.ndarray) -> float:
    """Temporal coherence of frame t against frame t-1 (alpha maps ``[H, W]``), x 1e2:
    ``sqrt(sum(((pred - pred_prev) - (gt - gt_prev))^2) / N)`` with ``N`` the number of pixels."""
    pred, pred_prev, gt, gt_prev = _matting_maps(
        "dtssd", 2, pred=pred, pred_prev=pred_prev, gt=gt, gt_prev=gt_prev
    )
    change = np.subtract(pred, pred_prev, dtype=np.float64) - np.subtract(gt, gt_prev, dtype=np.float64)
    return float(np.sqrt(np.mean(np.square(change))) * 1e2)


def foreground_mse(pred_fgr: np.ndarray, gt_fgr: np.ndarray, gt_alpha: np.ndarray) -> float:
    """Mean squared difference of two foregrounds ``[C, H, W]`` over the channels of the pixels where
    ``gt_alpha [H, W] > 0``, x 1e3; NaN when no pixel has ``gt_alpha > 0``."""
    pred_fgr, gt_fgr = _matting_maps("foreground_mse", 3, pred_fgr=pred_fgr, gt_fgr=gt_fgr)
    (gt_alpha,) = _matting_maps("foreground_mse", 2, gt_alpha=gt_alpha)
    if gt_alpha.shape != pred_fgr.shape[1:]:
        raise ValueError(
            f"foreground_mse: gt_alpha {gt_alpha.shape} must have the frame size of pred_fgr {pred_fgr.shape}"
        )
    foreground = gt_alpha > 0
    if not foreground.any():
        return math.nan
    difference = np.subtract(pred_fgr[:, foreground], gt_fgr[:, foreground], dtype=np.float64)
    return float(np.mean(np.square(difference)) * 1e3)


@functools.cache
def gaussian_derivative_kernels(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(smoothing, derivative)``: the two 1-D factors of the first-order Gaussian-derivative filter of Grad.

    Taps at offsets ``-h..h``, ``h = ceil(sigma * sqrt(-2 ln(sqrt(2 pi) * sigma * 0.01)))`` (where the
    Gaussian falls below 1% of its peak), of ``G(x) = exp(-x^2 / (2 sigma^2)) / (sigma sqrt(2 pi))`` and
    ``G'(x) = -x G(x) / sigma^2``, each scaled to unit L2 norm: the 2-D filter ``G(y) G'(x)`` scaled to unit
    L2 norm is their outer product, because the norm of an outer product is the product of the norms.
    """
    half_size = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))
    offsets = np.arange(-half_size, half_size + 1, dtype=np.float64)
    gaussian = np.exp(-(offsets**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    derivative = -offsets * gaussian / sigma**2
    kernels = tuple(kernel / np.linalg.norm(kernel) for kernel in (gaussian, derivative))
    for kernel in kernels:
        kernel.setflags(write=False)
    return kernels


def grad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Gradient error of two alpha maps ``[H, W]``, / 1e3.

    Each map is min-max normalized to [0, 1] (a constant map becomes all zeros, as OpenCV's ``NORM_MINMAX``
    makes it), filtered with :func:`gaussian_derivative_kernels` at sigma 1.4 along x and along y with
    replicated borders; the error is the sum over pixels of the squared difference of the two gradient
    magnitudes.
    """
    pred, gt = _matting_maps("grad", 2, pred=pred, gt=gt)
    smoothing, derivative = (kernel.astype(np.float32) for kernel in gaussian_derivative_kernels(GRAD_SIGMA))
    magnitudes = []
    for alpha in (pred, gt):
        # float32 as Robust Video Matting filtered: about 10x faster than float64 and within 1e-6 of it.
        normalized = cv2.normalize(alpha.astype(np.float32), None, 1.0, 0.0, cv2.NORM_MINMAX)
        along_x = cv2.sepFilter2D(normalized, -1, derivative, smoothing, borderType=cv2.BORDER_REPLICATE)
        along_y = cv2.sepFilter2D(normalized, -1, smoothing, derivative, borderType=cv2.BORDER_REPLICATE)
        magnitudes.append(cv2.magnitude(along_x, along_y))
    return float(np.sum(np.square(magnitudes[0] - magnitudes[1]), dtype=np.float64) / 1e3)


def conn(pred: np.ndarray, gt: np.ndarray) -> float:
    """Connectivity error of two alpha maps ``[H, W]`` (Rhemann et al. 2009), / 1e3.

    For each threshold ``t`` = 0.1, 0.2, ..., 1, omega_t is the largest 4-connected component of the pixels
    where both maps are >= t (of two equally large, the one whose first pixel comes first in row-major
    order). A pixel's level ``l`` is the threshold before the first ``t`` whose omega_t misses it (1 if every
    omega_t holds it). With ``d = alpha - l`` and ``phi = 1 - d * [d >= 0.15]`` for each map, the error is
    the sum over pixels of ``|phi_pred - phi_gt|``.

    Thresholds and differences are taken in the maps' own precision (float32 maps in float32), the way
    Robust Video Matting's published numbers were computed: a float32 alpha of 0.7 reaches the threshold 0.7.
    """
    pred, gt = _matting_maps("conn", 2, pred=pred, gt=gt)
    dtype = np.result_type(pred, gt, np.float32)
    pred, gt = pred.astype(dtype, copy=False), gt.astype(dtype, copy=False)
    levels = (np.arange(CONN_STEPS + 1) / CONN_STEPS).astype(dtype)
    round_down = levels[_largest_component_depth(np.minimum(pred, gt), levels[1:])]
    min_difference = dtype.type(CONN_MIN_DIFFERENCE)
    kept = [
        np.where(difference >= min_difference, difference, 0)
        for difference in (pred - round_down, gt - round_down)
    ]
    # |phi_pred - phi_gt| = |(1 - kept_pred) - (1 - kept_gt)|
    return float(np.sum(np.abs(kept[0] - kept[1]), dtype=np.float64) / 1e3)


def _largest_component_depth(lower: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per pixel, at how many of the increasing ``thresholds`` in a row, from the first, it lies in the largest
    4-connected component of the pixels where ``lower`` (the smaller of the two maps) reaches the threshold."""
    depth = np.zeros(lower.shape, dtype=np.uint8)
    inside = np.ones(lower.shape, dtype=bool)
    # Each threshold's pixels lie inside the bounding box of the previous threshold's, so the work shrinks to
    # that box; pixels outside it keep their depth, and their stale ``inside`` is never read again.
    top, left = 0, 0
    bottom, right = lower.shape
    for threshold in thresholds:
        reaches = lower[top:bottom, left:right] >= threshold
        rows, cols = np.flatnonzero(reaches.any(axis=1)), np.flatnonzero(reaches.any(axis=0))
        if rows.size == 0:
            break  # no pixel reaches this threshold, so none reaches a higher one
        reaches = reaches[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        top, bottom = top + rows[0], top + rows[-1] + 1
        left, right = left + cols[0], left + cols[-1] + 1
        count, labels = cv2.connectedComponents(reaches.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
        sizes = np.bincount(labels.ravel(), minlength=count)
        # cv2 numbers components in row-major order of their first pixel: argmax keeps the first of a tie.
        window_inside = inside[top:bottom, left:right]
        window_inside &= labels == 1 + np.argmax(sizes[1:])
        if not window_inside.any():
            break  # deeper thresholds cannot add to any pixel's run
        depth[top:bottom, left:right] += window_inside
    return depth


def check_clip_in_unit_interval(clip: Clip, owner: str) -> None:
    """Raise a ValueError naming ``owner``, the video and the field unless every field of ``clip`` (alpha,
    foreground) holds values in [0, 1]."""
    for key, array in clip.arrays.items():
        check_unit_interval(array, f"{owner}: video {clip.video_id!r}: {key}")


def frame_index_mean(per_video: Sequence[np.ndarray]) -> float:
    """Robust Video Matting's average of per-frame scores over videos of any lengths.

    ``per_video`` holds each video's scores ``[T_v]`` in frame order (NaN: frame not scored). The scores at
    each frame index (position in the video) are averaged over the videos that score a frame there, then
    those means over the indices: a frame index that only long videos reach weighs as much as any other.
    NaN when no frame is scored.
    """
    length = max((len(scores) for scores in per_video), default=0)
    sums, counts = np.zeros(length), np.zeros(length, dtype=np.int64)
    for scores in per_video:
        scored = ~np.isnan(scores)
        sums[: len(scores)] += np.where(scored, scores, 0.0)
        counts[: len(scores)] += scored
    indexed = counts > 0
    if not indexed.any():
        return math.nan
    return float(np.mean(sums[indexed] / counts[indexed]))
