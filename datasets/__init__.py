"""Video datasets and the clip pipeline; importing it registers them in steadyseg's registries."""

from .base_video_dataset import BaseVideoDataset
from .davis import DAVISDataset
from .errors import VideoDataError
from .synthetic_people import SyntheticPeopleDataset
from .transforms import (
    ClipAlbumentations,
    ClipFlip,
    ClipRandomResizedCrop,
    ClipResize,
    LoadClipAnnotations,
    LoadVideoClip,
    PackVideoInputs,
    SampleClipFrames,
    TemporalReverse,
)
from .video_folder import VideoFolderDataset
from .vspw import VSPWDataset
from .youtube_vis import YouTubeVISPeopleDataset

__all__ = [
    "BaseVideoDataset",
    "ClipAlbumentations",
    "ClipFlip",
    "ClipRandomResizedCrop",
    "ClipResize",
    "DAVISDataset",
    "LoadClipAnnotations",
    "LoadVideoClip",
    "PackVideoInputs",
    "SampleClipFrames",
    "SyntheticPeopleDataset",
    "TemporalReverse",
    "VideoDataError",
    "VideoFolderDataset",
    "VSPWDataset",
    "YouTubeVISPeopleDataset",
]
