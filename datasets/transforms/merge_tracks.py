"""``MergeTracks``: instance tracks annotated apart that are one person, such as a girl and her backpack."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from ..errors import VideoDataError
from ..instance_groups import parse_instance_groups


@TRANSFORMS.register_module()
class MergeTracks(BaseTransform):
    """Merge the tracks of each group of ids into one track (after ``LoadClipAnnotations(with_instances=True)``).

    Some annotations give parts of a person ids of their own: DAVIS-2017's schoolgirls annotates the backpacks
    (2, 4, 6) apart from the girls carrying them (3, 5, 7). A group's tracks become one track whose mask is the
    union of theirs in every frame and whose id is the group's **last** id, so list the person last: with
    ``"1,2+3,4+5,6+7"`` backpack 2 joins girl 3 under id 3, and the clip's tracks are 1, 3, 5, 7. A group none of
    whose ids the clip shows gives no track; one that the clip shows only in part gives the union of what it shows,
    still under the group's last id, so a track keeps its id in every clip of a video.

    Only the instance tubes change (``gt_instance_masks``, ``gt_instance_track_ids``, ``gt_instance_labels``, in
    ascending track id order as ``LoadClipAnnotations`` gives them); the semantic map is left as it is, so a track
    that ``drop_unlisted`` drops is still person there.

    Args:
        groups: the groups, ``"1,2+3,4+5,6+7"`` or ``[[1], [2, 3], [4, 5], [6, 7]]``; each id in 1..255 and in one
            group only.
        drop_unlisted: drop the tracks whose id is in no group; by default they stay as they are.
    """

    def __init__(self, groups: str | Sequence[Sequence[int]], drop_unlisted: bool = False):
        try:
            self.groups = parse_instance_groups(groups)
        except ValueError as error:
            raise ValueError(f"MergeTracks: bad groups {groups!r}: {error}") from None
        self.drop_unlisted = drop_unlisted

    def transform(self, results: dict) -> dict:
        if "gt_instance_masks" not in results:
            raise VideoDataError(
                f"{results.get('video_path') or results.get('video_id')}: MergeTracks found no instance tubes "
                "(put it after LoadClipAnnotations(with_instances=True))"
            )
        channels = {int(track_id): c for c, track_id in enumerate(results["gt_instance_track_ids"])}
        merged = {}  # merged track id -> the channels it joins
        for group in self.groups:
            present = [channels[track_id] for track_id in group if track_id in channels]
            if present:
                merged[group[-1]] = present
        if not self.drop_unlisted:
            listed = {track_id for group in self.groups for track_id in group}
            merged.update({track_id: [c] for track_id, c in channels.items() if track_id not in listed})
        track_ids = sorted(merged)
        results["gt_instance_labels"] = self._labels(results, merged, track_ids)
        results["gt_instance_masks"] = [
            np.stack([stack[..., merged[track_id]].any(-1) for track_id in track_ids], -1)
            if track_ids
            else np.zeros((*stack.shape[:2], 0), bool)
            for stack in results["gt_instance_masks"]
        ]
        results["gt_instance_track_ids"] = np.array(track_ids, np.int64)
        return results

    @staticmethod
    def _labels(results: dict, merged: dict[int, list[int]], track_ids: list[int]) -> np.ndarray:
        """One label per merged track: the label its tracks share; tracks of different labels are not one object."""
        labels = np.asarray(results["gt_instance_labels"])
        ids = np.asarray(results["gt_instance_track_ids"])
        merged_labels = []
        for track_id in track_ids:
            group_labels = labels[merged[track_id]]
            if (group_labels != group_labels[0]).any():
                raise VideoDataError(
                    f"{results.get('video_path') or results.get('video_id')}: MergeTracks cannot merge tracks "
                    f"{ids[merged[track_id]].tolist()} of different labels {group_labels.tolist()}"
                )
            merged_labels.append(group_labels[0])
        return np.array(merged_labels, np.int64)

    def __repr__(self) -> str:
        groups = ",".join("+".join(map(str, group)) for group in self.groups)
        return f"{type(self).__name__}(groups={groups!r}, drop_unlisted={self.drop_unlisted})"
