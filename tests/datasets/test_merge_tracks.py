"""MergeTracks on hand-made tubes, its groups (the parser shared with the synthetic cut-outs) and its errors."""

import re

import numpy as np
import pytest

from steadyseg.datasets import MergeTracks, VideoDataError
from steadyseg.datasets.instance_groups import parse_instance_groups
from steadyseg.registry import TRANSFORMS


def frame(*rows: str) -> np.ndarray:
    """Instance ids drawn as text, one digit a pixel."""
    return np.array([[int(c) for c in row] for row in rows], np.uint8)


def tubes(ids: list[np.ndarray], labels: dict[int, int] | None = None) -> dict:
    """Results as ``LoadClipAnnotations(with_instances=True)`` leaves them for frames of instance ids."""
    track_ids = sorted(set(np.unique(np.stack(ids)).tolist()) - {0})
    return dict(
        video_id="v",
        gt_seg_maps=[(i > 0).astype(np.uint8) for i in ids],
        gt_instance_masks=[np.stack([i == t for t in track_ids], -1) for i in ids],
        gt_instance_track_ids=np.array(track_ids, np.int64),
        gt_instance_labels=np.array([(labels or {}).get(t, 1) for t in track_ids], np.int64),
    )


# Two frames: girl 1 alone, backpack 2 beside girl 3, and id 5, in no group below.
CLIP = [
    frame("1022", "1033", "0005"),
    frame("1200", "1330", "0050"),
]


def channel(results: dict, track_id: int) -> np.ndarray:
    """Track ``track_id``'s masks over the clip, [T, H, W]."""
    index = results["gt_instance_track_ids"].tolist().index(track_id)
    return np.stack([stack[..., index] for stack in results["gt_instance_masks"]])


def test_a_group_becomes_one_track_under_its_last_id():
    results = MergeTracks("2+3")(tubes(CLIP))
    assert results["gt_instance_track_ids"].tolist() == [1, 3, 5]
    assert results["gt_instance_labels"].tolist() == [1, 1, 1]
    assert (
        results["gt_instance_track_ids"].dtype == np.int64 and results["gt_instance_labels"].dtype == np.int64
    )
    assert [stack.shape for stack in results["gt_instance_masks"]] == [(3, 4, 3), (3, 4, 3)]
    np.testing.assert_array_equal(
        channel(results, 3), np.stack([frame("0011", "0011", "0000"), frame("0100", "0110", "0000")]) > 0
    )
    np.testing.assert_array_equal(channel(results, 1), np.stack(CLIP) == 1)
    np.testing.assert_array_equal(channel(results, 5), np.stack(CLIP) == 5)
    # Merged: 2 + 2 pixels in frame 0 (backpack, girl), 1 + 2 in frame 1.
    assert channel(results, 3).sum((1, 2)).tolist() == [4, 3]
    np.testing.assert_array_equal(np.stack(results["gt_seg_maps"]), np.stack(CLIP) > 0)


def test_string_and_list_groups_agree_and_unlisted_ids_stay_or_go():
    by_string = MergeTracks("1,2+3")(tubes(CLIP))
    by_list = TRANSFORMS.build(dict(type="MergeTracks", groups=[[1], [2, 3]]))(tubes(CLIP))
    for key in ("gt_instance_track_ids", "gt_instance_labels"):
        np.testing.assert_array_equal(by_string[key], by_list[key])
    np.testing.assert_array_equal(
        np.stack(by_string["gt_instance_masks"]), np.stack(by_list["gt_instance_masks"])
    )
    dropped = MergeTracks("1,2+3", drop_unlisted=True)(tubes(CLIP))
    assert dropped["gt_instance_track_ids"].tolist() == [1, 3]
    np.testing.assert_array_equal(
        np.stack(dropped["gt_instance_masks"]), np.stack(by_string["gt_instance_masks"])[..., :2]
    )
    # The people map keeps the dropped id 5: only the tubes change.
    np.testing.assert_array_equal(np.stack(dropped["gt_seg_maps"]), np.stack(CLIP) > 0)


def test_a_group_the_clip_shows_in_part_keeps_its_id_and_one_it_never_shows_gives_no_track():
    backpack_only = [frame("0220", "0000"), frame("0020", "0000")]
    results = MergeTracks("2+3,6+7")(tubes(backpack_only))
    assert results["gt_instance_track_ids"].tolist() == [3]
    np.testing.assert_array_equal(channel(results, 3), np.stack(backpack_only) == 2)


def test_no_track_left_gives_empty_stacks_of_the_frame_size():
    results = MergeTracks("6+7", drop_unlisted=True)(tubes(CLIP))
    assert results["gt_instance_track_ids"].tolist() == [] and results["gt_instance_labels"].tolist() == []
    assert [stack.shape for stack in results["gt_instance_masks"]] == [(3, 4, 0), (3, 4, 0)]
    assert results["gt_instance_track_ids"].dtype == np.int64


def test_groups_parse_as_the_cutouts_write_them():
    assert parse_instance_groups("1,2+3,4+5,6+7") == ((1,), (2, 3), (4, 5), (6, 7))
    assert parse_instance_groups([[1], (2, 3), [np.int64(4)]]) == ((1,), (2, 3), (4,))
    assert (
        repr(MergeTracks([[1], [2, 3]], drop_unlisted=True))
        == "MergeTracks(groups='1,2+3', drop_unlisted=True)"
    )


@pytest.mark.parametrize(
    "groups, reason",
    [
        ("1,2+3,3", "ids [3] are listed more than once (each id belongs to one group)"),
        ([[1, 2], [2, 3]], "ids [2] are listed more than once"),
        ("1+two", "ids '1+two' are not integers"),
        ("2+", "ids '2+' are not integers"),
        ("", "ids '' are not integers"),
        ("0,256", "ids [0, 256] are outside 1..255"),
        ([], "groups [] must be a non-empty list of lists of ids"),
        ([[1], []], "group [] of [[1], []] is not a non-empty list of integer ids"),
        ([1, 2], "group 1 of [1, 2] is not a non-empty list of integer ids"),
        ([[1.5]], "group [1.5] of [[1.5]] is not a non-empty list of integer ids"),
        (["2+3"], "group '2+3' of ['2+3'] is not a non-empty list of integer ids"),
    ],
)
def test_bad_groups_are_named(groups, reason):
    with pytest.raises(ValueError, match=re.escape(f"MergeTracks: bad groups {groups!r}: {reason}")):
        MergeTracks(groups)


def test_tracks_of_different_labels_or_no_tubes_are_refused():
    with pytest.raises(
        VideoDataError,
        match=re.escape("v: MergeTracks cannot merge tracks [2, 3] of different labels [2, 1]"),
    ):
        MergeTracks("2+3")(tubes(CLIP, labels={2: 2}))
    with pytest.raises(
        VideoDataError,
        match=re.escape(
            "v: MergeTracks found no instance tubes (put it after LoadClipAnnotations(with_instances=True))"
        ),
    ):
        MergeTracks("2+3")(dict(video_id="v", gt_seg_maps=[CLIP[0] > 0]))
