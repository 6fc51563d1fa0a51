"""A query-based mask-classification head with masked attention (Mask2Former's transformer decoder, mobile-sized).

From Mask2Former (Cheng et al., CVPR 2022, section 3): ``num_queries`` learned query features (with learned
positional embeddings) go through ``num_layers`` decoder layers, each cross-attention -> self-attention -> FFN
(post-norm), the layers visiting the pixel decoder's memories round robin, coarsest first. Before the first layer
and after every layer the queries are read out: a class score over ``num_classes`` classes and a no-object class,
and a mask embedding whose dot product with the per-pixel mask features gives the query's mask logits. Every readout
is supervised (deep supervision), and each one's masks steer the next layer's *masked attention*: a query attends
only to the memory pixels inside its previous mask (sigmoid > 0.5, resized to the memory's size), and to all of them
when that mask is empty. Memory keys carry fixed 2-D sine positions and every memory a learned level embedding.

The tracking embedding is the last layer's normalized query feature: MinVIS (Huang et al., NeurIPS 2022) associates
per-frame queries across frames by these, trained by nothing but the per-frame class and mask losses. A learned
projection on top would get no gradient from per-frame training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from steadyseg.registry import MODELS

# DETR's and Mask2Former's base of the sine positions' geometric frequencies.
SINE_TEMPERATURE = 10000.0


class QueryPredictions(NamedTuple):
    """Readouts of one batch of frames: ``class_logits`` ``[N, Q, C + 1]`` (the last class is no-object) and
    ``mask_logits`` ``[N, Q, h, w]`` (at the mask features' size), one per stage (before the first layer, then after
    each layer; the final readout last), and ``embeddings`` ``[N, Q, D]`` of the final queries."""

    class_logits: tuple[torch.Tensor, ...]
    mask_logits: tuple[torch.Tensor, ...]
    embeddings: torch.Tensor


def sine_positions(height: int, width: int, dims: int, like: torch.Tensor) -> torch.Tensor:
    """Fixed 2-D positions ``[height * width, dims]`` (row-major pixels): the first half of the channels encode the
    row, the second half the column, each as the sines then the cosines of the pixel centre's coordinate (scaled to
    (0, 2 pi)) at ``dims / 4`` geometric frequencies. ``dims`` must be divisible by 4."""
    axis_dims = dims // 2
    steps = torch.arange(axis_dims // 2, device=like.device, dtype=like.dtype)
    frequencies = SINE_TEMPERATURE ** (-2 * steps / axis_dims)

    def encode(length: int) -> torch.Tensor:
        coordinates = (
            (torch.arange(length, device=like.device, dtype=like.dtype) + 0.5) / length * 2 * math.pi
        )
        angles = coordinates[:, None] * frequencies
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    rows = encode(height)[:, None].expand(height, width, axis_dims)
    columns = encode(width)[None].expand(height, width, axis_dims)
    return torch.cat([rows, columns], dim=-1).flatten(0, 1)


def blocked_attention(mask_logits: torch.Tensor, size: Sequence[int], num_heads: int) -> torch.Tensor:
    """Masked attention's mask ``[N * num_heads, Q, size[0] * size[1]]`` (True: not attended) from mask logits
    ``[N, Q, h, w]``: the pixels outside each query's mask resized (bilinear) to ``size``, or none of them when that
    mask is empty there, so no query is left with nothing to attend to. Heads repeat per frame, as
    ``nn.MultiheadAttention`` reads a 3-D mask."""
    resized = F.interpolate(mask_logits.detach(), size=tuple(size), mode="bilinear", align_corners=False)
    # sigmoid(x) < 0.5 exactly where x < 0.
    blocked = (resized < 0).flatten(2)
    blocked = blocked & ~blocked.all(dim=-1, keepdim=True)
    return blocked.repeat_interleave(num_heads, dim=0)


class _MaskedAttentionLayer(nn.Module):
    """Masked cross-attention to one memory, self-attention among the queries, FFN; each added and normalized."""

    def __init__(self, dims: int, num_heads: int, ffn_channels: int):
        super().__init__()
        self.cross_attention = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.self_attention = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(dims, ffn_channels), nn.ReLU(inplace=True), nn.Linear(ffn_channels, dims)
        )
        self.cross_norm, self.self_norm, self.ffn_norm = (nn.LayerNorm(dims) for _ in range(3))

    def forward(
        self,
        queries: torch.Tensor,
        query_positions: torch.Tensor,
        memory: torch.Tensor,
        memory_positions: torch.Tensor,
        blocked: torch.Tensor,
    ) -> torch.Tensor:
        attended = self.cross_attention(
            queries + query_positions,
            memory + memory_positions,
            memory,
            attn_mask=blocked,
            need_weights=False,
        )[0]
        queries = self.cross_norm(queries + attended)
        positioned = queries + query_positions
        attended = self.self_attention(positioned, positioned, queries, need_weights=False)[0]
        queries = self.self_norm(queries + attended)
        return self.ffn_norm(queries + self.ffn(queries))


@MODELS.register_module()
class QueryMaskHead(nn.Module):
    """``forward(mask_features, memories) -> QueryPredictions``.

    Args:
        in_channels: width of the memories (a model fills in its pixel decoder's ``channels``); projected to
            ``embed_dims`` by a 1x1 conv per level when they differ.
        mask_channels: width of the mask features (filled in from the pixel decoder likewise).
        num_classes: classes ``C``, without the no-object class (filled in from the model's ``class_labels``).
        num_levels: how many memories the layers visit round robin (filled in from the pixel decoder's
            ``num_memories``).
        num_queries: queries per frame: the most instances a frame can hold.
        embed_dims: width of the queries, the attention and the tracking embeddings; divisible by 4 (the sine
            positions) and by ``num_heads``.
        num_layers: decoder layers (Mask2Former: 9, three rounds over its three memories).
        num_heads: attention heads.
        ffn_channels: hidden width of each layer's FFN.

    ``mask_features [N, mask_channels, h, w]`` and ``memories`` (``num_levels`` tensors ``[N, in_channels, h_i,
    w_i]``, in the order the layers visit them) are a batch of ``N`` frames; see :class:`QueryPredictions`.
    """

    def __init__(
        self,
        in_channels: int,
        mask_channels: int,
        num_classes: int,
        num_levels: int = 3,
        num_queries: int = 20,
        embed_dims: int = 64,
        num_layers: int = 3,
        num_heads: int = 4,
        ffn_channels: int = 256,
    ):
        super().__init__()
        owner = type(self).__name__
        if embed_dims % 4 or embed_dims % num_heads:
            raise ValueError(
                f"{owner}: embed_dims={embed_dims} must be divisible by 4 (the sine positions) and by "
                f"num_heads={num_heads}"
            )
        for name, value in (
            ("num_classes", num_classes),
            ("num_levels", num_levels),
            ("num_layers", num_layers),
        ):
            if value < 1:
                raise ValueError(f"{owner}: {name} must be at least 1, got {value}")
        self.in_channels, self.mask_channels, self.num_classes = in_channels, mask_channels, num_classes
        self.num_levels, self.num_queries, self.embed_dims = num_levels, num_queries, embed_dims
        self.num_heads = num_heads
        self.query_features = nn.Embedding(num_queries, embed_dims)
        self.query_positions = nn.Embedding(num_queries, embed_dims)
        self.level_embedding = nn.Embedding(num_levels, embed_dims)
        self.memory_projections = nn.ModuleList(
            nn.Identity() if in_channels == embed_dims else nn.Conv2d(in_channels, embed_dims, 1)
            for _ in range(num_levels)
        )
        self.layers = nn.ModuleList(
            _MaskedAttentionLayer(embed_dims, num_heads, ffn_channels) for _ in range(num_layers)
        )
        self.decoder_norm = nn.LayerNorm(embed_dims)
        self.class_projection = nn.Linear(embed_dims, num_classes + 1)
        self.mask_embedding = nn.Sequential(
            nn.Linear(embed_dims, embed_dims),
            nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims),
            nn.ReLU(inplace=True),
            nn.Linear(embed_dims, mask_channels),
        )

    def forward(self, mask_features: torch.Tensor, memories: Sequence[torch.Tensor]) -> QueryPredictions:
        if len(memories) != self.num_levels:
            raise ValueError(
                f"{type(self).__name__}: got {len(memories)} memories for num_levels={self.num_levels}"
            )
        batch = mask_features.shape[0]
        sizes = [tuple(memory.shape[-2:]) for memory in memories]
        tokens, positions = [], []
        for level, (memory, projection) in enumerate(zip(memories, self.memory_projections)):
            tokens.append(projection(memory).flatten(2).transpose(1, 2) + self.level_embedding.weight[level])
            positions.append(sine_positions(*sizes[level], self.embed_dims, tokens[-1])[None])
        queries = self.query_features.weight[None].expand(batch, -1, -1)
        query_positions = self.query_positions.weight[None].expand(batch, -1, -1)
        decoded, class_logits, mask_logits = self._read_out(queries, mask_features)
        stages = [(class_logits, mask_logits)]
        for index, layer in enumerate(self.layers):
            level = index % self.num_levels
            blocked = blocked_attention(mask_logits, sizes[level], self.num_heads)
            queries = layer(queries, query_positions, tokens[level], positions[level], blocked)
            decoded, class_logits, mask_logits = self._read_out(queries, mask_features)
            stages.append((class_logits, mask_logits))
        all_class_logits, all_mask_logits = zip(*stages)
        return QueryPredictions(tuple(all_class_logits), tuple(all_mask_logits), decoded)

    def _read_out(
        self, queries: torch.Tensor, mask_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalized queries ``[N, Q, D]``, class logits ``[N, Q, C + 1]`` and mask logits ``[N, Q, h, w]``."""
        decoded = self.decoder_norm(queries)
        mask_logits = torch.einsum("nqc,nchw->nqhw", self.mask_embedding(decoded), mask_features)
        return decoded, self.class_projection(decoded), mask_logits
