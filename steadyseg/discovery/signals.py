"""Ground-truth-free signals of a model's predictions, per frame of a video and per segment of frames.

Every signal is a number in [0, 1] computed at the model's input resolution (the frame resized to the model's
short side), from the model's logits ``[C, h, w]`` of the frame:

- ``flicker``: fraction of pixels whose predicted label differs from the previous frame's;
- ``flicker_flow``: the same over the pixels whose DIS flow stays inside the frame, against the previous labels
  warped onto this frame (changes that motion does not explain). Both are ``FlickerMetric``'s per-pair values,
  computed by that metric's own ``score_pairs``; the first frame of a video has neither (None);
- ``flicker_iou``: ``1 - IoU`` of the person mask and the previous frame's person mask warped onto this frame,
  over the same pixels as ``flicker_flow``;
- ``entropy``: mean binary entropy (bits) of the person probability ``p``;
- ``margin``: mean ``|2p - 1|``, the gap between the person and background probabilities (low = unsure);
- ``uncertainty_iou``: ``1 - IoU`` that the predicted person mask ``m`` would have if ``p`` were calibrated: one
  minus the soft IoU ``sum(p m) / (sum(m) + sum(p (1 - m)))``;
- ``area``: fraction of pixels labelled person;
- ``disagreement``: fraction of pixels whose person label differs from the teacher's, and
  ``disagreement_iou``: ``1 - IoU`` of the two person masks; both None without a teacher.

The ``*_iou`` signals measure an error relative to the person, as ``1 - J`` does: the frame means (flicker,
entropy, margin, disagreement) grow with the person's size and outline, so over frames of real clips they rank a
large, well-found person above a small, missed one (docs/discovery.md has the measurement). Their union is
floored at ``MIN_UNION`` of the pixels compared: below it ``1 - IoU`` is ``mismatch / (MIN_UNION * pixels)``, so
a few stray pixels against an empty mask weigh by their size instead of counting as a whole missed person (and
two empty masks agree: 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from steadyseg.apis.inference import labels_from_logits
from steadyseg.evaluation.flicker_metric import FlickerMetric
from steadyseg.flow import dis_flow

PERSON = 1
SIGNALS = (
    "flicker",
    "flicker_flow",
    "flicker_iou",
    "entropy",
    "margin",
    "uncertainty_iou",
    "area",
    "disagreement",
    "disagreement_iou",
)
# The smallest union of two person masks that ``1 - IoU`` divides by, as a fraction of the pixels compared: a
# person below 1% of the frame is a few hundred pixels at the models' 256-pixel scale.
MIN_UNION = 0.01


def person_probability(logits: np.ndarray) -> np.ndarray:
    """``logits [C, h, w]`` -> the person probability ``[h, w]``: the sigmoid of a one-channel head, else the
    softmax of class 1."""
    if logits.ndim != 3 or logits.shape[0] < 1:
        raise ValueError(f"person_probability: expected logits [C, h, w], got {logits.shape}")
    logits = logits.astype(np.float64)
    if logits.shape[0] == 1:
        return 1.0 / (1.0 + np.exp(-logits[0]))
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return shifted[PERSON] / shifted.sum(axis=0)


def binary_entropy(probability: np.ndarray) -> np.ndarray:
    """``-p log2 p - (1 - p) log2 (1 - p)`` per pixel (0 at p = 0 and p = 1)."""
    p = np.clip(probability, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(p * np.log2(p)) - (1 - p) * np.log2(1 - p)
    return np.nan_to_num(terms, nan=0.0)


def iou_gap(mismatch: float, union: float, pixels: int) -> float:
    """``1 - IoU`` of two masks from their mismatched pixels (in one, not the other) and their union, the union
    floored at ``MIN_UNION * pixels`` (see the module docstring); 0 when nothing is compared."""
    floor = MIN_UNION * pixels
    return float(mismatch / max(union, floor)) if floor > 0 else 0.0


class _PersonFlicker(FlickerMetric):
    """``FlickerMetric``'s per-pair counts, plus the mismatched and union pixels of the person masks of the pair
    (the previous one warped), over the pixels compared through flow."""

    def pair_stats(self, current, previous, warped, valid) -> np.ndarray:
        stats = super().pair_stats(current, previous, warped, valid)
        person_counts = np.zeros((len(current), 2), dtype=np.int64)
        if warped is not None:
            person, warped_person = current == PERSON, warped == PERSON
            person_counts[:, 0] = np.count_nonzero((person != warped_person) & valid, axis=(1, 2))
            person_counts[:, 1] = np.count_nonzero((person | warped_person) & valid, axis=(1, 2))
        return np.concatenate([stats, person_counts], axis=1)


def _at_size(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``logits [C, h, w]`` bilinearly resized to ``size = (H, W)`` (unchanged when already that size)."""
    if logits.shape[1:] == tuple(size):
        return logits
    height, width = size
    resized = cv2.resize(np.ascontiguousarray(logits.transpose(1, 2, 0)), (width, height))
    return resized.reshape(height, width, -1).transpose(2, 0, 1)


