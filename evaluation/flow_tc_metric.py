"""``FlowTCMetric``: flow-based temporal consistency (ETC's TC), and ``FlowPairMetric``, the bookkeeping of
metrics that score consecutive predicted frames through optical flow (also used by ``FlickerMetric``)."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from steadyseg.flow import check_flow_source, dis_flow, resize_flow, warp
from steadyseg.registry import METRICS

from .functional import group_clips, intersect_and_union


def _as_numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Smallest integer dtype holding every label: a clip keeps its edge frames until ``compute_metrics``."""
    low, high = int(labels.min()), int(labels.max())
    return labels.astype(np.result_type(np.min_scalar_type(low), np.min_scalar_type(high)))


class FlowPairMetric(BaseMetric):
    """Scores every pair of consecutive predicted frames ``(t-1, t)`` of every video, with and without flow.

    For each pair a subclass gets ``pred_t``, ``pred_{t-1}`` and ``pred_{t-1}`` warped onto frame t with the
    backward flow of frame t (nearest neighbour, :func:`steadyseg.flow.warp`) plus the mask of pixels whose
    flow stays inside the frame, and returns per-pair statistics (:meth:`pair_stats`).

    Flow (``flow_source``): ``'data'`` = the sample's ``gt_flow [T-1, 2, H, W]``; ``'dis'`` = OpenCV DIS flow
    of the clip's frames, ``data_batch['inputs'][i]`` (uint8 ``[T, 3, h, w]`` at the model's input size,
    in the order of the data samples); ``'auto'`` = ``gt_flow`` when the sample has it, else DIS. Flow is
    resized to the prediction's resolution with its vectors scaled.

    Videos may arrive as consecutive clips in any order. Each clip keeps its reduced pair statistics and its
    first and last predictions (and frames, when DIS can be used), so the pair across two clips is scored in
    ``compute_metrics`` exactly as in the whole video. That pair has no data flow (a clip's ``gt_flow``
    starts at its second frame): it uses DIS flow from the kept frames unless ``flow_source='data'`` or the
    frames are not given, and is then scored without flow only. So results do not depend on the chunking with
    DIS flow; with data flow, the few pairs that straddle clips use DIS (or no) flow.
    """

    def __init__(self, flow_source: str = "auto", prefix: str | None = None) -> None:
        super().__init__(prefix=prefix)
        self.flow_source = check_flow_source(flow_source, type(self).__name__)

    @abstractmethod
    def pair_stats(
        self,
        current: np.ndarray,
        previous: np.ndarray,
        warped: np.ndarray | None,
        valid: np.ndarray | None,
    ) -> np.ndarray:
        """Statistics ``[P, ...]`` of ``P`` pairs of ``[P, H, W]`` label maps; ``warped``/``valid`` are None
        for a pair without flow."""

    def reduce_clip(self, stats: np.ndarray) -> np.ndarray:
        """What a clip keeps of its pairs' statistics (by default all of them, in frame order)."""
        return stats

    @abstractmethod
    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        """The metrics from each video's reduced statistics, in frame order (clip, cross-clip pair, clip...)."""

    def check_prediction(self, pred: np.ndarray, video_id: str) -> None:
        """Hook for subclasses that restrict the predicted labels."""

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for index, data_sample in enumerate(data_samples):
            video_id, frame_indices, pred, data_flow = self._unpack(data_sample)
            self.check_prediction(pred, video_id)
            use_data = self.flow_source == "data" or (self.flow_source == "auto" and data_flow is not None)
            if use_data and data_flow is None:
                raise ValueError(
                    f"{self._owner}: video {video_id!r}: flow_source='data' but the data sample has no 'gt_flow'"
                )
            frames = None
            if self.flow_source != "data":
                frames = self._frames(data_batch, index, video_id, len(pred), required=not use_data)
            flow = data_flow if use_data else dis_flow(frames)
            stats = self._score(pred[1:], pred[:-1], flow)
            self.results.append(
                dict(
                    video_id=video_id,
                    frame_indices=frame_indices,
                    stats=self.reduce_clip(stats),
                    first_pred=_compact(pred[0]),
                    last_pred=_compact(pred[-1]),
                    first_frame=None if frames is None else frames[0].numpy(),
                    last_frame=None if frames is None else frames[-1].numpy(),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        videos = []
        for video_id, clips in group_clips(results, self._owner).items():
            pieces = []
            for clip, following in zip(clips, clips[1:] + [None]):
                pieces.append(clip["stats"])
                if following is not None:
                    pieces.append(self.reduce_clip(self._cross_clip_stats(video_id, clip, following)))
            videos.append(pieces)
        return self.summarize(videos)

    @property
    def _owner(self) -> str:
        return type(self).__name__

    def _unpack(self, data_sample) -> tuple[str, list[int], np.ndarray, torch.Tensor | None]:
        """``(video_id, frame_indices, pred [T, H, W], gt_flow [T-1, 2, h, w] or None)``, checked."""
        if isinstance(data_sample, BaseDataElement):
            data_sample = data_sample.to_dict()
        for key in ("video_id", "frame_indices", "pred_sem_seg"):
            if key not in data_sample:
                raise ValueError(f"{self._owner}: data sample has no {key!r} (keys: {sorted(data_sample)})")
        video_id = str(data_sample["video_id"])
        pred = _as_numpy(data_sample["pred_sem_seg"])
        if pred.ndim != 3 or len(pred) == 0 or not np.issubdtype(pred.dtype, np.integer):
            raise ValueError(
                f"{self._owner}: video {video_id!r}: pred_sem_seg must be integer labels [T >= 1, H, W], "
                f"got {pred.dtype} {pred.shape}"
            )
        frame_indices = [int(i) for i in data_sample["frame_indices"]]
        if len(frame_indices) != len(pred):
            raise ValueError(
                f"{self._owner}: video {video_id!r}: {len(frame_indices)} frame_indices for {len(pred)} frames"
            )
        if any(later <= earlier for earlier, later in zip(frame_indices, frame_indices[1:])):
            raise ValueError(
                f"{self._owner}: video {video_id!r}: frame_indices {frame_indices} are not increasing"
            )
        flow = data_sample.get("gt_flow")
        if flow is not None:
            flow = torch.as_tensor(flow, dtype=torch.float32)
            if flow.ndim != 4 or flow.shape[:2] != (len(pred) - 1, 2):
                raise ValueError(
                    f"{self._owner}: video {video_id!r}: gt_flow must be [T-1, 2, H, W] with T = {len(pred)}, "
                    f"got {tuple(flow.shape)}"
                )
        return video_id, frame_indices, pred, flow

    def _frames(
        self, data_batch, index: int, video_id: str, num_frames: int, required: bool
    ) -> torch.Tensor | None:
        """The clip's uint8 frames ``[T, 3, h, w]`` from ``data_batch['inputs']``, or None when not given and
        not ``required``."""
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        if inputs is None or index >= len(inputs):
            if not required:
                return None
            raise ValueError(
                f"{self._owner}: video {video_id!r}: flow_source={self.flow_source!r} needs DIS flow, but "
                f"data_batch['inputs'] has no frames for data sample {index} (give the sample a 'gt_flow' or "
                f"pass the data batch)"
            )
        frames = torch.as_tensor(inputs[index]).cpu()
        if frames.ndim != 4 or frames.shape[:2] != (num_frames, 3):
            raise ValueError(
                f"{self._owner}: video {video_id!r}: data_batch['inputs'][{index}] must be RGB [T, 3, h, w] "
                f"with T = {num_frames}, got {tuple(frames.shape)}"
            )
        return frames

    def _score(self, current: np.ndarray, previous: np.ndarray, flow: torch.Tensor | None) -> np.ndarray:
        if flow is None or len(current) == 0:
            return self.pair_stats(current, previous, None, None)
        flow = resize_flow(flow, current.shape[-2:])
        warped, valid = warp(torch.from_numpy(previous.astype(np.int64)).unsqueeze(1), flow, mode="nearest")
        return self.pair_stats(current, previous, warped[:, 0].numpy(), valid[:, 0].numpy())

    def _cross_clip_stats(self, video_id: str, clip: dict, following: dict) -> np.ndarray:
        previous, current = clip["last_pred"], following["first_pred"]
        if previous.shape != current.shape:
            raise ValueError(
                f"{self._owner}: video {video_id!r}: frames {clip['frame_indices'][-1]} and "
                f"{following['frame_indices'][0]} have predictions of different sizes "
                f"{previous.shape} and {current.shape}"
            )
        flow = None
        if clip["last_frame"] is not None and following["first_frame"] is not None:
            flow = dis_flow(torch.from_numpy(np.stack([clip["last_frame"], following["first_frame"]])))
        return self._score(current[None].astype(np.int64), previous[None].astype(np.int64), flow)


@METRICS.register_module()
class FlowTCMetric(FlowPairMetric):
    """Flow-based temporal consistency ``TC`` (Liu et al., "Efficient Semantic Video Segmentation with
    Per-frame Inference", ECCV 2020).

    For every pair of consecutive frames, ``pred_{t-1}`` is warped onto frame t with the backward flow of
    frame t (nearest neighbour) and compared with ``pred_t`` over the pixels whose flow stays inside the frame.
    ETC warps ``pred_{t+1}`` back onto frame t with forward flow; with backward flow this is the same pairing
    seen from the later frame. Intersections and unions per class are summed over all pairs of all videos and
    ``TC`` is their mIoU (mean over classes with a non-empty union; NaN when there is none). It needs no ground
    truth. A pair scored without flow (see ``FlowPairMetric``) adds nothing.

    Args:
        num_classes: number of classes; predicted labels must lie in ``[0, num_classes)``.
        flow_source: ``'auto'``, ``'data'`` or ``'dis'`` (see ``FlowPairMetric``).
        prefix: prefix of the metric key.
    """

    def __init__(self, num_classes: int, flow_source: str = "auto", prefix: str | None = None) -> None:
        super().__init__(flow_source=flow_source, prefix=prefix)
        if num_classes < 1:
            raise ValueError(f"FlowTCMetric: num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes

    def check_prediction(self, pred: np.ndarray, video_id: str) -> None:
        bad = (pred < 0) | (pred >= self.num_classes)
        if bad.any():
            raise ValueError(
                f"FlowTCMetric: video {video_id!r}: pred_sem_seg has label {pred[bad][0]}, outside "
                f"[0, {self.num_classes})"
            )

    def pair_stats(self, current, previous, warped, valid) -> np.ndarray:
        """``[P, 2, num_classes]``: intersection and union per class of each pair."""
        stats = np.zeros((len(current), 2, self.num_classes), dtype=np.int64)
        if warped is None:
            return stats
        for pair, (labels, reference, inside) in enumerate(zip(current, warped, valid)):
            reference = np.where(inside, reference, -1)
            intersection, union, _ = intersect_and_union(labels, reference, self.num_classes, ignore_index=-1)
            stats[pair] = intersection, union
        return stats

    def reduce_clip(self, stats: np.ndarray) -> np.ndarray:
        return stats.sum(axis=0)

    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        total = sum(
            (piece for pieces in videos for piece in pieces), np.zeros((2, self.num_classes), np.int64)
        )
        intersection, union = total
        seen = union > 0
        return {"TC": float((intersection[seen] / union[seen]).mean()) if seen.any() else math.nan}
