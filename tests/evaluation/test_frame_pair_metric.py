import math

import numpy as np
import pytest
import torch

from steadyseg.evaluation import FlickerMetric, FlowTCMetric, FramePairMetric
from steadyseg.evaluation.flow_pair_metric import FlowPairMetric
from tests.evaluation.helpers import run


class AlphaChangeMetric(FramePairMetric):
    """A new pair metric shaped like matting's dtSSD, plugged in as the base class documents: per video,
    sqrt(sum over pairs and pixels of ((p_t - p_{t-1}) - (g_t - g_{t-1}))^2 / number of those terms)."""

    fields = ("pred_alpha", "gt_alpha")

    def __init__(self):
        super().__init__()
        self.seen_dtypes = set()

    def score_pairs(self, earlier, later, motion):
        assert motion is None
        self.seen_dtypes |= {array.dtype for array in (*earlier.values(), *later.values())}
        change = (later["pred_alpha"] - earlier["pred_alpha"]) - (later["gt_alpha"] - earlier["gt_alpha"])
        terms = np.full(len(change), change[0].size if len(change) else 0)
        return np.stack([np.square(change).sum(axis=(1, 2, 3)), terms], axis=1)

    def summarize(self, videos):
        per_video = []
        for pieces in videos:
            squares, terms = np.concatenate(pieces).sum(axis=0)
            if terms:
                per_video.append(math.sqrt(squares / terms))
        return {"dt": float(np.mean(per_video)) if per_video else math.nan}


def as_alpha(values):
    """Alpha ``[T, 1, 1, W]`` from ``T`` rows of ``W`` values."""
    return torch.tensor(values, dtype=torch.float32).reshape(len(values), 1, 1, -1)


def alpha_clip(video_id, frame_indices, pred, gt):
    return dict(
        video_id=video_id, frame_indices=list(frame_indices), pred_alpha=as_alpha(pred), gt_alpha=as_alpha(gt)
    )


# 3 frames of 1x2 pixels. Pair (0, 1): prediction +0.5, truth 0 -> 0.5 per pixel; pair (1, 2): prediction 0,
# truth +0.5 -> -0.5. Four squared terms of 0.25: sqrt(1 / 4) = 0.5.
PRED = [[0.0, 0.0], [0.5, 0.5], [0.5, 0.5]]
GT = [[0.0, 0.0], [0.0, 0.0], [0.5, 0.5]]


def test_a_new_pair_metric_scores_every_pair_whatever_the_chunking():
    whole = run(AlphaChangeMetric(), [alpha_clip("v", range(3), PRED, GT)])
    assert whole == {"dt": 0.5}
    # The pair (0, 1) straddles the clips: scored from the frames each clip kept.
    chunked = run(
        AlphaChangeMetric(),
        [alpha_clip("v", [1, 2], PRED[1:], GT[1:]), alpha_clip("v", [0], PRED[:1], GT[:1])],
    )
    assert chunked == whole
    # Videos are averaged: a still video adds 0.
    still = alpha_clip("w", range(2), [[0.2, 0.2]] * 2, [[0.7, 0.7]] * 2)
    assert run(AlphaChangeMetric(), [alpha_clip("v", range(3), PRED, GT), still]) == {"dt": 0.25}


def test_clips_keep_one_frame_at_each_edge_and_float_fields_as_they_are():
    metric = AlphaChangeMetric()
    metric.process(None, [alpha_clip("v", range(3), PRED, GT)])
    (result,) = metric.results
    for edge, frame in (("first", 0), ("last", 2)):
        assert sorted(result[edge]) == ["gt_alpha", "pred_alpha"]
        kept, dtype = result[edge]["pred_alpha"]
        assert kept.dtype == dtype == np.float32
        np.testing.assert_array_equal(kept, np.reshape(PRED[frame], (1, 1, 2)))
    assert metric.seen_dtypes == {np.dtype(np.float32)}


def test_labels_are_kept_small_and_restored_for_the_pair_across_clips():
    class ChangedPixels(FramePairMetric):
        fields = ("pred_sem_seg",)

        def __init__(self):
            super().__init__()
            self.seen = []

        def score_pairs(self, earlier, later, motion):
            self.seen.append(earlier["pred_sem_seg"].dtype)
            return np.count_nonzero(later["pred_sem_seg"] != earlier["pred_sem_seg"], axis=(1, 2))

        def summarize(self, videos):
            return {"changed": int(sum(piece.sum() for pieces in videos for piece in pieces))}

    labels = np.array([[[0, 300]], [[0, 1]], [[2, 1]]])  # 300 needs uint16
    metric = ChangedPixels()
    clips = [
        dict(video_id="v", frame_indices=[0], pred_sem_seg=torch.from_numpy(labels[:1])),
        dict(video_id="v", frame_indices=[1, 2], pred_sem_seg=torch.from_numpy(labels[1:])),
    ]
    metric.process(None, clips)
    kept, dtype = metric.results[0]["last"]["pred_sem_seg"]
    assert kept.dtype == np.uint16 and dtype == np.int64
    assert metric.compute_metrics(metric.results) == {"changed": 2}
    assert metric.seen == [np.int64] * 3


def test_flow_metrics_are_pair_metrics():
    assert issubclass(FlowTCMetric, FlowPairMetric) and issubclass(FlickerMetric, FlowPairMetric)
    assert issubclass(FlowPairMetric, FramePairMetric)


def test_clips_of_one_video_with_different_frame_sizes_are_an_error():
    clips = [
        alpha_clip("v", [0], [[0.0, 0.0]], [[0.0, 0.0]]),
        alpha_clip("v", [1], [[0.0, 0.0, 0.0]], [[0.0] * 3]),
    ]
    with pytest.raises(
        ValueError, match=r"AlphaChangeMetric: video 'v': frames 0 and 1 have \w+_alpha of different sizes"
    ):
        run(AlphaChangeMetric(), clips)
