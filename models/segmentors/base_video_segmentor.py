"""Shared behaviour of every video segmentation model: the three ``forward`` modes, streaming and predictions.

The contract every video model keeps (matting and instance segmentation build on it):

- ``forward_clip(inputs [B, T, 3, H, W], state) -> (outputs, state)``: ``outputs`` maps each of
  ``output_names`` to a ``[B, T, ...]`` tensor (``logits`` here; matting adds ``alpha`` and ``fgr``, instance
  segmentation ``masks``, ``scores``, ``embeddings``).
- ``step(frame [B, 3, H, W], state) -> (outputs, state)``: the same for one frame, ``T`` dropped; what inference
  runs, on frames at any resolution.
- The model owns its input scale: with ``input_short_side``, ``step`` and ``predict_stream`` resize the frames
  they are given so the short side has that length before computing (``forward_clip`` and
  ``step_at_input_scale`` compute at the size they are given: training crops, export and latency profiling work
  at the model's scale). So ``tools/test.py``, inference and the benchmarks hand full frames to the model and
  share this one resize.
- ``state`` is the flat tuple of the states of every stateful part (``models/stateful.py``), named by
  ``state_names``; it is passed in and out, never kept in the model.
- ``graph_step(frame, graph_state)``: what an exported graph computes, ``graph_output_names`` and the state
  ``graph_state_names``; the parts that run outside the graph (``in_graph = False``: a tracker) run after it on
  its outputs. For a model without such parts it is ``step_at_input_scale``.
- ``postprocess(outputs, data_samples)`` turns one clip batch's outputs into the data samples' predictions; each
  model family defines it once (here: ``pred_sem_seg``, and ``seg_logits`` of a person model, from ``logits``).

A subclass implements :meth:`forward_clip` and :meth:`loss`.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from steadyseg.config import load_config
from steadyseg.datasets.transforms.clip_geometry import short_side_size
from steadyseg.models.stateful import State, StateLayout
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

Outputs = dict[str, torch.Tensor]
# Predictions keep their logits only for heads this narrow: a background/person pair or one person logit.
MAX_KEPT_LOGIT_CHANNELS = 2


class BaseVideoSegmentor(BaseModel):
    """``forward(inputs [B, T, 3, H, W], data_samples, mode)`` for ``loss | predict | tensor``.

    ``predict`` (what mmengine's loops call) scores each batch of clips from the initial state;
    :meth:`predict_stream` takes and returns the state, so a caller that knows a clip continues the previous
    one (``steadyseg.engine.VideoTestLoop``) carries it.

    ``temporal_losses`` (configs of registered losses, each with its ``loss_weight``) are added to the
    per-frame losses of any subclass through :meth:`temporal_loss_terms`. Each is called with keyword
    arguments ``logits [B, T, C, H, W]``, ``images [B, T, 3, H, W]`` (RGB in [0, 1]), ``flow
    [B, T-1, 2, H, W]`` (the clips' backward flow, or None when a sample has none), ``gt_sem_seg
    [B, T, H, W]`` (or None), ``features [B, T, C', h, w]`` (or None) and ``teacher_logits
    [B, T, C_t, H, W]`` (or None), ``feature_stride`` (the output stride of ``features``, or None), and returns a
    scalar. Losses, like every part a segmentor takes, may be given as configs or as built modules.

    ``teacher``: the model that distillation losses learn from, as ``dict(config=PATH, checkpoint=PATH or
    None)`` or a built ``BaseVideoSegmentor``. It is frozen (eval mode, no gradients) and kept outside the
    module tree: it is not in the student's ``state_dict``, parameters or optimizer, so checkpoints load into
    the same config without a teacher and DDP sees only the student. A config is built at the first training
    loss, so testing, inference and export never load it. :meth:`temporal_loss_terms` runs it on the
    student's clips (converted to its own input range) and passes its logits, resized to the student's, as
    ``teacher_logits``.

    ``input_short_side``: the length the frames' shorter side is resized to (bilinear, the aspect ratio kept) by
    :meth:`step` and :meth:`predict_stream`; None computes at the size given.
    """

    output_names: tuple[str, ...] = ("logits",)

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        temporal_losses: list[dict | nn.Module] | None = None,
        teacher: dict | BaseVideoSegmentor | None = None,
        input_short_side: int | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if input_short_side is not None and (type(input_short_side) is not int or input_short_side < 1):
            raise ValueError(
                f"{type(self).__name__}: input_short_side must be a positive int or None, got {input_short_side!r}"
            )
        self.input_short_side = input_short_side
        self.temporal_losses = nn.ModuleList(build_module(loss) for loss in temporal_losses or [])
        self._teacher = None if teacher is None else _TeacherSlot(teacher, type(self).__name__)

    @abstractmethod
    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[Outputs, State]:
        """``output_names`` -> ``[B, T, ...]`` tensors at the input resolution, and the state after the last
        frame."""

    @abstractmethod
    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        """Loss terms for a batch of clips."""

    @property
    def state_layout(self) -> StateLayout:
        # Built on first use: subclasses register their stateful parts after this class's __init__.
        layout = self.__dict__.get("_state_layout")
        if layout is None:
            layout = self.__dict__["_state_layout"] = StateLayout(self)
        return layout

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the state tensors, ``<part>.<name>`` in the order ``step`` takes and returns them."""
        return self.state_layout.names

    @property
    def is_recurrent(self) -> bool:
        return bool(self.state_names)

    @property
    def graph_output_names(self) -> tuple[str, ...]:
        """The outputs an exported graph returns, in this order: all of ``output_names`` unless a model computes
        some outside the graph."""
        return self.output_names

    @property
    def graph_state_names(self) -> tuple[str, ...]:
        """The state an exported graph takes and returns: ``state_names`` less the parts that run outside it."""
        return self.state_layout.graph_names

    def initial_state(self, frame: torch.Tensor) -> State:
        """The state before the first frame of a video of frames shaped like ``frame [B, 3, H, W]``."""
        return self.state_layout.initial(frame)

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` the model computes at for frames of ``height x width``."""
        if self.input_short_side is None:
            return height, width
        width, height = short_side_size(height, width, self.input_short_side)
        return height, width

    def to_input_scale(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``[..., 3, H, W]`` resized (bilinear) to :meth:`input_size`; unchanged when they are that size."""
        size = self.input_size(*frames.shape[-2:])
        if size == tuple(frames.shape[-2:]):
            return frames
        resized = F.interpolate(frames.flatten(0, -4), size=size, mode="bilinear", align_corners=False)
        return resized.unflatten(0, frames.shape[:-3])

    def step(self, frame: torch.Tensor, state: State | None = None) -> tuple[Outputs, State]:
        """Streaming inference: one frame ``[B, 3, H, W]`` at any resolution in, ``output_names`` -> ``[B, ...]``
        at the resolution the model computes (:meth:`input_size`) and the new state out (``state=None``: the
        initial state)."""
        return self.step_at_input_scale(self.to_input_scale(frame), state)

    def step_at_input_scale(self, frame: torch.Tensor, state: State | None = None) -> tuple[Outputs, State]:
        """:meth:`step` for a frame already at the model's scale: what export and latency profiling run."""
        if state is None:
            state = self.initial_state(frame)
        outputs, state = self.forward_clip(frame.unsqueeze(1), tuple(state))
        return {name: value.squeeze(1) for name, value in outputs.items()}, state

    def graph_step(self, frame: torch.Tensor, graph_state: State | None = None) -> tuple[Outputs, State]:
        """What an exported graph computes (export and latency profiling run this): a frame at the model's scale
        and the graph's state (``graph_state_names``; None: the initial one) -> ``graph_output_names`` and the
        next graph state. The parts that run outside the graph (``in_graph = False``) run after it, on its
        outputs. Without such parts this is :meth:`step_at_input_scale`; a model with them defines it."""
        if self.state_layout.host_parts:
            paths = ", ".join(path for path, _ in self.state_layout.host_parts)
            raise NotImplementedError(
                f"{type(self).__name__}: {paths} run(s) outside the exported graph (in_graph = False), so the model "
                "must define graph_step, the step without them"
            )
        return self.step_at_input_scale(frame, graph_state)

    def forward(self, inputs: torch.Tensor, data_samples: list | None = None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self.forward_clip(inputs, self.initial_state(inputs[:, 0]))[0]
        raise ValueError(f"Invalid mode {mode!r}: expected 'loss', 'predict' or 'tensor'")

    def predict(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> list[VideoDataSample]:
        """Predictions of a batch of clips, each from the initial state."""
        return self.predict_stream(inputs, data_samples, None)[0]

    def predict_stream(
        self, inputs: torch.Tensor, data_samples: list[VideoDataSample], state: State | None
    ) -> tuple[list[VideoDataSample], State]:
        """Predictions of a batch of clips that start from ``state`` (None: the initial state), and the state
        after their last frame. The clips are computed at the model's scale (:meth:`to_input_scale`); outputs at
        that size are resized back to the clips' before :meth:`postprocess`."""
        size = tuple(inputs.shape[-2:])
        scaled = self.to_input_scale(inputs)
        if state is None:
            state = self.initial_state(scaled[:, 0])
        outputs, state = self.forward_clip(scaled, state)
        if scaled.shape[-2:] != inputs.shape[-2:]:
            outputs = {
                name: _resize_spatial(value, size) if value.shape[-2:] == scaled.shape[-2:] else value
                for name, value in outputs.items()
            }
        self.postprocess(outputs, data_samples)
        return data_samples, state

    def postprocess(self, outputs: Outputs, data_samples: list[VideoDataSample]) -> None:
        """``pred_sem_seg`` of each clip from ``logits [B, T, C, H, W]``: padding cropped, resized to the original
        frame size, then the arg-max class, or ``sigmoid > 0.5`` (``logit > 0``) for a one-channel head. A head
        of at most two channels (a person model) also keeps those resized logits as ``seg_logits [T, C, H, W]``,
        the person probability that ``SoftFlickerMetric`` reads; a many-class head does not, since C full-size
        maps per frame would hold gigabytes per clip (VSPW: 124 classes)."""
        for sample, logits in zip(data_samples, outputs["logits"]):
            height, width = sample.metainfo.get("img_shape", logits.shape[-2:])
            logits = logits[..., :height, :width]
            ori_shape = tuple(sample.metainfo.get("ori_shape", (height, width)))
            if tuple(logits.shape[-2:]) != ori_shape:
                logits = F.interpolate(logits, size=ori_shape, mode="bilinear", align_corners=False)
            if logits.shape[1] <= MAX_KEPT_LOGIT_CHANNELS:
                sample.seg_logits = logits
            sample.pred_sem_seg = labels_from_logits(logits)

    def temporal_loss_terms(
        self,
        logits: torch.Tensor,
        inputs: torch.Tensor,
        data_samples: list[VideoDataSample],
        features: torch.Tensor | None = None,
        feature_stride: int | None = None,
    ) -> dict[str, torch.Tensor]:
        if not self.temporal_losses:
            return {}
        images = self.images_from_inputs(inputs)
        teacher_logits = None if self._teacher is None else self.teacher_logits(images, logits.shape[-2:])
        terms = {}
        for loss in self.temporal_losses:
            terms[loss.loss_name] = loss(
                logits=logits,
                images=images,
                flow=stack_field(data_samples, "gt_flow"),
                gt_sem_seg=stack_field(data_samples, "gt_sem_seg"),
                features=features,
                feature_stride=feature_stride,
                teacher_logits=teacher_logits,
            )
        return terms

    @property
    def teacher(self) -> BaseVideoSegmentor | None:
        """The frozen teacher (built from its config on first access), or None without one."""
        return None if self._teacher is None else self._teacher.model()

    def teacher_logits(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The teacher's logits ``[B, T, C_t, *size]`` for clips ``images [B, T, 3, H, W]`` (RGB in [0, 1])."""
        teacher = self.teacher.to(images.device)
        preprocessor = teacher.data_preprocessor
        with torch.no_grad():
            logits = teacher((images * 255.0 - preprocessor.mean) / preprocessor.std)["logits"]
            if tuple(logits.shape[-2:]) != tuple(size):
                logits = F.interpolate(logits.flatten(0, 1), size=size, mode="bilinear", align_corners=False)
                logits = logits.unflatten(0, images.shape[:2])
        return logits

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


def _resize_spatial(value: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[..., h, w]`` -> ``[..., *size]``, bilinear."""
    resized = F.interpolate(value.flatten(0, -3)[:, None], size=size, mode="bilinear", align_corners=False)
    return resized[:, 0].unflatten(0, value.shape[:-2])


class _TeacherSlot:
    """Holds the teacher (or its config until first use) where ``nn.Module`` does not look.

    A module assigned to a module attribute becomes a child: it would join the student's ``state_dict``,
    ``parameters()`` (so the optimizer and DDP), ``train()`` and ``to()``. A plain object keeps it apart.
    """

    def __init__(self, teacher: dict | BaseVideoSegmentor, owner: str):
        self.owner = owner
        if isinstance(teacher, BaseVideoSegmentor):
            self.spec, self.built = None, _freeze(teacher)
        elif isinstance(teacher, dict):
            unknown = set(teacher) - {"config", "checkpoint"}
            if "config" not in teacher or unknown:
                raise ValueError(
                    f"{owner}: teacher must be dict(config=PATH, checkpoint=PATH or None), got keys "
                    f"{sorted(teacher)}"
                )
            self.spec, self.built = dict(teacher), None
        else:
            raise TypeError(
                f"{owner}: teacher must be dict(config=PATH, checkpoint=PATH or None) or a built "
                f"BaseVideoSegmentor, got {type(teacher).__name__}"
            )

    def model(self) -> BaseVideoSegmentor:
        if self.built is None:
            self.built = _freeze(self._build())
        return self.built

    def _build(self) -> BaseVideoSegmentor:
        config, checkpoint = self.spec["config"], self.spec.get("checkpoint")
        cfg = load_config(config)
        # The teacher's registry scope may differ from the student's; the caller's scope is restored after.
        with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "steadyseg")):
            teacher = MODELS.build(cfg.model)
        if not isinstance(teacher, BaseVideoSegmentor):
            raise TypeError(
                f"{self.owner}: teacher config {config} builds a {type(teacher).__name__}, "
                "not a BaseVideoSegmentor"
            )
        if checkpoint is not None:
            if not Path(checkpoint).is_file():
                raise FileNotFoundError(f"{self.owner}: teacher checkpoint {checkpoint} does not exist")
            # Strict: a checkpoint of another architecture must fail rather than leave a random teacher.
            load_checkpoint(teacher, str(checkpoint), map_location="cpu", strict=True)
        return teacher


def _freeze(teacher: BaseVideoSegmentor) -> BaseVideoSegmentor:
    """Eval mode (fixed BatchNorm statistics, no dropout) and no gradients for any of its parameters."""
    return teacher.eval().requires_grad_(False)


def build_module(part: dict | nn.Module) -> nn.Module:
    """A part given as a config is built from the registry; a built module (tests, notebooks) is taken as is."""
    return part if isinstance(part, nn.Module) else MODELS.build(part)


def stack_field(data_samples: list[VideoDataSample], name: str) -> torch.Tensor | None:
    """``[B, ...]`` stack of a per-clip tensor field, or None when any sample lacks it."""
    if not all(name in sample for sample in data_samples):
        return None
    return torch.stack([getattr(sample, name) for sample in data_samples])


def labels_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Class labels of ``logits [..., C, H, W]`` (``C`` on dim -3): the arg-max, or ``logit > 0`` (``sigmoid > 0.5``)
    when there is one channel, where an arg-max would always answer class 0."""
    if logits.shape[-3] == 1:
        return (logits[..., 0, :, :] > 0).long()
    return logits.argmax(dim=-3)
