"""Streaming video inference: frames are decoded, segmented through ``model.step`` and written one at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from tqdm import tqdm

from steadyseg.apis.checkpoint import load_weights, read_checkpoint
from steadyseg.config import load_config, naming_config_errors
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import IMAGE_EXTENSIONS, open_video, read_image_rgb
from steadyseg.registry import MODELS
from steadyseg.visualization import VideoWriter, colorize_labels, overlay_labels


def load_model(config: str | Path, checkpoint: str | Path | None, device: str = "cpu") -> torch.nn.Module:
    """Builds the config's model, loads ``checkpoint`` (if given; every weight must fit) and returns it in eval
    mode."""
    cfg = load_config(config)
    weights = None if checkpoint is None else read_checkpoint(checkpoint)
    init_default_scope(cfg.get("default_scope", "steadyseg"))
    with naming_config_errors(cfg):
        model = MODELS.build(cfg.model)
    if weights is not None:
        load_weights(model, weights, checkpoint, config)
    return model.to(device).eval()


def iter_video_frames(path: str | Path, folder_fps: float = 24.0) -> tuple[Iterator[np.ndarray], int, float]:
    """A lazy iterator over RGB uint8 frames of a video file or a folder of frames, its frame count and fps.

    Frame folders (e.g. DAVIS ``JPEGImages/480p/<seq>``) are read in file-name order at ``folder_fps``.
    """
    path = Path(path)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not paths:
            raise VideoDataError(f"{path}: frame folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        return (read_image_rgb(p) for p in paths), len(paths), folder_fps
    reader = open_video(path)
    frames = (reader[index].asnumpy() for index in range(len(reader)))
    return frames, len(reader), float(reader.get_avg_fps()) or folder_fps


class StreamingSegmenter:
    """Runs a video model frame by frame, carrying its recurrent state.

    Frames are resized so the short side is ``short_side`` (the model's training scale), normalized
    by the model's own data preprocessor, and the logits are resized back to the frame size.
    """

    def __init__(self, model: torch.nn.Module, short_side: int = 256):
        self.model = model
        self.short_side = short_side
        # The preprocessor's buffers, unlike parameters, exist in every model (baselines have no parameters).
        self.device = model.data_preprocessor.mean.device
        self.state = None

    def reset(self) -> None:
        self.state = None

    @torch.no_grad()
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``[H, W, 3]`` -> class probabilities ``[C, H, W]`` (float32 numpy)."""
        height, width = frame.shape[:2]
        scale = self.short_side / min(height, width)
        size = (round(height * scale), round(width * scale))
        clip = torch.from_numpy(frame).permute(2, 0, 1)[None].to(self.device)
        clip = F.interpolate(clip.float(), size=size, mode="bilinear", align_corners=False)
        inputs = self.model.data_preprocessor({"inputs": [clip]})["inputs"][:, 0]
        logits, self.state = self.model.step(inputs, self.state)
        logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        return logits.softmax(dim=1)[0].cpu().numpy()


def infer_video(
    model: torch.nn.Module,
    video: str | Path,
    out_dir: str | Path,
    short_side: int = 256,
    max_frames: int | None = None,
    progress: bool = True,
) -> dict:
    """Writes ``<stem>_mask.mp4`` (colour label map) and ``<stem>_overlay.mp4`` into ``out_dir``.

    Returns a summary with the number of frames, the fps and the mean foreground fraction.
    """
    frames, num_frames, fps = iter_video_frames(video)
    num_frames = min(num_frames, max_frames or num_frames)
    out_dir = Path(out_dir)
    stem = Path(video).name if Path(video).is_dir() else Path(video).stem
    segmenter = StreamingSegmenter(model, short_side)
    foreground = []
    with (
        VideoWriter(out_dir / f"{stem}_mask.mp4", fps) as mask_writer,
        VideoWriter(out_dir / f"{stem}_overlay.mp4", fps) as overlay_writer,
    ):
        for _, frame in zip(tqdm(range(num_frames), desc=stem, disable=not progress), frames):
            labels = segmenter(frame).argmax(axis=0)
            mask_writer.write(colorize_labels(labels))
            overlay_writer.write(overlay_labels(frame, labels))
            foreground.append(float((labels > 0).mean()))
    summary = {
        "video": str(video),
        "frames": len(foreground),
        "fps": fps,
        "mean_foreground_fraction": float(np.mean(foreground)),
        "mask_video": str(out_dir / f"{stem}_mask.mp4"),
        "overlay_video": str(out_dir / f"{stem}_overlay.mp4"),
    }
    (out_dir / f"{stem}_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
