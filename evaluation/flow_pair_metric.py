"""``FlowPairMetric``: the base of metrics comparing consecutive predicted label maps through optical flow."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from steadyseg.flow import check_flow_source, dis_flow, resize_flow, warp

from .frame_pair_metric import FramePairMetric
from .functional import Clip

RGB = "rgb"


class FlowPairMetric(FramePairMetric):
    """Scores every pair of consecutive predicted frames ``(t-1, t)`` of every video, with and without flow.

    For each pair a subclass gets ``pred_t``, ``pred_{t-1}`` and ``pred_{t-1}`` warped onto frame t with the
    backward flow of frame t (nearest neighbour, :func:`steadyseg.flow.warp`) plus the mask of pixels whose
    flow stays inside the frame, and returns per-pair statistics (:meth:`pair_stats`).

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

    def prepare_clip(self, clip: Clip, data_batch: Any, index: int) -> tuple[dict[str, np.ndarray], Any]:
        """The predictions (and RGB frames, when DIS flow may be needed) and the flow of the clip's pairs."""
        pred = clip.arrays["pred_sem_seg"]
        data_flow = clip.arrays.get("gt_flow")
        use_data = self.flow_source == "data" or (self.flow_source == "auto" and data_flow is not None)
        if use_data and data_flow is None:
            raise ValueError(
                f"{type(self).__name__}: video {clip.video_id!r}: flow_source='data' but the data sample "
                "has no 'gt_flow'"
            )
        frames = {"pred_sem_seg": pred}
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
        current, previous = later["pred_sem_seg"], earlier["pred_sem_seg"]
        if motion is None or len(current) == 0:
            return self.pair_stats(current, previous, None, None)
        flow = resize_flow(motion, current.shape[-2:])
        warped, valid = warp(torch.from_numpy(previous.astype(np.int64)).unsqueeze(1), flow, mode="nearest")
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
