"""What streaming inference writes for a video instance model: an overlay of the tracked people, their detections
and their tracks.

Each person the model tracks is drawn in the colour of their track id (:func:`track_colour`), blended over the
frame and outlined, with the id written above the mask, so a person keeps one colour through the video. Each
frame's detections (id, score, bounding box) are written to the detections document, a line per frame, as the frame
is rendered: boxes rather than masks, so the file grows by a few bytes per person per frame however large the frames
are, and none of it stays in memory. The tracks document, written after the last frame, summarizes each track
(when it was seen, its mean score, the smallest box holding all its boxes) from a few numbers per track, so memory
grows with the number of people, not with the video's length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .video_outputs import VideoOutputs

if TYPE_CHECKING:
    from .inference import JsonLinesWriter

# Twelve well separated colours (RGB); track id ``i`` takes entry ``i % 12``, so neighbouring ids always differ.
TRACK_PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
        [170, 110, 40],
    ],
    dtype=np.uint8,
)
# Without a tracker a query is drawn from this probability of its best class: the recipe's score_threshold, where
# the model's own postprocess starts an instance.
UNTRACKED_SCORE_THRESHOLD = 0.5
OPACITY = 0.5


def track_colour(track_id: int) -> tuple[int, int, int]:
    """The RGB colour of ``track_id``, the same in every frame and every run."""
    return tuple(int(v) for v in TRACK_PALETTE[track_id % len(TRACK_PALETTE)])


class InstanceVideos(VideoOutputs):
    """``masks [Q, h, w]`` (logits), ``scores [Q, C + 1]`` (class logits, the last no-object) and, from a model with
    a tracker, ``track_ids [Q]`` (-1: no tracked person) -> the ``overlay`` video, the ``detections`` stream and the
    ``tracks`` document.

    A detection is a query with a track id >= 0; its mask is its logits resized (bilinear) to the frame and > 0
    (sigmoid > 0.5), its score the probability of its best class (softmax over the ``C + 1``). A detection whose
    mask is empty at the frame's size is neither drawn nor counted. Without ``track_ids`` a query is its own track,
    id its index + 1 (as the model's postprocess numbers them), detected where its score reaches
    :data:`UNTRACKED_SCORE_THRESHOLD`. Overlapping people are drawn in order of score, the highest on top; the ids
    are written last, so none is hidden under another person.
    """

    reads = ("masks", "scores")
    optional_reads = ("track_ids",)
    videos = ("overlay",)
    streams = ("detections",)

    def __init__(self):
        self.frames = 0
        self._size: tuple[int, int] | None = None
        self._ids_from: str | None = None
        self._tracks: dict[int, dict] = {}
        self._detections: JsonLinesWriter | None = None

    def stream(self, documents: dict[str, JsonLinesWriter]) -> None:
        """Writes each frame's detections to ``documents["detections"]`` as the frame is rendered, one line
        ``{"frame": t, "detections": [{"id", "score", "box": [x0, y0, x1, y1]}, ...]}`` (0-based ``t``, detections
        by ascending id, boxes as in the tracks document). Without it the tracks are summarized all the same."""
        self._detections = documents["detections"]

    def render(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """One frame's ``(overlay,)``, RGB uint8 at the frame's size; writes the frame's detections and adds them to
        the tracks' summaries."""
        height, width = frame.shape[:2]
        self._size = (height, width)
        scores = _best_class_probability(outputs["scores"])
        track_ids = outputs.get("track_ids")
        self._ids_from = "tracker" if track_ids is not None else "query index + 1"
        if track_ids is None:
            track_ids = np.where(scores >= UNTRACKED_SCORE_THRESHOLD, np.arange(1, len(scores) + 1), -1)
        detected = np.flatnonzero(track_ids >= 0)
        overlay = frame.copy()
        labels, detections = [], []
        for query in detected[np.argsort(scores[detected], kind="stable")]:
            logits = cv2.resize(outputs["masks"][query], (width, height), interpolation=cv2.INTER_LINEAR)
            mask = (logits > 0).view(np.uint8)
            x, y, box_width, box_height = cv2.boundingRect(mask)
            if box_width == 0:
                continue
            box = [x, y, x + box_width, y + box_height]
            track_id, colour = int(track_ids[query]), track_colour(int(track_ids[query]))
            # Blending the box only: a person usually covers a small part of the frame.
            rows, cols = slice(y, box[3]), slice(x, box[2])
            inside = mask[rows, cols].astype(bool)
            region = frame[rows, cols]
            tinted = cv2.addWeighted(region, 1 - OPACITY, np.full_like(region, colour), OPACITY, 0.0)
            overlay[rows, cols][inside] = tinted[inside]
            contours, _ = cv2.findContours(
                mask[rows, cols], cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y)
            )
            cv2.drawContours(overlay, contours, -1, colour, thickness=max(1, min(height, width) // 200))
            labels.append((track_id, colour, box))
            detections.append({"id": track_id, "score": float(scores[query]), "box": box})
        for track_id, colour, box in labels:
            _write_id(overlay, str(track_id), colour, box)
        detections.sort(key=lambda detection: detection["id"])
        if self._detections is not None:
            self._detections.write({"frame": self.frames, "detections": detections})
        for detection in detections:
            self._summarize(detection)
        self.frames += 1
        return (overlay,)

    def _summarize(self, detection: dict) -> None:
        """Adds a detection of the current frame to its track's summary."""
        box = detection["box"]
        track = self._tracks.setdefault(
            detection["id"], {"first_frame": self.frames, "frames": 0, "score_sum": 0.0, "union_box": box}
        )
        track["last_frame"] = self.frames
        track["frames"] += 1
        track["score_sum"] += detection["score"]
        x0, y0, x1, y1 = track["union_box"]
        track["union_box"] = [min(x0, box[0]), min(y0, box[1]), max(x1, box[2]), max(y1, box[3])]

    def summary(self) -> dict:
        """``frames`` rendered and ``tracks``, the number of track ids seen."""
        return {"frames": self.frames, "tracks": len(self._tracks)}

    def documents(self) -> dict[str, dict]:
        """``tracks``: where the ids come from (``tracker`` or ``query index + 1``), the frames and their size, the
        file name of the detections document (in the same folder; None when not streamed) and per track id
        (ascending) its first and last frame (0-based), the number of frames it was detected in, its mean score
        there and ``union_box``, the smallest box holding its box in each of them. A box is ``[x0, y0, x1, y1]`` in
        pixels, ``x1``/``y1`` one past the mask's last column/row."""
        tracks = [
            {
                "id": track_id,
                "first_frame": track["first_frame"],
                "last_frame": track["last_frame"],
                "frames": track["frames"],
                "mean_score": track["score_sum"] / track["frames"],
                "union_box": track["union_box"],
            }
            for track_id, track in sorted(self._tracks.items())
        ]
        height, width = self._size or (0, 0)
        record = {
            "ids": self._ids_from,
            "frames": self.frames,
            "height": height,
            "width": width,
            "detections": None if self._detections is None else self._detections.path.name,
            "tracks": tracks,
        }
        return {"tracks": record}


def _best_class_probability(class_logits: np.ndarray) -> np.ndarray:
    """``[Q, C + 1]`` logits -> ``[Q]``: each query's highest probability among the ``C`` classes (no-object
    excluded), softmax over all ``C + 1``."""
    shifted = np.exp(class_logits - class_logits.max(axis=-1, keepdims=True))
    return (shifted[:, :-1] / shifted.sum(axis=-1, keepdims=True)).max(axis=-1)


def _write_id(image: np.ndarray, text: str, colour: tuple[int, int, int], box: list[int]) -> None:
    """``text`` in ``colour`` just above ``box`` (inside its top when the frame has no room above), on a dark
    outline that keeps it readable over any background."""
    scale = max(0.4, min(image.shape[:2]) / 600)
    thickness = max(1, round(scale * 1.5))
    (text_width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x0, y0 = box[0], box[1]
    left = min(max(x0, 0), max(image.shape[1] - text_width, 0))
    bottom = y0 - baseline - 1 if y0 - baseline - 1 >= text_height else y0 + text_height + 1
    for stroke, stroke_colour in ((thickness + 2, (0, 0, 0)), (thickness, colour)):
        cv2.putText(
            image, text, (left, bottom), cv2.FONT_HERSHEY_SIMPLEX, scale, stroke_colour, stroke, cv2.LINE_AA
        )
