"""A tiny matting config, small videos and the tools as modules, for the matting inference and export tests."""

from pathlib import Path

import cv2
import numpy as np
import torch

from steadyseg.apis.inference import load_model
from steadyseg.visualization import VideoWriter

# MobileNetV3-small cut at its stride-16 stage (strides 2, 4, 8, 16), narrow decoder: fast on CPU at 64 x 96.
TINY_MATTING_CONFIG = """
model = dict(
    type="VideoMattingModel",
    backbone=dict(type="StridedMobileNetV3", arch="small", output_stride=16, out_indices=(0, 1, 3, 8)),
    context=dict(type="LRASPPContext", channels=16),
    decoder=dict(type="RecurrentMattingDecoder", block_channels=(16, 8, 8, 8)),
    refiner=dict(type="DeepGuidedFilter", channels=8),
    downsample_ratio={ratio},
)
"""
SIZE = (64, 96)


def write_matting_config(folder: Path, downsample_ratio: float | None = None) -> Path:
    path = folder / "tiny_matting.py"
    path.write_text(TINY_MATTING_CONFIG.format(ratio=downsample_ratio))
    return path


def write_checkpoint(config: Path, path: Path, seed: int = 0) -> Path:
    """The config's model with seeded random weights, saved as a checkpoint (tool and test load the same model)."""
    torch.manual_seed(seed)
    torch.save({"state_dict": load_model(config, None).state_dict()}, path)
    return path


def smooth_frames(count: int, size: tuple[int, int] = SIZE, seed: int = 0) -> list[np.ndarray]:
    """RGB uint8 frames upsampled from coarse noise in [40, 215]: smooth, so x264 keeps them almost exactly."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 216, (count, 6, 8, 3)).astype(np.uint8)
    return [cv2.resize(c, size[::-1], interpolation=cv2.INTER_LINEAR) for c in coarse]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, crf: int = 0) -> Path:
    with VideoWriter(path, fps, crf=crf) as writer:
        for frame in frames:
            writer.write(frame)
    return path