class VideoSignals:
    """The signals of a video's frames, added in frame order; keeps only the previous frame and its labels."""

    def __init__(self):
        self._flicker = _PersonFlicker(flow_source="dis", prefix="discovery")
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, image: np.ndarray, logits: np.ndarray, teacher_logits: np.ndarray | None = None) -> dict:
        """``image``: the RGB uint8 frame ``[h, w, 3]`` the model saw; ``logits [C, h, w]`` its output;
        ``teacher_logits [C', h', w']`` the teacher's (any resolution) -> ``{signal: value or None}``."""
        size = image.shape[:2]
        logits = _at_size(logits, size)
        labels = labels_from_logits(logits, size)
        probability = person_probability(logits)
        person = labels == PERSON
        signals = dict.fromkeys(SIGNALS)
        if self._previous is not None:
            previous_image, previous_labels = self._previous
            flow = dis_flow(np.stack([previous_image, image]))
            changed, total, changed_flow, valid, person_changed, person_union = self._flicker.score_pairs(
                {"pred_sem_seg": previous_labels[None]}, {"pred_sem_seg": labels[None]}, flow
            )[0]
            signals["flicker"] = changed / total
            if valid:
                signals["flicker_flow"] = changed_flow / valid
                signals["flicker_iou"] = iou_gap(person_changed, person_union, valid)
        signals["entropy"] = float(binary_entropy(probability).mean())
        signals["margin"] = float(np.abs(2 * probability - 1).mean())
        # Expected pixels of the predicted mask that are not person, plus expected person pixels outside it.
        expected_mismatch = (1 - probability)[person].sum() + probability[~person].sum()
        expected_union = np.count_nonzero(person) + probability[~person].sum()
        signals["uncertainty_iou"] = iou_gap(expected_mismatch, expected_union, person.size)
        signals["area"] = float(person.mean())
        if teacher_logits is not None:
            teacher = labels_from_logits(teacher_logits, size) == PERSON
            mismatch = np.count_nonzero(person != teacher)
            signals["disagreement"] = mismatch / person.size
            signals["disagreement_iou"] = iou_gap(mismatch, np.count_nonzero(person | teacher), person.size)
        self._previous = (image, labels)
        return {key: None if value is None else float(value) for key, value in signals.items()}


def segment_signals(frames: Sequence[dict]) -> dict:
    """A segment's signals: each the mean over its frames that have it (None where none has)."""
    summary = {}
    for key in SIGNALS:
        values = [frame[key] for frame in frames if frame.get(key) is not None]
        summary[key] = float(np.mean(values)) if values else None
    return summary


def segment_bounds(num_frames: int, length: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` segments of ``length`` frames covering a video (the last may be shorter)."""
    if length < 1:
        raise ValueError(f"segment length must be >= 1, got {length}")
    return [(start, min(start + length, num_frames)) for start in range(0, num_frames, length)]
