"""The page people look at: ``DIR/report.html``, with its images and CSV in ``DIR/report/``.

It holds, for the top-k segments by failure score (in rank order), a thumbnail of each segment's worst frame
(the frame with the highest per-frame failure score) with the model's predicted mask overlaid; a timeline of the
signals of every video that holds one of those segments; a strip of consecutive frames around the frame where
the model flickers most in the whole corpus; and ``report/segments.csv``, every segment's signals and scores.
Every link is relative, so the folder can be copied or opened from disk without a server.

The records keep no masks, so the shown frames are segmented again: each video holding one is decoded once up
to its last shown frame, and a recurrent model steps through every frame before it (its state is then the
scan's), a per-frame model only through the shown ones.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch.nn as nn

from steadyseg.apis.inference import StreamingSegmenter, input_size_of, iter_video_frames, labels_from_logits
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.transforms.clip_geometry import resize_image
from steadyseg.engine import write_atomically
from steadyseg.visualization import overlay_labels

from .ranking import failure_score, top_k
from .records import RecordStore, SegmentTable
from .signals import SIGNALS

REPORT_FILE = "report.html"
REPORT_FOLDER = "report"
CSV_FILE = "segments.csv"
THUMBNAIL_WIDTH = 320
STRIP_FRAMES = 5
STRIP_FRAME_WIDTH = 240
# Plotted in each timeline when the video has them; the per-frame failure score is drawn on top.
TIMELINE_SIGNALS = ("flicker_iou", "flicker_flow", "uncertainty_iou", "disagreement_iou", "area")
SEGMENT_COLUMNS = ("rank", "video", "key", "segment", "start", "end")


def frame_failures(frames: Sequence[Mapping], weights: Mapping[str, float]) -> list[float]:
    """The failure score of each frame record, with the weights that rank the segments."""
    return [failure_score(frame, weights) for frame in frames]


def worst_frame(failures: Sequence[float], start: int, end: int) -> int:
    """The frame of ``[start, end)`` with the highest failure score (the first one when none has a score)."""
    return start + top_k(failures[start:end], 1)[0]


def flicker_peak(frames: Sequence[Mapping]) -> tuple[int, float] | None:
    """``(frame, value)`` of a video's highest motion-compensated flicker (plain flicker for frames without a
    flow value); None when no frame has either (a one-frame video)."""
    best = None
    for frame in frames:
        value = frame.get("flicker_flow")
        value = frame.get("flicker") if value is None else value
        if value is not None and (best is None or value > best[1]):
            best = (int(frame["frame"]), float(value))
    return best


def strip_frames(peak: int, num_frames: int, length: int = STRIP_FRAMES) -> list[int]:
    """``length`` consecutive frames centred on ``peak`` (shifted to stay inside the video)."""
    start = min(max(0, peak - length // 2), max(0, num_frames - length))
    return list(range(start, min(start + length, num_frames)))


def predicted_overlays(model: nn.Module, video: str | Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The ``wanted`` frames of a video at the size the model computes at (its input scale), the predicted
    person mask overlaid (RGB uint8)."""
    frames, num_frames, _ = iter_video_frames(video)
    last = max(wanted)
    if last >= num_frames:
        raise VideoDataError(f"{video}: frame {last} asked for the report, the video has {num_frames}")
    segmenter = StreamingSegmenter(model)
    recurrent = getattr(model, "is_recurrent", True)
    overlays = {}
    for index, frame in enumerate(frames):
        if recurrent or index in wanted:
            logits = segmenter.step(segmenter.prepare(frame)).cpu().numpy()
            if index in wanted:
                height, width = input_size_of(model, *frame.shape[:2])
                shown = resize_image(frame, (width, height))
                overlays[index] = overlay_labels(shown, labels_from_logits(logits, (height, width)))
        if index == last:
            break
    frames.close()
    if len(overlays) != len(wanted):
        raise VideoDataError(f"{video}: only {len(overlays)} of the report's {len(wanted)} frames decoded")
    return overlays


