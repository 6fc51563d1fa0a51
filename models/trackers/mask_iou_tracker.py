"""Online tracking of people by mask overlap alone: the baseline that the embedding tracker is measured against.

A detection continues the track whose last mask it overlaps most (Hungarian matching on the intersection over
union of binary masks, as IoU trackers of boxes do, e.g. Bochinski et al., AVSS 2017, with masks for boxes); the
query embeddings are never read. With the same slots, thresholds, births and deaths as :class:`EmbeddingTracker`
(both are :class:`SlotTracker`), a config that swaps one for the other on the same trained model measures what the
embeddings add to association.

It runs outside the exported graph for :class:`SlotTracker`'s reasons, and its state has a fixed size whatever the
frame size: each track remembers its mask on a fixed ``mask_size x mask_size`` grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from steadyseg.registry import MODELS

from .slot_tracker import SlotTracker


@MODELS.register_module()
class MaskIoUTracker(SlotTracker):
    """Gives each detection a track id by linking its mask to the tracks' last masks, frame to frame.

    Args:
        max_tracks: ``K``, the number of track slots (fixed for the whole video).
        mask_size: ``S``, the side of the grid masks are compared on: each detection's mask is resized to ``S x S``
            (whatever the frame's aspect ratio: IoU compares masks of one video, all resized alike).
        match_threshold: least IoU between a detection's mask and a track's last mask for the two to be
            associated; in ``(0, 1]``.
        birth_score: least score of an unmatched detection to start a new track.
        death_age: a track unmatched for more than this many consecutive frames is dropped; one unmatched for
            ``death_age`` frames can still be matched on the next.
        keep_score: least score of a detection to take part in tracking at all (lower ones get id ``-1`` and
            touch no track).

    A detection's mask is its mask logits resized bilinearly to ``S x S``, then ``> 0``: the mask the model's
    postprocess and the overlay draw (logits resized bilinearly, ``> 0``), on the tracker's grid. Resizing the
    logits rather than the binary mask (nearest) keeps a thin part of a person where its logits say so, where
    nearest would keep or drop whole rows and columns of the mask by where the grid happens to fall. The IoU of two
    masks is ``|a & b| / |a | b|``, 0 when both are empty. A matched track's memory becomes the detection's mask:
    the last mask seen, no averaging, so association is from each frame to the tracks' last sighting. A person
    hidden for up to ``death_age`` frames keeps their id only if their mask on return overlaps the mask they were
    last seen with by at least ``match_threshold``: one who moved off it while hidden gets a new id. A detection whose
    mask is empty on the grid overlaps nothing, so it is never matched; its score alone may still start a track.

    Per frame, the rest is :class:`SlotTracker`'s: matching of kept detections to live tracks, ages, deaths past
    ``death_age``, births highest score first into free slots or in place of the track unseen for longest, ids
    from 1 never reused.

    State (``state_names``, batch first, every shape fixed):

    - ``memory [B, K, S * S]`` float: each track's last mask, flattened (1 inside, 0 outside; zero in an empty
      slot);
    - ``track_ids [B, K]`` int64: the id in each slot, 0 for an empty slot;
    - ``ages [B, K]`` int64: frames since each track was last matched (0 on the frame it is matched or born);
    - ``next_id [B, 1]`` int64: the id the next track of each video will get.

    ``forward`` takes a clip (scores ``[B, T, N]``, mask logits ``[B, T, N, h, w]``) and :meth:`forward_frame` one
    frame (``[B, N]``, ``[B, N, h, w]``); both return the track id of every detection (int64, ``-1`` for a
    detection neither matched nor born) and the state after the last frame.
    """

    association_input = "masks"
    detection_dims = ("h", "w")
    memory_width_from = "mask_size * mask_size"

    def __init__(
        self,
        max_tracks: int = 10,
        mask_size: int = 64,
        match_threshold: float = 0.3,
        birth_score: float = 0.5,
        death_age: int = 10,
        keep_score: float = 0.2,
    ):
        if mask_size < 1:
            raise ValueError(f"MaskIoUTracker: mask_size must be at least 1, got {mask_size}")
        super().__init__(max_tracks, match_threshold, birth_score, death_age, keep_score)
        self.mask_size = mask_size

    @property
    def memory_width(self) -> int:
        return self.mask_size * self.mask_size

    def _features(self, mask_logits: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Mask logits ``[B, N, h, w]`` -> binary masks ``[B, N, S * S]`` (0 or 1) on the tracker's grid."""
        grid = (self.mask_size, self.mask_size)
        # One mask per resize: a frame without detections (N = 0) is an empty batch, which interpolate accepts,
        # where an empty channel dimension it refuses.
        logits = mask_logits.float().flatten(0, 1).unsqueeze(1)
        resized = F.interpolate(logits, size=grid, mode="bilinear", align_corners=False)
        return (resized > 0).to(dtype).reshape(*mask_logits.shape[:2], self.memory_width)

    def _similarity(self, masks: torch.Tensor, memories: torch.Tensor) -> torch.Tensor:
        """IoU of binary masks ``[n, S * S]`` and ``[m, S * S]``; counted in float32, exact up to 2 ** 24 pixels."""
        masks, memories = masks.float(), memories.float()
        intersection = masks @ memories.T
        union = masks.sum(-1)[:, None] + memories.sum(-1)[None] - intersection
        return torch.where(union > 0, intersection / union.clamp(min=1), torch.zeros_like(union))

    def _updated_memory(self, memories: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return masks
