"""Online tracking of people by their query embeddings: MinVIS association with a CTVIS memory.

MinVIS (Huang et al., NeurIPS 2022) links the instances of consecutive frames by bipartite (Hungarian) matching
on the cosine similarity of their query embeddings: a query-based segmenter trained on single frames already
gives one person similar embeddings from frame to frame. CTVIS (Ying et al., ICCV 2023) matches against a memory
bank instead of the previous frame alone, each track keeping the momentum average of the embeddings it was
matched to, so a person hidden for a few frames is still recognized when they reappear.

The tracker is state in the contract's sense (``models/stateful.py``, ``docs/contract.md``): every tensor it
remembers is part of the state that ``step`` takes and returns, and the state has a fixed size (``max_tracks``
slots), so memory stays constant however long the video.

It runs outside the exported graph: the graph exports the per-frame head (``masks``, ``scores``, ``embeddings``)
and the application runs the tracker on those outputs. Hungarian matching is ``scipy``'s
``linear_sum_assignment``, which no exporter traces, and the births, deaths and evictions are control flow that
depends on the data (how many detections pass the thresholds, which slots are free), which a static graph cannot
express. It holds no weights, so nothing of the trained model is lost by leaving it out. The slots, thresholds,
matching, births and deaths are :class:`SlotTracker`'s; this tracker says how embeddings are compared and
remembered.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from steadyseg.registry import MODELS

from .slot_tracker import SlotTracker


@MODELS.register_module()
class EmbeddingTracker(SlotTracker):
    """Gives each detection a track id that follows one person through a video.

    Args:
        max_tracks: ``K``, the number of track slots (the memory size, fixed for the whole video).
        embed_dim: ``D``, the size of the embeddings.
        momentum: weight of the memory when a track is matched:
            ``memory <- momentum * memory + (1 - momentum) * e / |e|`` (CTVIS's momentum average).
        match_threshold: least cosine similarity between a detection and a track's memory for the two to be
            associated; in ``(0, 1]``.
        birth_score: least score of an unmatched detection to start a new track.
        death_age: a track unmatched for more than this many consecutive frames is dropped; one unmatched for
            ``death_age`` frames can still be matched on the next.
        keep_score: least score of a detection to take part in tracking at all (lower ones get id ``-1`` and
            touch no track), so the background queries of a query-based head cannot take over the track of a
            person who is hidden.

    Per frame, a detection that passes ``keep_score`` is matched to a live track (Hungarian matching on cosine
    similarity with every live track's memory, pairs below ``match_threshold`` left unmatched); a matched track
    moves its memory toward the detection and its age returns to 0; every unmatched live track ages by 1 and
    dies past ``death_age``. Unmatched detections with ``score >= birth_score`` then start tracks, highest score
    first, each in a free slot or, when all ``K`` slots hold tracks, in place of the track unseen for longest
    (largest age; a track matched or born on this frame is never evicted). Ids start at 1, count up per video
    and are never reused, not even after a track dies or is evicted.

    State (``state_names``, batch first, every shape fixed):

    - ``memory [B, K, D]`` float: momentum-averaged unit embeddings of the tracks (zero in an empty slot);
    - ``track_ids [B, K]`` int64: the id in each slot, 0 for an empty slot;
    - ``ages [B, K]`` int64: frames since each track was last matched (0 on the frame it is matched or born);
    - ``next_id [B, 1]`` int64: the id the next track of each video will get.

    The initial state has no tracks and ``next_id`` 1. ``forward`` takes a clip (scores ``[B, T, N]``,
    embeddings ``[B, T, N, D]``) and :meth:`forward_frame` one frame (``[B, N]``, ``[B, N, D]``); both return
    the track id of every detection (int64, ``-1`` for a detection neither matched nor born) and the state after
    the last frame. Masks never reach the tracker: the caller gives a detection's mask the id of its index.
    """

    association_input = "embeddings"
    detection_dims = ("D",)
    memory_width_from = "embed_dim"
    # The head's embedding size: a model fills it in.
    measured_args = ("embed_dim",)

    def __init__(
        self,
        max_tracks: int = 10,
        embed_dim: int = 256,
        momentum: float = 0.8,
        match_threshold: float = 0.5,
        birth_score: float = 0.5,
        death_age: int = 10,
        keep_score: float = 0.2,
    ):
        if embed_dim < 1:
            raise ValueError(f"EmbeddingTracker: embed_dim must be at least 1, got {embed_dim}")
        if not 0 <= momentum < 1:
            raise ValueError(f"EmbeddingTracker: momentum must be in [0, 1), got {momentum}")
        super().__init__(max_tracks, match_threshold, birth_score, death_age, keep_score)
        self.embed_dim, self.momentum = embed_dim, momentum

    @property
    def memory_width(self) -> int:
        return self.embed_dim

    def _check_detections(self, embeddings: torch.Tensor) -> None:
        if embeddings.shape[2] != self.embed_dim:
            raise ValueError(
                f"EmbeddingTracker: embeddings have {embeddings.shape[2]} channels; embed_dim is {self.embed_dim}"
            )

    def _features(self, embeddings: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Unit embeddings: cosine similarity is then a dot product, and a memory is born with unit length."""
        return F.normalize(embeddings.to(dtype), dim=-1)

    def _similarity(self, units: torch.Tensor, memories: torch.Tensor) -> torch.Tensor:
        """Cosine similarity; the memories are renormalized, since a momentum average of unit vectors is shorter."""
        return units @ F.normalize(memories, dim=-1).T

    def _updated_memory(self, memories: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        return self.momentum * memories + (1 - self.momentum) * units
