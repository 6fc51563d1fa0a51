"""The discovery report: the page tools/discover.py writes, its files, and the frames it segments again."""

import csv
import json
import re
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest
import torch

from steadyseg.apis.inference import labels_from_logits
from steadyseg.discovery.report import (
    THUMBNAIL_WIDTH,
    flicker_peak,
    predicted_overlays,
    strip_frames,
    worst_frame,
)
from steadyseg.visualization import overlay_labels
from tests.discovery.helpers import moving_square, run, write_frame_folder


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ranked = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[name] for name in ("src", "href") if name in attrs]
        if tag == "tr" and attrs.get("class") == "segment":
            self.ranked.append((int(attrs["data-rank"]), attrs["data-key"], int(attrs["data-start"])))


def test_the_report_is_self_contained_and_lists_the_top_segments_in_rank_order(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    summary = run(checkpoint, corpus, out, "--top-k", "3")
    page = out / "report.html"
    assert summary["report"] == str(page)
    links = Links()
    links.feed(page.read_text())
    assert links.links, "the page links nothing"
    for link in links.links:
        assert not re.match(r"[a-z]+:|/", link), f"{link} is not a relative link"
        assert (out / link).is_file(), f"{link} is referenced but missing"
    failures = json.loads((out / "collections" / "failures.json").read_text())["segments"]
    keys = {row["video"]: row["key"] for row in csv.DictReader((out / "report" / "segments.csv").open())}
    expected = [(rank, keys[entry["video"]], entry["start"]) for rank, entry in enumerate(failures, 1)]
    assert links.ranked == expected
    thumbnail = cv2.imread(str(out / "report" / "segment_001.png"))
    # The model saw the 96x72 frames at 85x64 (short side 64); 320 px wide keeps 64 * 320 / 85 = 240.9 rows.
    assert thumbnail.shape == (241, THUMBNAIL_WIDTH, 3)
    # The strip shows 5 consecutive frames, each scaled to 240 px wide, with 4-px gaps.
    assert cv2.imread(str(out / "report" / "flicker_strip.png")).shape[1] == 5 * 240 + 4 * 4


def test_the_csv_holds_every_segment_with_its_rank(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    run(checkpoint, corpus, out, "--top-k", "2")
    rows = list(csv.DictReader((out / "report" / "segments.csv").open()))
    assert len(rows) == 3 + 2  # walk: 10 frames, still: 7, in segments of 4
    assert sorted(int(row["rank"]) for row in rows) == [1, 2, 3, 4, 5]
    by_rank = sorted(rows, key=lambda row: int(row["rank"]))
    assert [float(row["failure"]) for row in by_rank] == sorted(
        (float(row["failure"]) for row in rows), reverse=True
    )
    walk = [row for row in rows if row["video"].endswith("walk.mp4")]
    assert [(row["start"], row["end"]) for row in walk] == [("0", "4"), ("4", "8"), ("8", "10")]
    assert all(row["disagreement"] == "" for row in rows)  # no teacher: empty cells, not "None"


def test_no_report_writes_no_page(checkpoint, corpus, tmp_path):
    out = tmp_path / "out"
    summary = run(checkpoint, corpus, out, "--no-report")
    assert summary["report"] is None
    assert not (out / "report.html").exists() and not (out / "report").exists()


def test_frame_choices():
    assert strip_frames(0, 10) == [0, 1, 2, 3, 4]
    assert strip_frames(6, 10) == [4, 5, 6, 7, 8]
    assert strip_frames(9, 10) == [5, 6, 7, 8, 9]
    assert strip_frames(1, 3) == [0, 1, 2]
    frames = [
        dict(frame=0, flicker=None, flicker_flow=None),
        dict(frame=1, flicker=0.5, flicker_flow=None),
        dict(frame=2, flicker=0.9, flicker_flow=0.2),
    ]
    # Frame 2's flow-compensated 0.2 counts, not its plain 0.9: frame 1 (no flow value, plain 0.5) wins.
    assert flicker_peak(frames) == (1, 0.5)
    assert flicker_peak(frames[:1]) is None
    assert worst_frame([0.1, 0.7, float("nan"), 0.9, 0.2], 1, 3) == 1
    assert worst_frame([float("nan")] * 4, 2, 4) == 2


class CountingModel(torch.nn.Module):
    """Logits whose person channel is the red channel minus 128; counts its steps."""

    def __init__(self, recurrent: bool):
        super().__init__()
        self.is_recurrent, self.steps = recurrent, 0

    def data_preprocessor(self, data):
        return {"inputs": data["inputs"][0][None].float()}

    def step(self, inputs, state):
        self.steps += 1
        person = inputs[:, 0] - 128
        return {"logits": torch.stack([torch.zeros_like(person), person], dim=1)}, state


@pytest.mark.parametrize("recurrent, steps", [(False, 2), (True, 6)])
def test_shown_frames_are_segmented_again(tmp_path, recurrent, steps):
    frames = moving_square(8, seed=3)
    video = write_frame_folder(tmp_path / "clip", frames)
    model = CountingModel(recurrent)
    overlays = predicted_overlays(model, video, {2, 5})
    # A recurrent model steps through every frame up to the last shown one, a per-frame model only the shown.
    assert model.steps == steps and sorted(overlays) == [2, 5]
    for index in (2, 5):
        frame = frames[index]
        logits = np.stack([np.zeros(frame.shape[:2]), frame[..., 0] - 128.0]).astype(np.float32)
        expected = overlay_labels(frame, labels_from_logits(logits, frame.shape[:2]))
        np.testing.assert_array_equal(overlays[index], expected)