def scaled_to_width(image: np.ndarray, width: int) -> np.ndarray:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def write_png(path: Path, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"{path}: PNG encoding failed")
    write_atomically(path, encoded.tobytes())


def segments_csv(table: SegmentTable, scores: Sequence[Mapping], ranks: Mapping[int, int]) -> str:
    """Every segment a row, in the table's order: its rank by failure, where it is, its signals and scores."""
    extra = [name for name in ("novelty", "failure") if any(name in score for score in scores)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*SEGMENT_COLUMNS, *SIGNALS, *extra])
    for number, (row, score) in enumerate(zip(table.rows, scores)):
        values = [score.get(name) for name in (*SIGNALS, *extra)]
        cells = ["" if value is None or math.isnan(value) else f"{value:.6g}" for value in values]
        place = [ranks[number], row["video"], row["key"], row["segment"], row["start"], row["end"]]
        writer.writerow([*place, *cells])
    return buffer.getvalue()


def plot_timeline(
    path: Path, name: str, frames: Sequence[Mapping], failures: Sequence[float], marked: Sequence[tuple]
) -> None:
    """A PNG of one video's per-frame signals and failure score; ``marked``: ``(rank, start, end)`` of its
    top segments, shaded and numbered."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 2.6), dpi=80)
    numbers = [frame["frame"] for frame in frames]
    for signal in TIMELINE_SIGNALS:
        values = [np.nan if frame.get(signal) is None else frame[signal] for frame in frames]
        if not all(math.isnan(value) for value in values):
            axes.plot(numbers, values, linewidth=1, label=signal)
    axes.plot(numbers, failures, color="black", linewidth=1.6, label="failure")
    for rank, start, end in marked:
        axes.axvspan(start - 0.5, end - 0.5, color="red", alpha=0.12)
        axes.text((start + end - 1) / 2, 0.97, f"#{rank}", ha="center", va="top", fontsize=8)
    axes.set(xlim=(-0.5, max(numbers) + 0.5), ylim=(0, 1), xlabel="frame", title=name)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    write_atomically(path, buffer.getvalue())


def _number(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def write_report(
    store: RecordStore,
    table: SegmentTable,
    scores: Sequence[Mapping],
    model: nn.Module,
    weights: Mapping[str, float],
    k: int,
) -> Path:
    """Writes ``report.html`` and ``report/`` into ``store``'s folder and returns the page's path.

    ``scores``: each segment's signals and ``failure`` (``pipeline.segment_scores``), in ``table``'s order;
    ``weights``: the failure weights, which also score the frames; ``model``: the model the records were made
    with, run again on the shown frames.
    """
    folder = store.root / REPORT_FOLDER
    failures = [math.nan if score.get("failure") is None else score["failure"] for score in scores]
    order = top_k(failures, len(failures))
    ranks = {segment: rank for rank, segment in enumerate(order, 1)}
    top = order[:k]
    write_atomically(folder / CSV_FILE, segments_csv(table, scores, ranks).encode())

    keys = sorted({row["key"] for row in table.rows})
    top_keys = list(dict.fromkeys(table.rows[i]["key"] for i in top))
    records, peak = {}, None
    for key in keys:
        video = store.read(key)
        if key in top_keys:
            records[key] = video
        found = flicker_peak(video.frames)
        if found is not None and (peak is None or found[1] > peak[2]):
            peak = (key, *found)
    per_frame = {key: frame_failures(video.frames, weights) for key, video in records.items()}
    if peak is not None and peak[0] not in records:
        records[peak[0]] = store.read(peak[0])

    shown = {}
    wanted = {key: set() for key in records}
    for i in top:
        row = table.rows[i]
        shown[i] = worst_frame(per_frame[row["key"]], row["start"], row["end"])
        wanted[row["key"]].add(shown[i])
    strip = [] if peak is None else strip_frames(peak[1], records[peak[0]].header["frames"])
    if peak is not None:
        wanted[peak[0]].update(strip)
    overlays = {
        key: predicted_overlays(model, records[key].header["video"], frames)
        for key, frames in wanted.items()
        if frames
    }

    rows_html = []
    for rank, i in enumerate(top, 1):
        row, score = table.rows[i], scores[i]
        image = f"segment_{rank:03d}.png"
        write_png(folder / image, scaled_to_width(overlays[row["key"]][shown[i]], THUMBNAIL_WIDTH))
        signals = " ".join(
            f"{name} {_number(score.get(name))}"
            for name in (*SIGNALS, "novelty")
            if score.get(name) is not None
        )
        rows_html.append(
            f'<tr class="segment" data-rank="{rank}" data-key="{html.escape(row["key"])}" '
            f'data-start="{row["start"]}" data-end="{row["end"]}">'
            f"<td>{rank}</td>"
            f'<td><img src="{REPORT_FOLDER}/{image}" width="{THUMBNAIL_WIDTH}" alt="frame {shown[i]}"></td>'
            f"<td>{html.escape(Path(row['video']).name)}<br><small>{html.escape(row['video'])}</small></td>"
            f"<td>{row['start']}–{row['end'] - 1}<br><small>shown: frame {shown[i]}</small></td>"
            f"<td><b>{_number(score.get('failure'))}</b></td><td><small>{signals}</small></td></tr>"
        )

    timelines_html = []
    for number, key in enumerate(top_keys, 1):
        video = records[key]
        marked = [
            (rank, table.rows[i]["start"], table.rows[i]["end"])
            for rank, i in enumerate(top, 1)
            if table.rows[i]["key"] == key
        ]
        image = f"timeline_{number:03d}.png"
        plot_timeline(folder / image, Path(video.header["video"]).name, video.frames, per_frame[key], marked)
        timelines_html.append(f'<figure><img src="{REPORT_FOLDER}/{image}" alt="timeline of {key}"></figure>')

    strip_html = "<p>No video has two frames: nothing flickers.</p>"
    if peak is not None:
        key, peak_frame, value = peak
        tiles = [scaled_to_width(overlays[key][index], STRIP_FRAME_WIDTH) for index in strip]
        gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        joined = np.concatenate([part for tile in tiles for part in (tile, gap)][:-1], axis=1)
        write_png(folder / "flicker_strip.png", joined)
        flicker_values = {frame["frame"]: frame.get("flicker_flow") for frame in records[key].frames}
        captions = ", ".join(f"{index}: {_number(flicker_values.get(index))}" for index in strip)
        strip_html = (
            f'<figure><img src="{REPORT_FOLDER}/flicker_strip.png" alt="frames {strip[0]}-{strip[-1]}">'
            f"<figcaption>{html.escape(records[key].header['video'])}, frames {strip[0]}–{strip[-1]}: the "
            f"highest flicker of the corpus is at frame {peak_frame} ({value:.3f}). Flicker (flow) per frame: "
            f"{captions}</figcaption></figure>"
        )

    weights_text = ", ".join(f"{name} = {value:g}" for name, value in weights.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Discovery report: {html.escape(store.root.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }} table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }}
figure {{ margin: 0.5em 0; }} small {{ color: #555; }}
</style></head><body>
<h1>Discovery report</h1>
<p>{len(keys)} videos, {len(table.rows)} segments. Failure score: the weighted mean of {html.escape(weights_text)}
(docs/discovery.md). Every segment's signals: <a href="{REPORT_FOLDER}/{CSV_FILE}">{CSV_FILE}</a>.</p>
<h2>Top {len(top)} segments by failure score</h2>
<p>Each thumbnail is the segment's frame with the highest failure score, the predicted person mask overlaid.</p>
<table><tr><th>rank</th><th>worst frame</th><th>video</th><th>frames</th><th>failure</th><th>signals</th></tr>
{chr(10).join(rows_html)}
</table>
<h2>Where the model flickers most</h2>
{strip_html}
<h2>Timelines</h2>
<p>Per-frame signals of each video holding a top segment; the top segments are shaded with their rank.</p>
{chr(10).join(timelines_html)}
</body></html>
"""
    path = store.root / REPORT_FILE
    write_atomically(path, page.encode())
    return path
