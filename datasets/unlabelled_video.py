"""``UnlabelledVideoDataset``: videos without ground truth as training clips (distillation, GT-free losses)."""

from __future__ import annotations

from pathlib import Path

from steadyseg.registry import DATASETS

from .video_folder import VideoFolderDataset


@DATASETS.register_module()
class UnlabelledVideoDataset(VideoFolderDataset):
    """Training videos without labels: ``VideoFolderDataset``'s listing, one entry per video for training.

    In training ``SampleClipFrames`` picks each clip. Videos have ``label_mode=None``: ``LoadClipAnnotations``
    gives their frames all-ignore (255) ``gt_seg_maps``, so these clips batch with labelled ones (e.g. in a
    ``ConcatDataset`` with the synthetic set, through the same pipeline) and teach only through losses that
    need no labels, such as ``DistillationLoss`` and ``MotionDistillationLoss``; label losses ignore them.

    Args:
        data_root: a folder of video files and/or frame folders, a single video, or the root that relative
            ``videos`` are under.
        videos: a list of video files / frame folders, a folder, a glob pattern or a ``.txt`` list file (see
            :func:`~steadyseg.datasets.video_folder.list_video_sources`).
        test_mode: False by default (training clips); True splits videos into chunks of ``clip_len``.
        pipeline, clip_len, sequences, fps, **kwargs: see :class:`VideoFolderDataset` (passed by keyword).
    """

    def __init__(self, data_root: str | Path = "", *, test_mode: bool = False, **kwargs):
        super().__init__(data_root, test_mode=test_mode, **kwargs)
