"""Video instance segmentation by per-frame query-based mask classification (MinVIS's recipe) in the video-model
contract.

Backbone (any registered backbone) -> ``QueryPixelDecoder`` (mask features at the finest stride, memories at the
coarsest) -> ``QueryMaskHead`` (queries -> class scores, masks, tracking embeddings), trained frame by frame with
``HungarianMaskLoss``. MinVIS (Huang et al., NeurIPS 2022) showed that such a per-frame model's queries stay
consistent across a video's frames, so associating them is a tracker's whole job: with a tracker
(``EmbeddingTracker``, a stateful part that runs outside the exported graph) the queries' embeddings are associated
online into tracks; without one, a query is its own track (the same query index in every frame is one tube).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import InstanceData

from steadyseg.models.feature_layout import probe_features
from steadyseg.models.heads.query_mask_head import QueryPredictions
from steadyseg.models.stateful import State
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, Outputs, build_module


@MODELS.register_module()
class VideoInstanceSegmentor(BaseVideoSegmentor):
    """Instance masks, class scores and embeddings of ``num_queries`` queries in every frame of a clip.

    Args:
        backbone: any registered backbone (config or built); its features' channels and strides are measured on a
            probe frame and given to the pixel decoder.
        pixel_decoder: ``QueryPixelDecoder``; its ``in_channels`` and ``strides`` are filled in from the backbone
            when left out, and checked when given.
        head: ``QueryMaskHead``; its ``in_channels``, ``mask_channels`` and ``num_levels`` (the pixel decoder's
            ``channels``, ``mask_channels`` and ``num_memories``) and ``num_classes`` (the number of
            ``class_labels``) are filled in or checked the same way.
        criterion: ``HungarianMaskLoss``; its ``num_classes`` is filled in or checked likewise.
        class_labels: the ``gt_instances`` labels the head's classes stand for, class ``i`` being label
            ``class_labels[i]`` (``(1,)``: people, the label the datasets give person tubes).
        tracker: a ``SlotTracker`` (``EmbeddingTracker``: its ``embed_dim``, the head's ``embed_dims``, filled in
            or checked; ``MaskIoUTracker``), given the output it associates on (its ``association_input``), or None
            to track by query index. It follows the people: its scores are the probability of the class of
            ``person_label``.
        person_label: with a tracker, the label of people among ``class_labels``: the class the tracker follows
            and its tubes' label.
        score_threshold: without a tracker, a query is an instance in a frame when its class probability there is
            at least this (with one, the tracker's thresholds decide).
        max_per_frame: without a tracker, at most this many queries (the highest scoring) are instances in one
            frame (with one, ``max_tracks`` bounds the tracks).
        input_short_side: the scale ``step`` and ``predict_stream`` resize frames to; see
            :class:`BaseVideoSegmentor`.
        data_preprocessor: defaults to ``VideoDataPreprocessor``.

    ``outputs``: ``masks [B, T, Q, h, w]`` mask logits at the pixel decoder's finest stride (``h = H / 4`` for a
    stride-4 feature), ``scores [B, T, Q, C + 1]`` class logits (the last class no-object) and ``embeddings
    [B, T, Q, D]``; with a tracker also ``track_ids [B, T, Q]`` (int64, ``-1``: the query is no tracked person in
    that frame). The tracker's state (``tracker.memory``, ...) is the model's state, so a clip that continues the
    previous one keeps its ids; without a tracker the model keeps no state. In training mode the tracker does not
    run (training is per frame): ``track_ids`` are ``-1`` and its state passes through unchanged.

    The exported graph (:meth:`graph_step`) is the per-frame head: ``graph_output_names`` are ``masks``, ``scores``
    and ``embeddings``, and the graph keeps no state; the tracker runs after it, on the host.
    """

    output_names = ("masks", "scores", "embeddings")
    graph_output_names = ("masks", "scores", "embeddings")

    def __init__(
        self,
        backbone: dict | nn.Module,
        pixel_decoder: dict | nn.Module,
        head: dict | nn.Module,
        criterion: dict | nn.Module,
        class_labels: Sequence[int] = (1,),
        tracker: dict | nn.Module | None = None,
        person_label: int = 1,
        score_threshold: float = 0.5,
        max_per_frame: int = 10,
        input_short_side: int | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type="VideoDataPreprocessor"),
            input_short_side=input_short_side,
            init_cfg=init_cfg,
        )
        owner = type(self).__name__
        self.class_labels = tuple(int(label) for label in class_labels)
        if not self.class_labels or len(set(self.class_labels)) != len(self.class_labels):
            raise ValueError(
                f"{owner}: class_labels={tuple(class_labels)} must be distinct labels, at least one"
            )
        if max_per_frame < 1:
            raise ValueError(f"{owner}: max_per_frame must be at least 1, got {max_per_frame}")
        self.score_threshold, self.max_per_frame = score_threshold, max_per_frame
        self.backbone = build_module(backbone)
        layout = probe_features(self.backbone)
        self.pixel_decoder = _build_with(
            pixel_decoder,
            dict(in_channels=layout.channels, strides=layout.strides),
            "pixel_decoder",
            "the backbone's features",
            owner,
        )
        decoder = self.pixel_decoder
        num_classes = len(self.class_labels)
        measured = dict(
            in_channels=decoder.channels,
            mask_channels=decoder.mask_channels,
            num_levels=decoder.num_memories,
            num_classes=num_classes,
        )
        self.head = _build_with(head, measured, "head", "the pixel decoder and class_labels", owner)
        self.criterion = _build_with(
            criterion, dict(num_classes=num_classes), "criterion", "class_labels", owner
        )
        self.person_label, self.tracker = person_label, None
        if tracker is not None:
            if person_label not in self.class_labels:
                raise ValueError(
                    f"{owner}: person_label={person_label} (the class the tracker follows) is not among "
                    f"class_labels={self.class_labels}"
                )
            self.person_class = self.class_labels.index(person_label)
            # A tracker takes those of the model's measured sizes it declares (measured_args): an embedding
            # tracker the head's embedding size, a mask tracker none.
            kind = tracker if isinstance(tracker, nn.Module) else tracker.get("type")
            kind = MODELS.get(kind) if isinstance(kind, str) else kind
            offered = dict(embed_dim=self.head.embed_dims)
            measured = {key: offered[key] for key in getattr(kind, "measured_args", ())}
            self.tracker = _build_with(tracker, measured, "tracker", "the head's embed_dims", owner)
            self.output_names = (*self.graph_output_names, "track_ids")

    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[Outputs, State]:
        parts = self.state_layout.split(state)
        outputs = self._head_outputs(inputs)
        if self.tracker is not None:
            outputs["track_ids"], parts["tracker"] = self._track(outputs, parts["tracker"])
        return outputs, self.state_layout.join(parts)

    def graph_step(self, frame: torch.Tensor, graph_state: State | None = None) -> tuple[Outputs, State]:
        """The exported graph's step: the per-frame head alone (``graph_output_names``), which keeps no state;
        the tracker runs after it, outside the graph (see :class:`BaseVideoSegmentor`)."""
        if graph_state:
            raise ValueError(
                f"{type(self).__name__}.graph_step: the graph keeps no state (graph_state_names is empty); got "
                f"{len(graph_state)} tensor(s)"
            )
        outputs = self._head_outputs(frame.unsqueeze(1))
        return {name: value.squeeze(1) for name, value in outputs.items()}, ()

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        """The criterion's terms over every frame of the batch, each frame on its own: its targets are the
        ``gt_instances`` tubes whose mask is not empty in that frame (a tube absent from a frame is no target
        there), every decoder stage supervised."""
        targets = self._frame_targets(data_samples, inputs.shape[1])
        predictions = self._predict_frames(inputs.flatten(0, 1))
        return self.criterion(predictions.class_logits, predictions.mask_logits, targets)

    def postprocess(self, outputs: Outputs, data_samples: list[VideoDataSample]) -> None:
        """``pred_instances`` of each clip. A mask is a query's mask logit > 0 (sigmoid > 0.5) after cropping the
        padding and resizing (bilinear) to the original frame size; a tube's mask is empty in the frames where it
        is not detected.

        With a tracker: one tube per track id the tracker gave in the clip, detected in the frames where a query
        has that id (its mask there is that query's); its label is ``person_label`` and its score the mean person
        probability over those frames. Ids continue from clip to clip when the state does.

        Without one: one tube per query that is an instance in any frame (in a frame, a query is an instance when
        it is among the ``max_per_frame`` best by the probability of its class there and that probability
        reaches ``score_threshold``). A query's class is the one of highest mean probability over the clip's
        frames, its score that mean, its track id its index + 1 (the same query in the next clip continues the
        track)."""
        for index, sample in enumerate(data_samples):
            mask_logits, class_logits = outputs["masks"][index], outputs["scores"][index]
            if self.tracker is None:
                sample.pred_instances = self._tubes(mask_logits, class_logits, sample.metainfo)
            else:
                sample.pred_instances = self._tracked_tubes(
                    mask_logits, class_logits, outputs["track_ids"][index], sample.metainfo
                )

    def _head_outputs(self, inputs: torch.Tensor) -> Outputs:
        """``masks``, ``scores`` and ``embeddings`` (``[B, T, ...]``) of clips ``inputs [B, T, 3, H, W]``."""
        predictions = self._predict_frames(inputs.flatten(0, 1))
        outputs = {
            "masks": predictions.mask_logits[-1],
            "scores": predictions.class_logits[-1],
            "embeddings": predictions.embeddings,
        }
        return {name: value.unflatten(0, inputs.shape[:2]) for name, value in outputs.items()}

    def _track(self, outputs: Outputs, state: State) -> tuple[torch.Tensor, State]:
        """Track ids ``[B, T, Q]`` of the clips' queries and the tracker's next state."""
        scores = outputs["scores"]
        if self.training:
            # Training clips are frames sampled for per-frame training, not videos to follow.
            return torch.full(scores.shape[:3], -1, dtype=torch.int64, device=scores.device), state
        return self.tracker(self._person_probability(scores), outputs[self.tracker.association_input], state)

    def _person_probability(self, class_logits: torch.Tensor) -> torch.Tensor:
        """``class_logits [..., C + 1]`` -> the probability of the person class ``[...]`` (softmax over all)."""
        return class_logits.float().softmax(-1)[..., self.person_class]

    def _predict_frames(self, images: torch.Tensor) -> QueryPredictions:
        mask_features, memories = self.pixel_decoder(self.backbone(images))
        return self.head(mask_features, memories)

    def _frame_targets(
        self, data_samples: list[VideoDataSample], frames: int
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(class indices [M], masks [M, H, W])`` of the instances present in each frame, clip-major."""
        owner = f"{type(self).__name__}.loss"
        classes = {label: index for index, label in enumerate(self.class_labels)}
        targets = []
        for index, sample in enumerate(data_samples):
            if "gt_instances" not in sample:
                raise ValueError(
                    f"{owner}: data sample {index} has no gt_instances (load them with "
                    "LoadClipAnnotations(with_instances=True))"
                )
            tubes = sample.gt_instances
            if tubes.masks.shape[1] != frames:
                raise ValueError(
                    f"{owner}: data sample {index}'s gt_instances.masks {tuple(tubes.masks.shape)} cover "
                    f"{tubes.masks.shape[1]} frames; the clip has {frames}"
                )
            unknown = sorted(set(tubes.labels.tolist()) - set(classes))
            if unknown:
                raise ValueError(
                    f"{owner}: data sample {index}'s gt_instances have label(s) {unknown}, not among "
                    f"class_labels={self.class_labels}"
                )
            labels = torch.as_tensor(
                [classes[label] for label in tubes.labels.tolist()], device=tubes.masks.device
            )
            for t in range(frames):
                present = tubes.masks[:, t].flatten(1).any(1)
                targets.append((labels[present], tubes.masks[present, t]))
        return targets

    def _tubes(self, mask_logits: torch.Tensor, class_logits: torch.Tensor, metainfo: dict) -> InstanceData:
        """One clip's tubes from its ``mask_logits [T, Q, h, w]`` and ``class_logits [T, Q, C + 1]``."""
        frames, num_queries = class_logits.shape[:2]
        probabilities = class_logits.float().softmax(-1)[..., :-1]
        tube_scores, classes = probabilities.mean(0).max(-1)
        frame_scores = probabilities.gather(-1, classes[None, :, None].expand(frames, -1, 1))[..., 0]
        best = frame_scores.topk(min(self.max_per_frame, num_queries), dim=1).indices
        present = torch.zeros_like(frame_scores, dtype=torch.bool).scatter_(1, best, True)
        present &= frame_scores >= self.score_threshold
        queries = present.any(0).nonzero()[:, 0]
        padded, image, original = _frame_sizes(metainfo, type(self).__name__)
        if len(queries):
            masks = torch.stack(
                [_frame_masks(mask_logits[t, queries], padded, image, original) for t in range(frames)], 1
            )
            masks &= present[:, queries].T[:, :, None, None]
        else:
            masks = torch.zeros(0, frames, *original, dtype=torch.bool, device=mask_logits.device)
        labels = torch.as_tensor(self.class_labels, device=classes.device)[classes[queries]]
        return InstanceData(masks=masks, track_ids=queries + 1, labels=labels, scores=tube_scores[queries])

    def _tracked_tubes(
        self, mask_logits: torch.Tensor, class_logits: torch.Tensor, track_ids: torch.Tensor, metainfo: dict
    ) -> InstanceData:
        """One clip's tubes by track id from its ``mask_logits [T, Q, h, w]``, ``class_logits [T, Q, C + 1]`` and
        ``track_ids [T, Q]`` (the tracker gives an id to at most one query of a frame)."""
        ids = track_ids[track_ids > 0].unique()
        padded, image, original = _frame_sizes(metainfo, type(self).__name__)
        masks = torch.zeros(len(ids), len(track_ids), *original, dtype=torch.bool, device=mask_logits.device)
        for t, frame_ids in enumerate(track_ids):
            detected = frame_ids > 0
            if detected.any():
                tubes = torch.searchsorted(ids, frame_ids[detected])
                masks[tubes, t] = _frame_masks(mask_logits[t, detected], padded, image, original)
        hits = (track_ids[None] == ids[:, None, None]).float()
        scores = (hits * self._person_probability(class_logits)).sum((1, 2)) / hits.sum((1, 2))
        labels = torch.full_like(ids, self.person_label)
        return InstanceData(masks=masks, track_ids=ids, labels=labels, scores=scores)


def _frame_sizes(metainfo: dict, owner: str) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """``(padded, image, original)`` sizes of a clip's frames: the batch the masks cover (``batch_input_shape``),
    the frames within it (``img_shape``) and the frames the predictions are for (``ori_shape``). Without padding
    or resizing the frames are the batch; without ``ori_shape`` they keep their size."""
    padded, image, original = (metainfo.get(key) for key in ("batch_input_shape", "img_shape", "ori_shape"))
    original = original or image or padded
    if original is None:
        raise ValueError(
            f"{owner}.postprocess: the data sample has none of batch_input_shape, img_shape, ori_shape: the size to "
            "resize the masks to is unknown"
        )
    image = image or original
    return tuple(padded or image), tuple(image), tuple(original)


def _frame_masks(
    logits: torch.Tensor, padded: tuple[int, int], image: tuple[int, int], original: tuple[int, int]
) -> torch.Tensor:
    """Mask logits ``[K, h, w]`` covering the padded frame -> bool masks ``[K, *original]``."""
    logits = F.interpolate(logits[None].float(), size=padded, mode="bilinear", align_corners=False)
    logits = logits[..., : image[0], : image[1]]
    if tuple(logits.shape[-2:]) != original:
        logits = F.interpolate(logits, size=original, mode="bilinear", align_corners=False)
    return logits[0] > 0


def _build_with(part: dict | nn.Module, measured: dict, name: str, source: str, owner: str) -> nn.Module:
    """``part`` built with each of ``measured``'s keys set to its value: filled into a config that leaves the key
    out, else checked (against a built module's attribute of that name)."""
    declared = part if isinstance(part, dict) else {key: getattr(part, key, None) for key in measured}
    for key, value in measured.items():
        given = declared.get(key)
        if given is not None and _as_tuple(given) != _as_tuple(value):
            raise ValueError(
                f"{owner}: {name}.{key}={given!r} disagrees with {source}, which give {value!r}; leave {name}.{key} "
                "out to take it"
            )
    return build_module({**measured, **part}) if isinstance(part, dict) else part


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)
