"""``SoftFlickerMetric``: ground-truth-free flicker of a soft map (matting alpha, person probability)."""

from __future__ import annotations

import numpy as np

from steadyseg.registry import METRICS

from .flicker_metric import mean_pair_ratios
from .flow_pair_metric import FlowPairMetric
from .functional import Clip, check_unit_interval


@METRICS.register_module()
class SoftFlickerMetric(FlowPairMetric):
    """``soft_flicker`` and ``soft_flicker_flow``: how much a soft map ``p`` in [0, 1] changes between
    consecutive frames, so matting models and segmentation models' probabilities compare on one scale.

    For each pair of consecutive frames ``(t-1, t)``: ``soft_flicker`` is the mean over all pixels of
    ``|p_t - p_{t-1}|`` (no motion compensation: moving people count too); ``soft_flicker_flow`` the mean over
    the pixels whose flow stays inside the frame of ``|p_t - warp(p_{t-1})|``, ``p_{t-1}`` warped onto frame t
    with the backward flow of frame t (bilinear), i.e. changes that motion does not explain. Each is averaged
    over the pairs of a video, then over videos, so every video weighs the same whatever its length; pairs and
    videos with nothing to score are left out, and a key with nothing left is NaN (with a warning), as in
    ``FlickerMetric``. It needs no ground truth. Flow and chunking as in ``FlowPairMetric``: each pair keeps
    its sums and pixel counts, so a chunked video scores as the whole one.

    ``p`` is the sample's ``pred_alpha [T, 1, H, W]`` (matting models) when it has one, else the person
    probability from its ``seg_logits [T, C, H, W]`` (segmentation models, the MediaPipe baseline): the
    sigmoid of a one-channel head, the softmax's channel ``person_class`` for two or more channels.

    Args:
        person_class: the channel of ``seg_logits`` whose softmax is the person probability (``C >= 2``).
        flow_source: ``'auto'``, ``'data'`` or ``'dis'`` (see ``FlowPairMetric``).
        prefix: prefix of the metric keys.
    """

    fields = ()
    optional_fields = ("pred_alpha", "seg_logits", "gt_flow")
    map_name = "soft_map"
    warp_mode = "bilinear"
    undefined_when = {
        "soft_flicker": "no video has two frames",
        "soft_flicker_flow": "no video has a pair of consecutive frames with flow and a pixel whose flow "
        "stays inside the frame",
    }

    def __init__(self, person_class: int = 1, flow_source: str = "auto", prefix: str | None = None) -> None:
        super().__init__(flow_source=flow_source, prefix=prefix)
        if isinstance(person_class, bool) or not isinstance(person_class, int) or person_class < 0:
            raise ValueError(f"SoftFlickerMetric: person_class must be an int >= 0, got {person_class!r}")
        self.person_class = person_class

    def check_clip(self, clip: Clip) -> None:
        owner = f"SoftFlickerMetric: video {clip.video_id!r}"
        if "pred_alpha" in clip.arrays:
            check_unit_interval(clip.arrays["pred_alpha"], f"{owner}: pred_alpha")
            return
        if "seg_logits" not in clip.arrays:
            raise ValueError(
                f"{owner}: the data sample has neither 'pred_alpha' (matting models) nor 'seg_logits' "
                "(segmentation models): one of them is the map scored"
            )
        num_channels = clip.arrays["seg_logits"].shape[1]
        if num_channels >= 2 and self.person_class >= num_channels:
            raise ValueError(
                f"{owner}: person_class={self.person_class}, but seg_logits has {num_channels} channels"
            )

    def frame_maps(self, clip: Clip) -> np.ndarray:
        """``p [T, H, W]``: the alpha, or the person probability of the logits (in float64)."""
        if "pred_alpha" in clip.arrays:
            return np.ascontiguousarray(clip.arrays["pred_alpha"][:, 0])
        logits = clip.arrays["seg_logits"].astype(np.float64)
        if logits.shape[1] == 1:
            # sigmoid(x) = exp(-log(1 + exp(-x))), which neither overflows nor divides by zero.
            return np.exp(-np.logaddexp(0.0, -logits[:, 0]))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted[:, self.person_class] / shifted.sum(axis=1)

    def pair_stats(self, current, previous, warped, valid) -> np.ndarray:
        """``[P, 4]`` per pair: the sum over all pixels of ``|p_t - p_{t-1}|``, their number, the sum of
        ``|p_t - warp(p_{t-1})|`` over the pixels whose flow stays inside the frame, their number."""
        stats = np.zeros((len(current), 4), dtype=np.float64)
        current = current.astype(np.float64)
        stats[:, 0] = np.abs(current - previous).sum(axis=(1, 2))
        stats[:, 1] = current[0].size if len(current) else 0
        if warped is not None:
            stats[:, 2] = np.where(valid, np.abs(current - warped), 0.0).sum(axis=(1, 2))
            stats[:, 3] = np.count_nonzero(valid, axis=(1, 2))
        return stats

    def summarize(self, videos: list[list[np.ndarray]]) -> dict[str, float]:
        return mean_pair_ratios(videos, ("soft_flicker", "soft_flicker_flow"), type(self).__name__)
