"""The clip pipeline; importing it registers every transform in steadyseg's ``TRANSFORMS``."""

from .clip_albumentations import ClipAlbumentations
from .clip_composite import ClipComposite
from .clip_flip import ClipFlip
from .clip_random_affine_motion import ClipRandomAffineMotion
from .clip_random_resized_crop import ClipRandomResizedCrop
from .clip_resize import ClipResize
from .load_clip_annotations import LoadClipAnnotations
from .load_clip_background import LoadClipBackground
from .load_video_clip import LoadVideoClip
from .merge_tracks import MergeTracks
from .pack_video_inputs import PackVideoInputs
from .sample_clip_frames import SampleClipFrames
from .sample_clip_frames_at_speed import SampleClipFramesAtSpeed
from .sem_seg_from_alpha import SemSegFromAlpha
from .temporal_reverse import TemporalReverse

__all__ = [
    "ClipAlbumentations",
    "ClipComposite",
    "ClipFlip",
    "ClipRandomAffineMotion",
    "ClipRandomResizedCrop",
    "ClipResize",
    "LoadClipAnnotations",
    "LoadClipBackground",
    "LoadVideoClip",
    "MergeTracks",
    "PackVideoInputs",
    "SampleClipFrames",
    "SampleClipFramesAtSpeed",
    "SemSegFromAlpha",
    "TemporalReverse",
]
