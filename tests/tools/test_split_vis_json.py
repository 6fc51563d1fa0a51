"""tools/split_vis_json.py: a held-out part of a YouTube-VIS JSON for local validation."""

import json
from pathlib import Path

import pytest

from tests.helpers import load_script


@pytest.fixture(scope="module")
def tool():
    return load_script("tools/split_vis_json.py")


def _instances(tmp_path: Path) -> Path:
    videos = [{"id": i, "file_names": [f"v{i}/00000.jpg"], "height": 4, "width": 4} for i in range(1, 7)]
    # Videos 1, 2, 4 and 6 have people (26); video 3 only a dog (5); video 5 nothing.
    tracks = [(1, 26), (2, 26), (2, 5), (3, 5), (4, 26), (6, 26), (6, 26)]
    annotations = [
        {"id": k, "video_id": video, "category_id": category, "segmentations": [None]}
        for k, (video, category) in enumerate(tracks, start=1)
    ]
    content = {"info": {"year": 2021}, "categories": [{"id": 26, "name": "person"}], "videos": videos}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(dict(content, annotations=annotations)))
    return path


def test_held_out_videos_have_people_and_take_their_tracks_along(tool, tmp_path):
    path = _instances(tmp_path)
    tool.main([str(path), "--minival-videos", "2", "--seed", "3"])
    train = json.loads((tmp_path / "instances_train.json").read_text())
    minival = json.loads((tmp_path / "instances_minival.json").read_text())
    held_out = {video["id"] for video in minival["videos"]}
    assert len(held_out) == 2 and held_out <= {1, 2, 4, 6}
    assert {video["id"] for video in train["videos"]} == set(range(1, 7)) - held_out
    assert {a["video_id"] for a in minival["annotations"]} == held_out
    assert len(train["annotations"]) + len(minival["annotations"]) == 7
    assert all(a["video_id"] not in held_out for a in train["annotations"])
    assert train["categories"] == minival["categories"] == [{"id": 26, "name": "person"}]
    assert minival["info"] == {"year": 2021}
    # The same arguments give the same split.
    tool.main([str(path), "--minival-videos", "2", "--seed", "3", "--out-dir", str(tmp_path / "again")])
    again = json.loads((tmp_path / "again" / "instances_minival.json").read_text())
    assert again == minival


def test_more_held_out_videos_than_videos_with_people_is_an_error_naming_the_file(tool, tmp_path):
    path = _instances(tmp_path)
    with pytest.raises(SystemExit, match=r"instances\.json: 4 videos have person tracks .*cannot hold out 5"):
        tool.main([str(path), "--minival-videos", "5"])
    unlabelled = tmp_path / "valid.json"
    unlabelled.write_text(json.dumps({"videos": [], "categories": []}))
    with pytest.raises(SystemExit, match=r"valid\.json: no 'annotations' list"):
        tool.main([str(unlabelled), "--minival-videos", "1"])
