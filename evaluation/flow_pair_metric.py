"""``FlowPairMetric``: the base of metrics comparing consecutive predicted label maps through optical flow."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import torch

from steadyseg.flow import check_flow_source, dis_flow, resize_flow, warp

from .frame_pair_metric import FramePairMetric
from .functional import Clip

RGB = "rgb"


class FlowPairMetric(FramePairMetric):
    """Scores every pair of consecutive predicted frames ``(t-1, t)`` of every video, with and without flow.

    For each pair a subclass gets the predicted maps ``pred_t``, ``pred_{t-1}`` and ``pred_{t-1}`` warped onto
    frame t with the backward flow of frame t (:func:`steadyseg.flow.warp` in :attr:`warp_mode`) plus the mask
    of pixels whose flow stays inside the frame, and returns per-pair statistics (:meth:`pair_stats`). By
    default the maps are the clip's integer labels ``pred_sem_seg``, warped by nearest neighbour; a metric of
    another map sets :attr:`fields`, :attr:`map_name` and :attr:`warp_mode` and overrides :meth:`frame_maps`
    (e.g. a soft map warped bilinearly).

    Flow (``flow_source``): ``'data'`` = the sample's ``gt_flow [T-1, 2, H, W]``; ``'dis'`` = OpenCV DIS flow
    of the clip's frames, ``data_batch['inputs'][i]`` (uint8 ``[T, 3, h, w]`` as the test pipeline hands them
    to the model, at their own resolution, in the order of the data samples); ``'auto'`` = ``gt_flow`` when the sample has it, else DIS. Flow is
    resized to the prediction's resolution with its vectors scaled.

    Chunked videos as in :class:`FramePairMetric`: each clip also keeps its first and last frames when DIS can
    be used. The pair across two clips has no data flow (a clip's ``gt_flow`` starts at its second frame): it
    uses DIS flow from the kept frames unless ``flow_source='data'`` or the frames are not given, and is then
    scored without flow only. So results do not depend on the chunking with DIS flow; with data flow, the few
    pairs that straddle clips use DIS (or no) flow.
    """

    fields = ("pred_sem_seg",)
    optional_fields = ("gt_flow",)
    #: The key of the maps among the frames :meth:`score_pairs` gets (and in its error messages).
    map_name: ClassVar[str] = "pred_sem_seg"
    #: How ``pred_{t-1}`` is sampled at ``x + flow(x)``: ``'nearest'`` keeps labels labels, ``'bilinear'``
    #: suits soft maps.
    warp_mode: ClassVar[str] = "nearest"

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
        """Statistics ``[P, ...]`` of ``P`` pairs of ``[P, H, W]`` maps; ``warped``/``valid`` are None for a
        pair without flow."""

    def frame_maps(self, clip: Clip) -> np.ndarray:
        """The maps ``[T, H, W]`` the clip's pairs compare: by default its field :attr:`map_name`."""
        return clip.arrays[self.map_name]

    def prepare_clip(self, clip: Clip, data_batch: Any, index: int) -> tuple[dict[str, np.ndarray], Any]:
        """The maps (and RGB frames, when DIS flow may be needed) and the flow of the clip's pairs."""
        pred = self.frame_maps(clip)
        data_flow = clip.arrays.get("gt_flow")
        use_data = self.flow_source == "data" or (self.flow_source == "auto" and data_flow is not None)
        if use_data and data_flow is None:
            raise ValueError(
                f"{type(self).__name__}: video {clip.video_id!r}: flow_source='data' but the data sample "
                "has no 'gt_flow'"
            )
        frames = {self.map_name: pred}
        rgb = None
        if self.flow_source != "data":
            rgb = self._rgb(data_batch, index, clip.video_id, len(pred), required=not use_data)
            if rgb is not None:
                frames[RGB] = rgb.numpy()
        flow = torch.as_tensor(data_flow, dtype=torch.float32) if use_data else dis_flow(rgb)
        return frames, flow

    def motion_across(self, earlier: dict[str, np.ndarray], later: dict[str, np.ndarray]) -> Any:
        if RGB not in earlier:
            return None
        return dis_flow(torch.from_numpy(np.concatenate([earlier[RGB], later[RGB]])))

    def score_pairs(
        self, earlier: dict[str, np.ndarray], later: dict[str, np.ndarray], motion: Any
    ) -> np.ndarray:
        current, previous = later[self.map_name], earlier[self.map_name]
        if motion is None or len(current) == 0:
            return self.pair_stats(current, previous, None, None)
        flow = resize_flow(motion, current.shape[-2:])
        # Labels kept at a clip's edge come back in their smallest integer dtype (``compact``), which torch
        # may not hold: labels are warped as int64, soft maps in their own precision.
        if np.issubdtype(previous.dtype, np.integer):
            previous = previous.astype(np.int64)
        warped, valid = warp(torch.from_numpy(previous).unsqueeze(1), flow, mode=self.warp_mode)
        return self.pair_stats(current, previous, warped[:, 0].numpy(), valid[:, 0].numpy())

    def _rgb(
        self, data_batch, index: int, video_id: str, num_frames: int, required: bool
    ) -> torch.Tensor | None:
        """The clip's uint8 frames ``[T, 3, h, w]`` from ``data_batch['inputs']``, or None when not given and
        not ``required``."""
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        if inputs is None or index >= len(inputs):
            if not required:
                return None
            raise ValueError(
                f"{type(self).__name__}: video {video_id!r}: flow_source={self.flow_source!r} needs DIS "
                f"flow, but data_batch['inputs'] has no frames for data sample {index} (give the sample a "
                "'gt_flow' or pass the data batch)"
            )
        frames = torch.as_tensor(inputs[index]).cpu()
        if frames.ndim != 4 or frames.shape[:2] != (num_frames, 3):
            raise ValueError(
                f"{type(self).__name__}: video {video_id!r}: data_batch['inputs'][{index}] must be RGB "
                f"[T, 3, h, w] with T = {num_frames}, got {tuple(frames.shape)}"
            )
        return frames
