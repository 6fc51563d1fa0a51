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
express. It holds no weights, so nothing of the trained model is lost by leaving it out.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from steadyseg.models.stateful import State
from steadyseg.registry import MODELS


@MODELS.register_module()
class EmbeddingTracker(nn.Module):
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

    state_names = ("memory", "track_ids", "ages", "next_id")
    # Hungarian matching and data-dependent births and deaths cannot be traced (module docstring): the tracker runs
    # after the exported graph, on its outputs, and its state stays out of the graph's.
    in_graph = False

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
        super().__init__()
        if max_tracks < 1 or embed_dim < 1:
            raise ValueError(
                f"EmbeddingTracker: max_tracks ({max_tracks}) and embed_dim ({embed_dim}) must be at least 1"
            )
        if not 0 <= momentum < 1:
            raise ValueError(f"EmbeddingTracker: momentum must be in [0, 1), got {momentum}")
        if not 0 < match_threshold <= 1:
            # Matching maximizes the summed similarity of the pairs above the threshold, with the others counted
            # as 0; that equals the best matching of allowed pairs only while every allowed pair counts above 0.
            raise ValueError(f"EmbeddingTracker: match_threshold must be in (0, 1], got {match_threshold}")
        if keep_score > birth_score:
            raise ValueError(
                f"EmbeddingTracker: keep_score ({keep_score}) must not exceed birth_score ({birth_score}); "
                "a detection too weak to be tracked cannot start a track"
            )
        if death_age < 0:
            raise ValueError(f"EmbeddingTracker: death_age must be at least 0, got {death_age}")
        self.max_tracks, self.embed_dim = max_tracks, embed_dim
        self.momentum, self.match_threshold = momentum, match_threshold
        self.birth_score, self.keep_score, self.death_age = birth_score, keep_score, death_age

    def initial_state(self, frame: torch.Tensor) -> State:
        """No tracks, for a batch of videos of frames shaped like ``frame [B, 3, H, W]``."""
        batch = frame.shape[0]
        slots = (batch, self.max_tracks)
        return (
            frame.new_zeros(*slots, self.embed_dim),
            torch.zeros(slots, dtype=torch.int64, device=frame.device),
            torch.zeros(slots, dtype=torch.int64, device=frame.device),
            torch.ones(batch, 1, dtype=torch.int64, device=frame.device),
        )

    # No gradient reaches the tracker, and the memory must not hold one: a memory with a graph attached would
    # keep every earlier frame's graph alive, and memory would grow with the video after all.
    @torch.no_grad()
    def forward(
        self, scores: torch.Tensor, embeddings: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """A clip: scores ``[B, T, N]``, embeddings ``[B, T, N, D]`` -> track ids ``[B, T, N]`` and the state."""
        if scores.ndim != 3 or embeddings.ndim != 4 or embeddings.shape[:3] != scores.shape:
            raise ValueError(
                f"EmbeddingTracker: a clip needs scores [B, T, N] and embeddings [B, T, N, D], got "
                f"{tuple(scores.shape)} and {tuple(embeddings.shape)}"
            )
        track_ids = []
        for frame_scores, frame_embeddings in zip(scores.unbind(1), embeddings.unbind(1)):
            frame_ids, state = self.forward_frame(frame_scores, frame_embeddings, state)
            track_ids.append(frame_ids)
        return torch.stack(track_ids, dim=1), state

    @torch.no_grad()
    def forward_frame(
        self, scores: torch.Tensor, embeddings: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One frame: scores ``[B, N]``, embeddings ``[B, N, D]`` -> track ids ``[B, N]`` and the new state."""
        self._check(scores, embeddings, state)
        per_video = [
            self._track_video(video_scores, video_embeddings, tuple(part[index] for part in state))
            for index, (video_scores, video_embeddings) in enumerate(zip(scores, embeddings))
        ]
        track_ids = torch.stack([ids for ids, _ in per_video])
        new_state = tuple(torch.stack(parts) for parts in zip(*(video_state for _, video_state in per_video)))
        return track_ids, new_state

    def _check(self, scores: torch.Tensor, embeddings: torch.Tensor, state: State) -> None:
        if scores.ndim != 2 or embeddings.ndim != 3 or embeddings.shape[:2] != scores.shape:
            raise ValueError(
                f"EmbeddingTracker: a frame needs scores [B, N] and embeddings [B, N, D], got "
                f"{tuple(scores.shape)} and {tuple(embeddings.shape)}"
            )
        if embeddings.shape[2] != self.embed_dim:
            raise ValueError(
                f"EmbeddingTracker: embeddings have {embeddings.shape[2]} channels; embed_dim is {self.embed_dim}"
            )
        if len(state) != len(self.state_names):
            raise ValueError(
                f"EmbeddingTracker: state has {len(state)} tensors; expected {len(self.state_names)} "
                f"({', '.join(self.state_names)})"
            )
        batch, slots = scores.shape[0], self.max_tracks
        expected = ((batch, slots, self.embed_dim), (batch, slots), (batch, slots), (batch, 1))
        for name, tensor, shape in zip(self.state_names, state, expected):
            if tuple(tensor.shape) != shape:
                raise ValueError(
                    f"EmbeddingTracker: state {name} has shape {tuple(tensor.shape)}; expected {shape} "
                    f"for {batch} video(s), max_tracks {slots} and embed_dim {self.embed_dim}"
                )

    def _track_video(
        self, scores: torch.Tensor, embeddings: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One video's frame: scores ``[N]``, embeddings ``[N, D]``, state without its batch dimension."""
        # The caller's state stays valid (it may step it again, e.g. to compare two continuations).
        memory, slot_ids, ages, next_id = (part.clone() for part in state)
        units = F.normalize(embeddings.to(memory.dtype), dim=-1)
        detection_ids = torch.full_like(scores, -1, dtype=torch.int64)
        kept = scores >= self.keep_score
        live = slot_ids > 0

        matched_slot = torch.zeros_like(live)
        unmatched = kept.clone()
        detections, slots = kept.nonzero().flatten(), live.nonzero().flatten()
        if len(detections) and len(slots):
            similarity = units[detections] @ F.normalize(memory[slots], dim=-1).T
            allowed = similarity >= self.match_threshold
            gain = torch.where(allowed, similarity, torch.zeros_like(similarity))
            rows, cols = linear_sum_assignment(gain.double().cpu().numpy(), maximize=True)
            rows = torch.as_tensor(rows, device=scores.device)
            cols = torch.as_tensor(cols, device=scores.device)
            pair_allowed = allowed[rows, cols]
            rows, cols = rows[pair_allowed], cols[pair_allowed]
            matched_detections, matched_slots = detections[rows], slots[cols]
            memory[matched_slots] = (
                self.momentum * memory[matched_slots] + (1 - self.momentum) * units[matched_detections]
            )
            ages[matched_slots] = 0
            detection_ids[matched_detections] = slot_ids[matched_slots]
            matched_slot[matched_slots] = True
            unmatched[matched_detections] = False

        ages[live & ~matched_slot] += 1
        dead = live & (ages > self.death_age)
        memory[dead], slot_ids[dead], ages[dead] = 0, 0, 0

        # Highest score first, so that when slots run out the surest new people get them.
        candidates = (unmatched & (scores >= self.birth_score)).nonzero().flatten()
        candidates = candidates[scores[candidates].argsort(descending=True, stable=True)]
        protected = matched_slot.clone()
        for detection in candidates.tolist():
            slot = self._slot_for_birth(slot_ids, ages, protected)
            if slot is None:
                break
            memory[slot], slot_ids[slot], ages[slot] = units[detection], next_id[0], 0
            detection_ids[detection] = next_id[0]
            next_id += 1
            protected[slot] = True
        return detection_ids, (memory, slot_ids, ages, next_id)

    @staticmethod
    def _slot_for_birth(slot_ids: torch.Tensor, ages: torch.Tensor, protected: torch.Tensor) -> int | None:
        """A free slot (the first), else the unprotected track with the largest age (the first on ties), else
        None when every slot holds a track matched or born on this frame."""
        free = (slot_ids == 0).nonzero().flatten()
        if len(free):
            return int(free[0])
        if protected.all():
            return None
        return int(torch.where(protected, torch.full_like(ages, -1), ages).argmax())
