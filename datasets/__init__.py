"""Video datasets and the clip pipeline; importing it registers them in steadyseg's registries."""

from .base_video_dataset import BaseVideoDataset
from .coco_people import COCOPeopleDataset
from .collection_dataset import CollectionDataset
from .concat_video_dataset import ConcatVideoDataset
from .davis import DAVISDataset
from .errors import VideoDataError
from .first_frames_dataset import FirstFramesDataset
from .synthetic_people import SyntheticPeopleDataset
from .transforms import (
    ClipAlbumentations,
    ClipFlip,
    ClipRandomAffineMotion,
    ClipRandomResizedCrop,
    ClipResize,
    LoadClipAnnotations,
    LoadVideoClip,
    PackVideoInputs,
    SampleClipFrames,
    TemporalReverse,
)
from .unlabelled_video import UnlabelledVideoDataset
from .video_contiguous_sampler import VideoContiguousSampler
from .video_folder import VideoFolderDataset
from .vspw import VSPWDataset
from .youtube_vis import YouTubeVISPeopleDataset

__all__ = [
    "BaseVideoDataset",
    "ClipAlbumentations",
    "ClipFlip",
    "ClipRandomAffineMotion",
    "ClipRandomResizedCrop",
    "ClipResize",
    "COCOPeopleDataset",
    "CollectionDataset",
    "ConcatVideoDataset",
    "DAVISDataset",
    "FirstFramesDataset",
    "LoadClipAnnotations",
    "LoadVideoClip",
    "PackVideoInputs",
    "SampleClipFrames",
    "SyntheticPeopleDataset",
    "TemporalReverse",
    "UnlabelledVideoDataset",
    "VideoContiguousSampler",
    "VideoDataError",
    "VideoFolderDataset",
    "VSPWDataset",
    "YouTubeVISPeopleDataset",
]
