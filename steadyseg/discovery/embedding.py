"""Frame embeddings for retrieval and novelty: a segmentor's encoder features, pooled.

A video model's encoder is ``model.segmentor``'s backbone and neck (what ``extract_feat`` returns), for every
segmentor built on an mmseg ``EncoderDecoder`` (per-frame and temporal). :class:`FrameEmbedder` reads those
features either while the model's own ``step`` runs (a forward hook, so the backbone runs once per frame) or by
running ``extract_feat`` alone (queries, or an embedding model other than the segmenter under test), and turns
them into one vector per frame with a registered embedding module such as :class:`PooledBackboneEmbedding`.
Either way the encoder sees the frame at the model's own input scale (``model.to_input_scale``, what ``step``
computes at).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.apis.inference import StreamingSegmenter
from steadyseg.registry import MODELS

from .errors import DiscoveryError


@MODELS.register_module()
class PooledBackboneEmbedding(nn.Module):
    """Encoder features ``[N, C_i, h_i, w_i]`` -> ``[N, sum C_i]``: each level averaged over its pixels and
    L2-normalized, the levels concatenated and scaled by ``1 / sqrt(levels)``, so the vector has unit norm and
    every level weighs the same whatever its channel count.

    Args:
        levels: indices of the encoder outputs to use (None: all of them).
    """

    def __init__(self, levels: Sequence[int] | None = None):
        super().__init__()
        self.levels = None if levels is None else tuple(levels)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.levels is None:
            chosen = list(features)
        else:
            bad = [level for level in self.levels if not -len(features) <= level < len(features)]
            if bad:
                raise ValueError(
                    f"PooledBackboneEmbedding: levels {bad} out of range for an encoder with {len(features)} "
                    "outputs"
                )
            chosen = [features[level] for level in self.levels]
        pooled = [F.normalize(feature.float().mean(dim=(2, 3)), dim=1) for feature in chosen]
        return torch.cat(pooled, dim=1) / math.sqrt(len(pooled))


def encoder_of(model: nn.Module) -> nn.Module:
    """The module whose output is ``model.segmentor.extract_feat``'s: the neck when there is one, else the
    backbone; an error naming the model's type when it has neither."""
    segmentor = getattr(model, "segmentor", None)
    backbone = getattr(segmentor, "backbone", None)
    if backbone is None:
        raise DiscoveryError(
            f"{type(model).__name__} has no segmentor backbone to embed frames with; embed with another model "
            "(tools/discover.py --embedder CONFIG [CKPT])"
        )
    return segmentor.neck if getattr(segmentor, "with_neck", False) else backbone


class FrameEmbedder:
    """Embeds frames with ``model``'s encoder features and ``embedding`` (a module or its config)."""

    def __init__(self, model: nn.Module, embedding: dict | nn.Module | None = None):
        self.model = model
        self.encoder = encoder_of(model)
        embedding = embedding or dict(type="PooledBackboneEmbedding")
        self.embedding = embedding if isinstance(embedding, nn.Module) else MODELS.build(embedding)
        self.segmenter = StreamingSegmenter(model)

    @contextmanager
    def capture(self) -> Iterator[list]:
        """Within the block, every forward of the encoder (e.g. inside ``model.step``) stores its features in
        the yielded list (replacing the previous ones)."""
        captured = []

        def keep(module, inputs, outputs):
            captured[:] = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

        handle = self.encoder.register_forward_hook(keep)
        try:
            yield captured
        finally:
            handle.remove()

    def pool(self, features: Sequence[torch.Tensor]) -> np.ndarray:
        """Captured features of a batch of one frame -> its embedding ``[D]`` (float32)."""
        if not features:
            raise RuntimeError(f"{type(self.model).__name__}: the encoder did not run, no features to embed")
        with torch.inference_mode():
            return self.embedding(features)[0].cpu().numpy().astype(np.float32)

    def prepare(self, frame: np.ndarray) -> torch.Tensor:
        """RGB uint8 ``[H, W, 3]`` -> the model's normalized input ``[1, 3, H, W]``, full resolution as ``step``
        takes it (thread-safe, keeps no state)."""
        return self.segmenter.prepare(frame)

    def embed_inputs(self, inputs: torch.Tensor) -> np.ndarray:
        """A prepared frame -> its embedding ``[D]``, running only the encoder at the model's input scale."""
        with self.capture() as features, torch.inference_mode():
            self.model.segmentor.extract_feat(self.model.to_input_scale(inputs))
        return self.pool(features)

    def embed_frame(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``[H, W, 3]`` -> its embedding ``[D]``."""
        return self.embed_inputs(self.prepare(frame))


def mean_embedding(embeddings: np.ndarray) -> np.ndarray:
    """A segment's embedding: the mean of its frames' ``[T, D]``, L2-normalized (zero stays zero)."""
    mean = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean
