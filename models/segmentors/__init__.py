from .base_video_segmentor import BaseVideoSegmentor
from .per_frame_segmentor import PerFrameVideoSegmentor

__all__ = ["BaseVideoSegmentor", "PerFrameVideoSegmentor"]
