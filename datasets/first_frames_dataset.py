"""``FirstFramesDataset``: a test dataset cut to the first frames of each video (budgeted and smoke evaluations)."""

from __future__ import annotations

import copy

from torch.utils.data import Dataset

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset


@DATASETS.register_module()
class FirstFramesDataset(Dataset):
    """The first ``num_frames`` frames of every video of a test-mode video dataset, as the same chunks.

    Each chunk keeps its frames below ``num_frames`` and a chunk with none left is dropped, so a video's chunks
    still continue one another: a recurrent model carries its state through them (``ClipStream``) and the
    metrics see the first ``num_frames`` frames of each video exactly as they would see a video of that length.
    Items go through the wrapped dataset's pipeline.

    Args:
        dataset: a video dataset in test mode (its config or the built dataset), e.g.
            ``dict(type='DAVISDataset', ..., test_mode=True, clip_len=16)``.
        num_frames: frames kept of each video (at least 1).
    """

    def __init__(self, dataset: dict | BaseVideoDataset, num_frames: int):
        if num_frames < 1:
            raise ValueError(f"FirstFramesDataset: num_frames must be >= 1, got {num_frames}")
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not getattr(self.dataset, "test_mode", False):
            raise ValueError(
                f"FirstFramesDataset: {type(self.dataset).__name__} must be in test mode (test_mode=True): "
                "a training dataset has one entry per video, which its pipeline samples frames from"
            )
        self.num_frames = num_frames
        self.infos = []
        for index in range(len(self.dataset)):
            info = self.dataset.get_data_info(index)
            kept = [i for i in info["frame_indices"] if i < num_frames]
            if kept:
                self.infos.append(dict(info, frame_indices=kept))

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def get_data_info(self, index: int) -> dict:
        return copy.deepcopy(self.infos[index])

    def __getitem__(self, index: int) -> dict:
        return self.dataset.pipeline(self.get_data_info(index))

    def __len__(self) -> int:
        return len(self.infos)
