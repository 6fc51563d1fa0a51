"""Tiny corpora for the discovery tests: a square moving over a random background, as a video file or a frame
folder, and the smoke config's tiny model with fixed random weights."""

from pathlib import Path

import cv2
import numpy as np
import torch

from steadyseg.apis.inference import load_model
from steadyseg.visualization import VideoWriter
from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO_ROOT / "configs/smoke/per_frame_tiny.py"


def moving_square(num_frames: int, seed: int, shape=(72, 96)) -> list[np.ndarray]:
    """RGB uint8 frames: a red square moving right 3 px per frame over a fixed random background."""
    background = np.random.default_rng(seed).integers(0, 255, (*shape, 3), dtype=np.uint8)
    frames = []
    for t in range(num_frames):
        frame = background.copy()
        frame[20:50, 10 + 3 * t : 40 + 3 * t] = (200, 50, 50)
        frames.append(frame)
    return frames


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    with VideoWriter(path, 24) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def write_frame_folder(path: Path, frames: list[np.ndarray]) -> Path:
    path.mkdir(parents=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(path / f"{index:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def save_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = load_model(TINY_CONFIG, None)
    torch.save({"state_dict": model.state_dict()}, path)
    return path


discover = load_script("tools/discover.py")


def run(checkpoint, corpus, out, *options):
    argv = [str(TINY_CONFIG), str(checkpoint), str(corpus), "--out", str(out)]
    return discover.main([*argv, "--segment-length", "4", "--no-progress", *options])
