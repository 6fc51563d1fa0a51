"""Shared behaviour of every video segmentation model: the three ``forward`` modes and streaming.

A subclass implements :meth:`forward_clip` (logits for a clip given the recurrent state it starts
from) and :meth:`loss`; everything that turns logits into predictions, and the streaming ``step``
used by inference, export and latency profiling, lives here once.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

State = tuple[torch.Tensor, ...]


class BaseVideoSegmentor(BaseModel):
    """``forward(inputs [B, T, 3, H, W], data_samples, mode)`` for ``loss | predict | tensor``.

    Recurrent state is a tuple of tensors so exported graphs can take and return it. During
    ``predict`` the state carries over from one clip to the next of the same video (test datasets
    split videos into consecutive clips) and resets when a clip has ``is_first_clip`` set.

    ``temporal_losses`` (configs of registered losses, each with its ``loss_weight``) are added to the
    per-frame losses of any subclass through :meth:`temporal_loss_terms`. Each is called with keyword
    arguments ``logits [B, T, C, H, W]``, ``images [B, T, 3, H, W]`` (RGB in [0, 1]), ``flow
    [B, T-1, 2, H, W]`` (the clips' backward flow, or None when a sample has none), ``gt_sem_seg
    [B, T, H, W]`` (or None) and ``features [B, T, C', h, w]`` (or None), and returns a scalar.
    """

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        temporal_losses: list[dict] | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.temporal_losses = nn.ModuleList(MODELS.build(cfg) for cfg in temporal_losses or [])
        self._stream_state: State | None = None

    @abstractmethod
    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits ``[B, T, C, H, W]`` at the input resolution and the state after the last frame."""

    @abstractmethod
    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        """Loss terms for a batch of clips."""

    def initial_state(self, frame: torch.Tensor) -> State:
        """The state before the first frame of a video; stateless models keep the empty tuple."""
        return ()

    def step(self, frame: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Streaming inference: one frame ``[B, 3, H, W]`` in, logits ``[B, C, H, W]`` and the new state out."""
        if state is None:
            state = self.initial_state(frame)
        logits, state = self.forward_clip(frame.unsqueeze(1), state)
        return logits.squeeze(1), state

    def forward(self, inputs: torch.Tensor, data_samples: list | None = None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self.forward_clip(inputs, self.initial_state(inputs[:, 0]))[0]
        raise ValueError(f"Invalid mode {mode!r}: expected 'loss', 'predict' or 'tensor'")

    def predict(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> list[VideoDataSample]:
        if inputs.shape[0] != 1 and self.is_recurrent:
            raise ValueError(
                "recurrent video models predict one clip at a time: set the test batch_size to 1"
            )
        state = self._stream_state
        if state is None or data_samples[0].metainfo.get("is_first_clip", True):
            state = self.initial_state(inputs[:, 0])
        logits, state = self.forward_clip(inputs, state)
        self._stream_state = state if self.is_recurrent else None
        for sample, clip_logits in zip(data_samples, logits):
            self._attach_prediction(sample, clip_logits)
        return data_samples

    def temporal_loss_terms(
        self,
        logits: torch.Tensor,
        inputs: torch.Tensor,
        data_samples: list[VideoDataSample],
        features: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if not self.temporal_losses:
            return {}
        images = self.images_from_inputs(inputs)
        terms = {}
        for loss in self.temporal_losses:
            terms[loss.loss_name] = loss(
                logits=logits,
                images=images,
                flow=stack_field(data_samples, "gt_flow"),
                gt_sem_seg=stack_field(data_samples, "gt_sem_seg"),
                features=features,
            )
        return terms

    def images_from_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Normalized model inputs back to RGB images in [0, 1] (for occlusion masks and optical flow)."""
        mean, std = self.data_preprocessor.mean, self.data_preprocessor.std
        return ((inputs * std + mean) / 255.0).clamp(0, 1)

    def frame_seg_samples(
        self, data_samples: list[VideoDataSample], size: tuple[int, int]
    ) -> list[SegDataSample]:
        """One mmseg ``SegDataSample`` per frame (clip-major), so mmseg heads compute their losses unchanged."""
        frame_samples = []
        for index, sample in enumerate(data_samples):
            if "gt_sem_seg" not in sample:
                raise ValueError(
                    f"{type(self).__name__}.loss: data sample {index} has no gt_sem_seg "
                    "(load it with LoadClipAnnotations(with_sem_seg=True))"
                )
            meta = {"img_shape": tuple(size), "pad_shape": tuple(size)}
            frame_samples += [
                SegDataSample(gt_sem_seg=PixelData(data=gt[None]), metainfo=meta) for gt in sample.gt_sem_seg
            ]
        return frame_samples

    @property
    def is_recurrent(self) -> bool:
        return False

    @staticmethod
    def _attach_prediction(sample: VideoDataSample, logits: torch.Tensor) -> None:
        """Crops padding, resizes to the original frame size and takes the arg-max class."""
        height, width = sample.metainfo.get("img_shape", logits.shape[-2:])
        logits = logits[..., :height, :width]
        ori_shape = tuple(sample.metainfo.get("ori_shape", (height, width)))
        if tuple(logits.shape[-2:]) != ori_shape:
            logits = F.interpolate(logits, size=ori_shape, mode="bilinear", align_corners=False)
        sample.pred_sem_seg = logits.argmax(dim=1)


def stack_field(data_samples: list[VideoDataSample], name: str) -> torch.Tensor | None:
    """``[B, ...]`` stack of a per-clip tensor field, or None when any sample lacks it."""
    if not all(name in sample for sample in data_samples):
        return None
    return torch.stack([getattr(sample, name) for sample in data_samples])
