"""Video datasets and the clip pipeline; importing it registers them in steadyseg's registries."""

from .alternating_batch_sampler import AlternatingBatchSampler
from .base_video_dataset import BaseVideoDataset
from .coco_people import COCOPeopleDataset
from .collection_dataset import CollectionDataset
from .concat_video_dataset import ConcatVideoDataset
from .davis import DAVISDataset
from .errors import VideoDataError
from .first_frames_dataset import FirstFramesDataset
from .image_matting import ImageMattingDataset
from .instance_mask_video import InstanceMaskVideoDataset
from .synthetic_people import SyntheticPeopleDataset
from .transforms import (
    ClipAlbumentations,
    ClipComposite,
    ClipFlip,
    ClipRandomAffineMotion,
    ClipRandomResizedCrop,
    ClipResize,
    LoadClipAnnotations,
    LoadClipBackground,
    LoadVideoClip,
    MergeTracks,
    PackVideoInputs,
    SampleClipFrames,
    SampleClipFramesAtSpeed,
    SemSegFromAlpha,
    TemporalReverse,
)
from .unlabelled_video import UnlabelledVideoDataset
from .video_contiguous_sampler import VideoContiguousSampler
from .video_folder import VideoFolderDataset
from .video_matte import VideoMatteDataset
from .vspw import VSPWDataset
from .youtube_vis import YouTubeVISPeopleDataset

__all__ = [
    "AlternatingBatchSampler",
    "BaseVideoDataset",
    "ClipAlbumentations",
    "ClipComposite",
    "ClipFlip",
    "ClipRandomAffineMotion",
    "ClipRandomResizedCrop",
    "ClipResize",
    "COCOPeopleDataset",
    "CollectionDataset",
    "ConcatVideoDataset",
    "DAVISDataset",
    "FirstFramesDataset",
    "ImageMattingDataset",
    "InstanceMaskVideoDataset",
    "LoadClipAnnotations",
    "LoadClipBackground",
    "LoadVideoClip",
    "MergeTracks",
    "PackVideoInputs",
    "SampleClipFrames",
    "SampleClipFramesAtSpeed",
    "SemSegFromAlpha",
    "SyntheticPeopleDataset",
    "TemporalReverse",
    "UnlabelledVideoDataset",
    "VideoContiguousSampler",
    "VideoDataError",
    "VideoFolderDataset",
    "VideoMatteDataset",
    "VSPWDataset",
    "YouTubeVISPeopleDataset",
]
