import numpy as np
import pytest
import torch

from steadyseg.evaluation.functional import Clip, unpack_clip
from steadyseg.structures import VideoDataSample


def sample(**fields):
    return dict(video_id="v", frame_indices=[3, 4, 7], **fields)


def test_any_field_becomes_numpy_with_its_clip_identity():
    labels = torch.arange(12).reshape(3, 2, 2)
    alpha = torch.rand(3, 1, 2, 2)
    flow = torch.zeros(2, 2, 1, 1)  # per pair, at another resolution
    clip = unpack_clip(
        sample(pred_sem_seg=labels, gt_alpha=alpha, gt_flow=flow), "M", ["pred_sem_seg", "gt_alpha"]
    )
    assert isinstance(clip, Clip) and clip.video_id == "v" and clip.frame_indices == [3, 4, 7]
    assert sorted(clip.arrays) == ["gt_alpha", "pred_sem_seg"]  # gt_flow was not asked for
    np.testing.assert_array_equal(clip.arrays["pred_sem_seg"], labels.numpy())
    assert clip.arrays["gt_alpha"].dtype == np.float32
    with_flow = unpack_clip(
        sample(pred_sem_seg=labels, gt_flow=flow), "M", ["pred_sem_seg"], optional=["gt_flow"]
    )
    assert with_flow.arrays["gt_flow"].shape == (2, 2, 1, 1)
    # An optional field that is absent (or None) is left out.
    assert (
        "gt_flow" not in unpack_clip(sample(pred_sem_seg=labels), "M", ["pred_sem_seg"], ["gt_flow"]).arrays
    )


def test_data_samples_are_read_like_dicts():
    data_sample = VideoDataSample(metainfo=dict(video_id="v", frame_indices=[0, 1]))
    data_sample.pred_sem_seg = torch.zeros(2, 3, 4, dtype=torch.long)
    assert unpack_clip(data_sample, "M", ["pred_sem_seg"]).arrays["pred_sem_seg"].shape == (2, 3, 4)


def test_bad_fields_name_the_metric_video_and_field():
    labels = np.zeros((3, 2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="M: data sample has no 'gt_sem_seg'"):
        unpack_clip(sample(pred_sem_seg=labels), "M", ["gt_sem_seg", "pred_sem_seg"])
    with pytest.raises(
        ValueError, match=r"M: video 'v': pred_sem_seg must be integer labels \[T >= 1, H, W\]"
    ):
        unpack_clip(sample(pred_sem_seg=labels.astype(float)), "M", ["pred_sem_seg"])
    with pytest.raises(ValueError, match=r"gt_sem_seg must be integer labels \[T >= 1, H, W\] with T = 3"):
        unpack_clip(sample(gt_sem_seg=labels[:2]), "M", ["gt_sem_seg"])
    with pytest.raises(ValueError, match=r"M: video 'v': gt_flow must be \[T-1, 2, H, W\] with T = 3"):
        unpack_clip(
            sample(pred_sem_seg=labels, gt_flow=np.zeros((3, 2, 2, 2))), "M", ["pred_sem_seg", "gt_flow"]
        )
    with pytest.raises(
        ValueError, match=r"gt_alpha \(3, 1, 2, 3\) and pred_sem_seg \(3, 2, 2\) differ in frame size"
    ):
        unpack_clip(
            sample(pred_sem_seg=labels, gt_alpha=np.zeros((3, 1, 2, 3))), "M", ["pred_sem_seg", "gt_alpha"]
        )
    with pytest.raises(ValueError, match="M: video 'v': frame_indices \\[2, 1\\] are not increasing"):
        unpack_clip(dict(video_id="v", frame_indices=[2, 1], pred_sem_seg=labels[:2]), "M", ["pred_sem_seg"])
    with pytest.raises(ValueError, match="M: no clip field 'logits' is known"):
        unpack_clip(sample(logits=labels), "M", ["logits"])
