import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from steadyseg.config import load_config
from steadyseg.datasets import LoadClipAnnotations, VideoDataError, VSPWDataset
from steadyseg.registry import DATASETS, METRICS

H, W = 4, 6
PIPELINE = [
    dict(type="LoadVideoClip"),
    dict(type="LoadClipAnnotations", num_classes=124),
    dict(type="PackVideoInputs"),
]


def raw_mask(t: int) -> np.ndarray:
    """VSPW labels of frame t: void 0 and 255, first / second / last class (1, 2, 124) and class 61 (person)."""
    mask = np.zeros((H, W), np.uint8)
    mask[0, :] = 1
    mask[1, :] = 2
    mask[2, : t + 1] = 124
    mask[3, :] = 255
    mask[3, 0] = 61
    return mask


def write_vspw(root, videos=("vid_b", "vid_a"), num_frames=3, splits=None, mask=raw_mask):
    """VSPW layout: data/<video>/origin/<frame>.jpg + mask/<frame>.png (``mask(t)``), and split files."""
    for video in videos:
        (root / "data" / video / "origin").mkdir(parents=True)
        (root / "data" / video / "mask").mkdir(parents=True)
        for t in range(num_frames):
            name = f"{t + 1:08d}"
            cv2.imwrite(
                str(root / "data" / video / "origin" / f"{name}.jpg"),
                np.full((H, W, 3), 40 * t % 256, np.uint8),
            )
            cv2.imwrite(str(root / "data" / video / "mask" / f"{name}.png"), mask(t))
    for split, names in (splits or {"train": videos, "val": videos[:1], "test": videos[1:]}).items():
        (root / f"{split}.txt").write_text("".join(f"{name}\n" for name in names) + "\n")
    return root


@pytest.fixture
def vspw_root(tmp_path):
    return write_vspw(tmp_path / "VSPW_480p")


def test_labels_are_shifted_down_with_0_and_255_void(vspw_root):
    dataset = VSPWDataset(vspw_root, split="val", pipeline=PIPELINE, test_mode=True)
    assert len(dataset) == 1
    sample = dataset[0]["data_samples"]
    assert sample.video_id == "vid_b" and sample.fps == 15 and sample.num_video_frames == 3
    assert sample.gt_sem_seg.shape == (3, H, W)
    for t in range(3):
        expected = [
            [0] * W,  # raw 1: the first class
            [1] * W,
            [123] * (t + 1) + [255] * (W - t - 1),  # raw 124: the last class; raw 0: void
            [60] + [255] * (W - 1),  # raw 61: person; raw 255: void
        ]
        assert sample.gt_sem_seg[t].tolist() == expected
    assert dataset.metainfo["classes"][60] == "person"  # raw label 61


def test_metainfo_lists_the_124_classes(vspw_root):
    classes = VSPWDataset(vspw_root).metainfo["classes"]
    assert len(classes) == 124 and len(set(classes)) == 124
    assert (classes[0], classes[123]) == ("wall", "train")


def test_split_file_order_chunks_and_sequences(vspw_root):
    train = VSPWDataset(vspw_root, split="train")
    assert [train.get_data_info(i)["video_id"] for i in range(len(train))] == ["vid_b", "vid_a"]
    info = train.get_data_info(1)
    assert info["label_mode"] == "semantic_reduce_zero"
    assert [p.split("/")[-1] for p in info["mask_paths"]] == ["00000001.png", "00000002.png", "00000003.png"]
    chunks = VSPWDataset(vspw_root, split="train", test_mode=True, clip_len=2, sequences=["vid_a"])
    assert [c["frame_indices"] for c in (chunks.get_data_info(i) for i in range(len(chunks)))] == [
        [0, 1],
        [2],
    ]


def test_test_split_is_unlabelled(vspw_root):
    dataset = VSPWDataset(vspw_root, split="test", pipeline=[dict(type="LoadVideoClip")], test_mode=True)
    info = dataset.get_data_info(0)
    assert info["video_id"] == "vid_a" and info["label_mode"] is None and "mask_paths" not in info
    assert len(dataset[0]["imgs"]) == 3


def test_label_above_124_is_rejected_naming_the_mask(vspw_root):
    path = vspw_root / "data" / "vid_b" / "mask" / "00000002.png"
    bad = raw_mask(1)
    bad[0, 0], bad[1, 1] = 125, 200
    cv2.imwrite(str(path), bad)
    dataset = VSPWDataset(vspw_root, split="val", pipeline=PIPELINE, test_mode=True)
    message = (
        f"{path}: labels [125, 200] outside the dataset's 124 classes (stored as 1..N; 0 and 255 = void)"
    )
    with pytest.raises(VideoDataError, match=re.escape(message)):
        dataset[0]


