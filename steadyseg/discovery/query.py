"""Query embeddings: an image, a frame of a video, or a segment of a video, embedded as the corpus was."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from steadyseg.apis.inference import iter_video_frames
from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import read_image_rgb

from .embedding import FrameEmbedder, mean_embedding
from .errors import DiscoveryError


def embed_image(embedder: FrameEmbedder, path: str | Path) -> np.ndarray:
    return embedder.embed_frame(read_image_rgb(path))


def embed_video_frames(embedder: FrameEmbedder, video: str | Path, start: int, end: int) -> np.ndarray:
    """The embedding of frames ``start .. end - 1`` of a video file or frame folder: one frame's own when
    ``end = start + 1``, else their mean (as a segment's in the records). Frames are decoded in order and only
    the wanted ones embedded."""
    if not 0 <= start < end:
        raise DiscoveryError(f"{video}: a query needs frames 0 <= start < end, got start={start}, end={end}")
    frames, num_frames, _ = iter_video_frames(video)
    if end > num_frames:
        raise VideoDataError(f"{video}: frames {start}..{end - 1} asked, the video has {num_frames}")
    embeddings = []
    for index, frame in enumerate(frames):
        if index >= end:
            break
        if index >= start:
            embeddings.append(embedder.embed_frame(frame))
    frames.close()
    if len(embeddings) != end - start:
        raise VideoDataError(f"{video}: only {start + len(embeddings)} frames could be decoded, {end} asked")
    return embeddings[0] if len(embeddings) == 1 else mean_embedding(np.stack(embeddings))
