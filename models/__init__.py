"""Video models: backbones, temporal modules, heads, segmentors and losses (``steadyseg.models``)."""

from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .temporal import *  # noqa: F401,F403
from .trackers import *  # noqa: F401,F403
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ["VideoDataPreprocessor"]