def test_reduce_zero_mode_refuses_instances(vspw_root):
    path = vspw_root / "data" / "vid_a" / "mask" / "00000001.png"
    results = dict(
        video_id="vid_a",
        frame_indices=[0],
        num_video_frames=1,
        mask_paths=[str(path)],
        ori_shape=(H, W),
        label_mode="semantic_reduce_zero",
    )
    with pytest.raises(VideoDataError, match=re.escape(f"{path}: semantic masks carry no instances")):
        LoadClipAnnotations(with_instances=True, num_classes=124)(results)


def test_layout_errors(tmp_path, vspw_root):
    with pytest.raises(
        VideoDataError, match=re.escape(f"{vspw_root / 'trainval.txt'}: split file not found")
    ):
        VSPWDataset(vspw_root, split="trainval")
    with pytest.raises(VideoDataError, match=r"sequences \['nope'\] not found"):
        VSPWDataset(vspw_root, sequences=["nope"])
    root = write_vspw(tmp_path / "listed_missing", videos=("v",), splits={"train": ["v", "gone"]})
    with pytest.raises(VideoDataError, match=re.escape(f"{root / 'data' / 'gone'}: video folder of 'gone'")):
        VSPWDataset(root)
    (vspw_root / "data" / "vid_a" / "mask" / "00000003.png").unlink()
    with pytest.raises(
        VideoDataError, match=re.escape(f"{vspw_root / 'data' / 'vid_a' / 'mask'}: 2 mask files for 3 frames")
    ):
        VSPWDataset(vspw_root, split="train")


VOID_TURNS_AT = 4


def void_turning_mask(t: int) -> np.ndarray:
    """Class 0 (stored 1) everywhere but (0, 0): void "others" (0) until frame 3, void 255 from frame 4."""
    mask = np.ones((H, W), np.uint8)
    mask[0, 0] = 0 if t < VOID_TURNS_AT else 255
    return mask


def test_vspw_config_scores_video_consistency_on_the_labels_as_stored(tmp_path):
    """Dataset -> the VSPW config's test pipeline -> its VC metric: a pixel whose void turns from 0 into 255 is
    not consistent (VSPW's reference), where the merged labels (255 in both frames) would call it consistent."""
    init_default_scope("steadyseg")
    root = write_vspw(tmp_path / "VSPW_480p", ("void_turns",), 10, {"val": ["void_turns"]}, void_turning_mask)
    cfg = load_config(Path(__file__).parents[2] / "configs/vspw/mobilenetv3_lraspp_per_frame_vspw_480.py")
    dataset = DATASETS.build({**cfg.test_dataloader.dataset, "data_root": str(root)})
    (vc_cfg,) = [metric for metric in cfg.test_evaluator if metric["type"] == "VideoConsistencyMetric"]
    evaluators = {
        "config": Evaluator(METRICS.build(vc_cfg)),
        "merged": Evaluator(METRICS.build({**vc_cfg, "gt_key": "gt_sem_seg"})),
    }
    assert len(dataset) == 1
    sample = dataset[0]["data_samples"]
    stored = torch.from_numpy(np.stack([void_turning_mask(t) for t in range(10)]).astype(np.int64))
    assert torch.equal(sample.gt_sem_seg_raw, stored)
    assert sample.gt_sem_seg[:, 0, 0].tolist() == [255] * 10 and sample.gt_sem_seg.shape == (10, H, W)
    # A model that follows the change: class 0 everywhere, class 1 at (0, 0) once the void turns.
    prediction = torch.zeros(10, H, W, dtype=torch.long)
    prediction[VOID_TURNS_AT:, 0, 0] = 1
    sample.pred_sem_seg = prediction
    vc8 = {}
    for name, evaluator in evaluators.items():
        evaluator.process(data_samples=[sample])
        vc8[name] = evaluator.evaluate(len(dataset))["VC8"]
    # Both 8-frame windows (starts 0 and 1) span frames 3 and 4. Stored labels: (0, 0) is not in G, the
    # other 23 pixels are in G and P: 23 / 23. Merged: (0, 0) is in G but not in P: 23 / 24.
    assert vc8["config"] == pytest.approx(1.0)
    assert vc8["merged"] == pytest.approx(23 / 24)
