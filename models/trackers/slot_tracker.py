"""The bookkeeping every online tracker of the instance model shares: a fixed number of track slots, filled by
births, kept by Hungarian matching, emptied by deaths and evictions.

A tracker differs from another only in what it associates: which of the model's outputs it reads, how a detection's
association feature is made from it, how similar a detection is to a track's memory, and how a matched track's
memory follows the detection. :class:`SlotTracker` does the rest (thresholds, matching, ages, births, ids, the
fixed-size state, batches, shape checks) and a subclass overrides those four parts; comparing two trackers then
compares their association alone.

The trackers are state in the contract's sense (``models/stateful.py``, ``docs/contract.md``): every tensor they
remember is part of the state that ``step`` takes and returns, and the state has a fixed size (``max_tracks``
slots of a fixed width), so memory stays constant however long the video.

They run outside the exported graph: the graph exports the per-frame head and the application runs the tracker on
its outputs. Hungarian matching is ``scipy``'s ``linear_sum_assignment``, which no exporter traces, and the births,
deaths and evictions are control flow that depends on the data (how many detections pass the thresholds, which
slots are free), which a static graph cannot express. A tracker holds no weights, so nothing of the trained model
is lost by leaving it out.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from scipy.optimize import linear_sum_assignment

from steadyseg.models.stateful import State


class SlotTracker(nn.Module):
    """Gives each detection a track id that follows one person through a video; subclasses say how detections and
    tracks are compared.

    Args:
        max_tracks: ``K``, the number of track slots (fixed for the whole video).
        match_threshold: least similarity (:meth:`_similarity`) between a detection and a track's memory for the
            two to be associated; in ``(0, 1]``.
        birth_score: least score of an unmatched detection to start a new track.
        death_age: a track unmatched for more than this many consecutive frames is dropped; one unmatched for
            ``death_age`` frames can still be matched on the next.
        keep_score: least score of a detection to take part in tracking at all (lower ones get id ``-1`` and
            touch no track), so the background queries of a query-based head cannot take over the track of a
            person who is hidden.

    Per frame, a detection that passes ``keep_score`` is matched to a live track (Hungarian matching on the
    similarity with every live track's memory, pairs below ``match_threshold`` left unmatched); a matched track's
    memory follows the detection (:meth:`_updated_memory`) and its age returns to 0; every unmatched live track
    ages by 1 and dies past ``death_age``. Unmatched detections with ``score >= birth_score`` then start tracks,
    highest score first, each with the detection's feature as its memory, in a free slot or, when all ``K`` slots
    hold tracks, in place of the track unseen for longest (largest age; a track matched or born on this frame is
    never evicted). Ids start at 1, count up per video and are never reused, not even after a track dies or is
    evicted.

    State (``state_names``, batch first, every shape fixed):

    - ``memory [B, K, W]`` float: each track's memory of width ``W`` (``memory_width``; zero in an empty slot);
    - ``track_ids [B, K]`` int64: the id in each slot, 0 for an empty slot;
    - ``ages [B, K]`` int64: frames since each track was last matched (0 on the frame it is matched or born);
    - ``next_id [B, 1]`` int64: the id the next track of each video will get.

    The initial state has no tracks and ``next_id`` 1. ``forward`` takes a clip (scores ``[B, T, N]`` and the
    ``association_input`` output ``[B, T, N, ...]``) and :meth:`forward_frame` one frame (``[B, N]``, ``[B, N,
    ...]``); both return the track id of every detection (int64, ``-1`` for a detection neither matched nor born)
    and the state after the last frame, and leave the state they are given unchanged.

    A subclass sets ``association_input`` (the model output it reads), ``detection_dims`` (the names of that
    output's dimensions after ``N``, for shape checks and errors), ``memory_width`` and ``memory_width_from``
    (what sets it, for errors), and ``measured_args`` (constructor arguments a model fills in from its own sizes),
    and overrides :meth:`_features`, :meth:`_similarity` and :meth:`_updated_memory`; :meth:`_check_detections`
    adds checks of its own.
    """

    state_names = ("memory", "track_ids", "ages", "next_id")
    # Hungarian matching and data-dependent births and deaths cannot be traced (module docstring): the tracker runs
    # after the exported graph, on its outputs, and its state stays out of the graph's.
    in_graph = False
    association_input: str
    detection_dims: tuple[str, ...]
    memory_width_from: str
    # A model fills these constructor arguments in from what it measures (e.g. its head's embedding size), and
    # checks them when given; a tracker whose memory depends on nothing of the model takes none.
    measured_args: tuple[str, ...] = ()

    def __init__(
        self, max_tracks: int, match_threshold: float, birth_score: float, death_age: int, keep_score: float
    ):
        super().__init__()
        owner = type(self).__name__
        if max_tracks < 1:
            raise ValueError(f"{owner}: max_tracks must be at least 1, got {max_tracks}")
        if not 0 < match_threshold <= 1:
            # Matching maximizes the summed similarity of the pairs above the threshold, with the others counted
            # as 0; that equals the best matching of allowed pairs only while every allowed pair counts above 0.
            raise ValueError(f"{owner}: match_threshold must be in (0, 1], got {match_threshold}")
        if keep_score > birth_score:
            raise ValueError(
                f"{owner}: keep_score ({keep_score}) must not exceed birth_score ({birth_score}); "
                "a detection too weak to be tracked cannot start a track"
            )
        if death_age < 0:
            raise ValueError(f"{owner}: death_age must be at least 0, got {death_age}")
        self.max_tracks, self.match_threshold = max_tracks, match_threshold
        self.birth_score, self.keep_score, self.death_age = birth_score, keep_score, death_age

    @property
    def memory_width(self) -> int:
        """``W``, the size of one track's memory."""
        raise NotImplementedError(f"{type(self).__name__} must define memory_width")

    def _features(self, detections: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """One frame's ``association_input`` ``[B, N, ...]`` -> the detections' features ``[B, N, W]`` in
        ``dtype`` (the memory's); a track is born with its detection's feature as its memory."""
        raise NotImplementedError(f"{type(self).__name__} must define _features")

    def _similarity(self, features: torch.Tensor, memories: torch.Tensor) -> torch.Tensor:
        """Features ``[n, W]`` of detections and memories ``[m, W]`` of live tracks -> ``[n, m]``, higher for more
        alike; a pair can be associated from ``match_threshold`` up, and matching maximizes the allowed pairs' sum."""
        raise NotImplementedError(f"{type(self).__name__} must define _similarity")

    def _updated_memory(self, memories: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Memories ``[m, W]`` of matched tracks and features ``[m, W]`` of their detections -> the new memories."""
        raise NotImplementedError(f"{type(self).__name__} must define _updated_memory")

    def _check_detections(self, detections: torch.Tensor) -> None:
        """Checks of one frame's ``association_input`` beyond its number of dimensions (none by default)."""

    def initial_state(self, frame: torch.Tensor) -> State:
        """No tracks, for a batch of videos of frames shaped like ``frame [B, 3, H, W]``."""
        batch = frame.shape[0]
        slots = (batch, self.max_tracks)
        return (
            frame.new_zeros(*slots, self.memory_width),
            torch.zeros(slots, dtype=torch.int64, device=frame.device),
            torch.zeros(slots, dtype=torch.int64, device=frame.device),
            torch.ones(batch, 1, dtype=torch.int64, device=frame.device),
        )

    # No gradient reaches the tracker, and the memory must not hold one: a memory with a graph attached would
    # keep every earlier frame's graph alive, and memory would grow with the video after all.
    @torch.no_grad()
    def forward(
        self, scores: torch.Tensor, detections: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """A clip: scores ``[B, T, N]`` and ``association_input`` ``[B, T, N, ...]`` -> track ids ``[B, T, N]`` and
        the state after the clip's last frame."""
        if (
            scores.ndim != 3
            or detections.ndim != 3 + len(self.detection_dims)
            or detections.shape[:3] != scores.shape
        ):
            raise ValueError(
                f"{type(self).__name__}: a clip needs scores [B, T, N] and {self._layout('B, T, N')}, got "
                f"{tuple(scores.shape)} and {tuple(detections.shape)}"
            )
        track_ids = []
        for frame_scores, frame_detections in zip(scores.unbind(1), detections.unbind(1)):
            frame_ids, state = self.forward_frame(frame_scores, frame_detections, state)
            track_ids.append(frame_ids)
        return torch.stack(track_ids, dim=1), state

    @torch.no_grad()
    def forward_frame(
        self, scores: torch.Tensor, detections: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One frame: scores ``[B, N]`` and ``association_input`` ``[B, N, ...]`` -> track ids ``[B, N]`` and the
        new state."""
        self._check(scores, detections, state)
        features = self._features(detections, state[0].dtype)
        per_video = [
            self._track_video(video_scores, video_features, tuple(part[index] for part in state))
            for index, (video_scores, video_features) in enumerate(zip(scores, features))
        ]
        track_ids = torch.stack([ids for ids, _ in per_video])
        new_state = tuple(torch.stack(parts) for parts in zip(*(video_state for _, video_state in per_video)))
        return track_ids, new_state

    def _layout(self, leading: str) -> str:
        """``association_input`` with its dimensions, e.g. ``embeddings [B, N, D]`` for ``leading`` ``B, N``."""
        return f"{self.association_input} [{', '.join((leading, *self.detection_dims))}]"

    def _check(self, scores: torch.Tensor, detections: torch.Tensor, state: State) -> None:
        owner = type(self).__name__
        if (
            scores.ndim != 2
            or detections.ndim != 2 + len(self.detection_dims)
            or detections.shape[:2] != scores.shape
        ):
            raise ValueError(
                f"{owner}: a frame needs scores [B, N] and {self._layout('B, N')}, got "
                f"{tuple(scores.shape)} and {tuple(detections.shape)}"
            )
        self._check_detections(detections)
        if len(state) != len(self.state_names):
            raise ValueError(
                f"{owner}: state has {len(state)} tensors; expected {len(self.state_names)} "
                f"({', '.join(self.state_names)})"
            )
        batch, slots = scores.shape[0], self.max_tracks
        expected = ((batch, slots, self.memory_width), (batch, slots), (batch, slots), (batch, 1))
        for name, tensor, shape in zip(self.state_names, state, expected):
            if tuple(tensor.shape) != shape:
                raise ValueError(
                    f"{owner}: state {name} has shape {tuple(tensor.shape)}; expected {shape} for {batch} "
                    f"video(s), max_tracks {slots} and {self.memory_width_from} {self.memory_width}"
                )

    def _track_video(
        self, scores: torch.Tensor, features: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One video's frame: scores ``[N]``, features ``[N, W]``, state without its batch dimension."""
        # The caller's state stays valid (it may step it again, e.g. to compare two continuations).
        memory, slot_ids, ages, next_id = (part.clone() for part in state)
        detection_ids = torch.full_like(scores, -1, dtype=torch.int64)
        kept = scores >= self.keep_score
        live = slot_ids > 0

        matched_slot = torch.zeros_like(live)
        unmatched = kept.clone()
        detections, slots = kept.nonzero().flatten(), live.nonzero().flatten()
        if len(detections) and len(slots):
            similarity = self._similarity(features[detections], memory[slots])
            allowed = similarity >= self.match_threshold
            gain = torch.where(allowed, similarity, torch.zeros_like(similarity))
            rows, cols = linear_sum_assignment(gain.double().cpu().numpy(), maximize=True)
            rows = torch.as_tensor(rows, device=scores.device)
            cols = torch.as_tensor(cols, device=scores.device)
            pair_allowed = allowed[rows, cols]
            rows, cols = rows[pair_allowed], cols[pair_allowed]
            matched_detections, matched_slots = detections[rows], slots[cols]
            memory[matched_slots] = self._updated_memory(memory[matched_slots], features[matched_detections])
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
            memory[slot], slot_ids[slot], ages[slot] = features[detection], next_id[0], 0
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
