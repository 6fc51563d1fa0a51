"""Recurrent video matting (Robust Video Matting's architecture, Lin et al., WACV 2022) in the video-model contract.

Encoder (any registered backbone giving features at strides 2, 4, 8 and 16) -> LR-ASPP context on the stride-16
feature -> recurrent decoder (ConvGRUs at four scales: the model's state) -> projections to alpha, a foreground
residual and a segmentation logit -> optionally a deep guided filter that brings alpha and foreground to the full
frame's resolution. Everything up to the refiner runs at ``downsample_ratio`` times the frame size.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.models.feature_layout import probe_features
from steadyseg.models.stateful import State
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, Outputs, build_module, stack_field

ENCODER_STRIDES = (2, 4, 8, 16)
# Without a downsample_ratio the model computes with the long side at most this long (RVM's advice: 256-512 px).
AUTO_LONG_SIDE = 512
BATCH_KINDS = ("matting", "segmentation")


@MODELS.register_module()
class VideoMattingModel(BaseVideoSegmentor):
    """Alpha, foreground and a person logit for every frame of a clip, from the frames alone.

    Args:
        backbone: any registered backbone (config or built) whose outputs are exactly one feature at each of
            strides 2, 4, 8 and 16, e.g. ``StridedMobileNetV3(arch="large", output_stride=16,
            out_indices=(1, 3, 6, 16))`` as RVM, ``MobileOne(out_indices=(0, 1, 2, 3))``. Channels and strides are
            measured on a probe frame.
        context: the module on the stride-16 feature (``LRASPPContext``); its ``in_channels`` is the backbone's
            (filled in when left out, checked when given), its output width is its ``channels``.
        decoder: ``RecurrentMattingDecoder``; its ``feature_channels`` (the backbone's at strides 2, 4, 8 and the
            context's) are filled in or checked the same way, its output width is its ``out_channels``.
        refiner: ``DeepGuidedFilter`` (its ``hidden_channels`` filled in or checked), or None to upsample the
            decoder's predictions bilinearly to the frame size.
        losses: loss modules (configs or built). Each declares ``batch_kind`` (``"matting"`` or
            ``"segmentation"``) and ``loss_name``; see :meth:`loss`.
        downsample_ratio: the scale the encoder and decoder compute at, in (0, 1]; None chooses
            ``min(1, 512 / long side)`` per frame size (:meth:`ratio_for`). An exported step needs a fixed ratio
            to run at other frame sizes than the one it was exported at.
        data_preprocessor: defaults to ``VideoDataPreprocessor``; its mean and std turn the normalized inputs back
            into the RGB frames the decoder, the foreground and the refiner use.

    ``outputs``: ``alpha [B, T, 1, H, W]`` and ``fgr [B, T, 3, H, W]`` in [0, 1] and ``seg_logits [B, T, 1, H, W]``,
    all at the frame size ``H x W`` the model is given (the refiner, or the bilinear upsampling, reads the full
    frame). The state is the decoder's four hidden tensors, at the internal size (:meth:`internal_size`).
    """

    output_names = ("alpha", "fgr", "seg_logits")

    def __init__(
        self,
        backbone: dict | nn.Module,
        context: dict | nn.Module,
        decoder: dict | nn.Module,
        refiner: dict | nn.Module | None = None,
        losses: list[dict | nn.Module] | None = None,
        downsample_ratio: float | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type="VideoDataPreprocessor"), init_cfg=init_cfg
        )
        owner = type(self).__name__
        self.downsample_ratio = downsample_ratio
        self.backbone = build_module(backbone)
        layout = probe_features(self.backbone)
        if layout.strides != ENCODER_STRIDES:
            raise ValueError(
                f"{owner}: the backbone gives features at strides {layout.strides} (channels {layout.channels}); "
                f"the matting decoder reads exactly one feature at each of strides {ENCODER_STRIDES}: choose "
                "backbone.out_indices so (e.g. StridedMobileNetV3 arch='large', output_stride=16, "
                "out_indices=(1, 3, 6, 16); MobileOne out_indices=(0, 1, 2, 3))"
            )
        self.context = _build_with(context, "in_channels", layout.channels[-1], "context", owner)
        feature_channels = (*layout.channels[:-1], self.context.channels)
        self.decoder = _build_with(decoder, "feature_channels", feature_channels, "decoder", owner)
        self.matting_projection = nn.Conv2d(self.decoder.out_channels, 4, 1)
        self.segmentation_projection = nn.Conv2d(self.decoder.out_channels, 1, 1)
        self.refiner = (
            None
            if refiner is None
            else _build_with(refiner, "hidden_channels", self.decoder.out_channels, "refiner", owner)
        )
        self.losses = nn.ModuleList(build_module(loss) for loss in losses or [])
        _check_losses(self.losses, owner)

    @property
    def downsample_ratio(self) -> float | None:
        """The scale the encoder and decoder compute at, in (0, 1], or None to choose it per frame size
        (:meth:`ratio_for`). Export sets it to fix one: a graph computes at one ratio."""
        return self._downsample_ratio

    @downsample_ratio.setter
    def downsample_ratio(self, ratio: float | None) -> None:
        if ratio is not None and (
            isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1
        ):
            raise ValueError(
                f"{type(self).__name__}: downsample_ratio must be in (0, 1] or None, got {ratio!r}"
            )
        self._downsample_ratio = None if ratio is None else float(ratio)

    def ratio_for(self, height: int, width: int) -> float:
        """The downsample ratio for frames of ``height x width``: the configured one, or ``min(1, 512 / long
        side)``."""
        if self.downsample_ratio is not None:
            return self.downsample_ratio
        return min(1.0, AUTO_LONG_SIDE / max(height, width))

    def internal_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` the encoder and decoder compute at for frames of ``height x width`` (what bilinear
        interpolation by :meth:`ratio_for` gives: the sizes times the ratio, rounded down)."""
        ratio = self.ratio_for(height, width)
        return math.floor(height * ratio), math.floor(width * ratio)

    def initial_state(self, frame: torch.Tensor) -> State:
        """The decoder's zero state for full-resolution frames shaped like ``frame [B, 3, H, W]``."""
        # Resized, not sized by arithmetic: one rule gives the state the size forward_clip computes at.
        return self.state_layout.initial(self._downsample(frame))

    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[Outputs, State]:
        batch, frames = inputs.shape[:2]
        images = self.images_from_inputs(inputs).flatten(0, 1)
        inputs_low = self._downsample(inputs.flatten(0, 1)).unflatten(0, (batch, frames))
        images_low = self.images_from_inputs(inputs_low)
        *skips, deepest = self.backbone(inputs_low.flatten(0, 1))
        features = [feature.unflatten(0, (batch, frames)) for feature in (*skips, self.context(deepest))]
        parts = self.state_layout.split(state)
        hidden, parts["decoder"] = self.decoder(images_low, features, parts["decoder"])
        hidden, images_low = hidden.flatten(0, 1), images_low.flatten(0, 1)
        fgr_residual, alpha = self.matting_projection(hidden).split([3, 1], dim=1)
        size = tuple(images.shape[-2:])
        if self.refiner is not None:
            fgr, alpha = self.refiner(images, images_low, fgr_residual + images_low, alpha, hidden)
        else:
            fgr = _resize(fgr_residual, size) + images
            alpha = _resize(alpha, size)
        outputs = {
            "alpha": alpha.clamp(0, 1),
            "fgr": fgr.clamp(0, 1),
            "seg_logits": _resize(self.segmentation_projection(hidden), size),
        }
        outputs = {name: value.unflatten(0, (batch, frames)) for name, value in outputs.items()}
        return outputs, self.state_layout.join(parts)

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        """The losses of the batch's kind, each called with keyword arguments ``alpha [B, T, 1, H, W]``, ``fgr
        [B, T, 3, H, W]``, ``seg_logits [B, T, 1, H, W]``, ``gt_alpha``, ``gt_fgr`` (stacked like the
        predictions, or None when a sample lacks them) and ``gt_sem_seg [B, T, H, W]`` (or None), returning a
        scalar stored under its ``loss_name``.

        Clips whose samples all carry ``gt_alpha`` make a matting batch; clips with ``gt_sem_seg`` and no
        ``gt_alpha`` a segmentation batch. Only the losses whose ``batch_kind`` is the batch's are called.
        """
        kind = self._batch_kind(data_samples)
        outputs, _ = self.forward_clip(inputs, self.initial_state(inputs[:, 0]))
        ground_truth = {
            name: stack_field(data_samples, name) for name in ("gt_alpha", "gt_fgr", "gt_sem_seg")
        }
        terms = {
            loss.loss_name: loss(**outputs, **ground_truth) for loss in self.losses if loss.batch_kind == kind
        }
        if not terms:
            raise ValueError(
                f"{type(self).__name__}.loss: a {kind} batch, but no loss in `losses` has batch_kind={kind!r}"
            )
        return terms

    def postprocess(self, outputs: Outputs, data_samples: list[VideoDataSample]) -> None:
        """``pred_alpha [T, 1, H, W]`` and ``pred_fgr [T, 3, H, W]`` of each clip, padding cropped and resized
        (bilinear) to the original frame size, and ``pred_sem_seg [T, H, W]``: person (1) where alpha > 0.5."""
        for sample, alpha, fgr in zip(data_samples, outputs["alpha"], outputs["fgr"]):
            height, width = sample.metainfo.get("img_shape", alpha.shape[-2:])
            ori_shape = tuple(sample.metainfo.get("ori_shape", (height, width)))
            alpha, fgr = (_resize(value[..., :height, :width], ori_shape) for value in (alpha, fgr))
            sample.pred_alpha, sample.pred_fgr = alpha, fgr
            sample.pred_sem_seg = (alpha[:, 0] > 0.5).long()

    def _downsample(self, frames: torch.Tensor) -> torch.Tensor:
        """``[N, 3, H, W]`` -> :meth:`internal_size`, bilinear. A fixed ratio is a constant scale factor, so an
        exported graph holds no size computed from it."""
        ratio = self.ratio_for(*frames.shape[-2:])
        if ratio == 1:
            return frames
        return F.interpolate(frames, scale_factor=ratio, mode="bilinear", align_corners=False)

    def _batch_kind(self, data_samples: list[VideoDataSample]) -> str:
        owner = f"{type(self).__name__}.loss"
        with_alpha = ["gt_alpha" in sample for sample in data_samples]
        if all(with_alpha):
            return "matting"
        if any(with_alpha):
            raise ValueError(
                f"{owner}: data samples {[i for i, has in enumerate(with_alpha) if has]} carry gt_alpha and the "
                "others do not: a batch is all matting clips or all segmentation clips"
            )
        missing = [index for index, sample in enumerate(data_samples) if "gt_sem_seg" not in sample]
        if missing:
            raise ValueError(
                f"{owner}: data sample {missing[0]} has neither gt_alpha (matting) nor gt_sem_seg (segmentation)"
            )
        return "segmentation"


def _build_with(part: dict | nn.Module, key: str, measured, name: str, owner: str) -> nn.Module:
    """``part`` built with ``key`` set to ``measured``: filled into a config that leaves it out, else checked
    (a built module without that attribute is taken as is)."""
    if isinstance(part, dict) and key not in part:
        return build_module({**part, key: measured})
    declared = part.get(key) if isinstance(part, dict) else getattr(part, key, None)
    if declared is not None and _as_tuple(declared) != _as_tuple(measured):
        raise ValueError(
            f"{owner}: {name}.{key}={declared!r} disagrees with the model's features, which give {measured!r}; "
            f"leave {name}.{key} out to take them"
        )
    return build_module(part)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _check_losses(losses: nn.ModuleList, owner: str) -> None:
    names = []
    for index, loss in enumerate(losses):
        kind = getattr(loss, "batch_kind", None)
        if kind not in BATCH_KINDS:
            raise ValueError(
                f"{owner}: losses[{index}] ({type(loss).__name__}) has batch_kind={kind!r}; it must declare "
                f"which batches it serves, one of {BATCH_KINDS}"
            )
        name = getattr(loss, "loss_name", None)
        if not isinstance(name, str) or name in names:
            raise ValueError(
                f"{owner}: losses[{index}] ({type(loss).__name__}) has loss_name={name!r}; each loss needs its own "
                "name (the key of its term)"
            )
        names.append(name)


def _resize(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[N, C, h, w] -> [N, C, *size]``, bilinear; unchanged when already that size."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False)
