"""The data of the CPU matting recipes (configs/_base_/datasets/synthetic_matting.py), read through a recipe on a
small synthetic set and the real shared backgrounds and COCO people: matting and segmentation batches in turn, and
test clips that are the set's own frames."""

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from steadyseg.config import load_config
from steadyseg.datasets.video_io import read_image_rgb

RECIPE = "configs/matting/mobilenetv3_small_matting_synthetic_256.py"


def recipe_loader(key, repo_root, data_root, shared_data, monkeypatch):
    """The recipe's ``key`` dataloader on the synthetic set at ``data_root``, in this process."""
    monkeypatch.setenv("STEADYSEG_SHARED_DATA", str(shared_data))
    loader = load_config(repo_root / RECIPE, cfg_options={"data_root": str(data_root)})[key]
    with DefaultScope.overwrite_default_scope("steadyseg"):
        return Runner.build_dataloader({**loader, "num_workers": 0, "persistent_workers": False}, seed=0)


def test_training_batches_alternate_matting_and_segmentation_clips(
    repo_root, tiny_synthetic_set, shared_data, monkeypatch
):
    train = recipe_loader("train_dataloader", repo_root, tiny_synthetic_set, shared_data, monkeypatch)
    np.random.seed(0)
    batches = iter(train)
    for kind in ("matting", "segmentation") * 2:
        batch = next(batches)
        assert [tuple(clip.shape) for clip in batch["inputs"]] == [(4, 3, 256, 256)] * 2, kind
        for sample in batch["data_samples"]:
            if kind == "matting":
                assert sample.gt_alpha.shape == (4, 1, 256, 256) and sample.gt_fgr.shape == (4, 3, 256, 256)
                assert "gt_sem_seg" not in sample
            else:
                assert sample.gt_sem_seg.shape == (4, 256, 256) and "gt_alpha" not in sample


def test_test_clips_are_the_synthetic_frames_with_alpha_foreground_and_masks(
    repo_root, tiny_synthetic_set, shared_data, monkeypatch
):
    val = recipe_loader("val_dataloader", repo_root, tiny_synthetic_set, shared_data, monkeypatch)
    batch = next(iter(val))
    clip, sample = batch["inputs"][0], batch["data_samples"][0]
    first_frame = tiny_synthetic_set / "val" / "JPEGImages" / sample.video_id / "00000.jpg"
    # No background is drawn at test time: the model sees the frames as the generator wrote them.
    assert torch.equal(clip[0], torch.from_numpy(read_image_rgb(first_frame)).permute(2, 0, 1))
    frames = len(clip)
    assert sample.gt_alpha.shape == (frames, 1, 64, 64) and sample.gt_fgr.shape == (frames, 3, 64, 64)
    assert sample.gt_sem_seg.shape == (frames, 64, 64)
    assert sample.gt_alpha.max() == 1.0 and set(sample.gt_sem_seg.unique().tolist()) == {0, 1}
