from .base_video_segmentor import BaseVideoSegmentor
from .per_frame_segmentor import PerFrameVideoSegmentor
from .temporal_segmentor import TemporalVideoSegmentor
from .tflite_person_segmentor import TFLitePersonSegmentor
from .video_instance_model import VideoInstanceSegmentor
from .video_matting_model import VideoMattingModel

__all__ = [
    "BaseVideoSegmentor",
    "PerFrameVideoSegmentor",
    "TemporalVideoSegmentor",
    "TFLitePersonSegmentor",
    "VideoInstanceSegmentor",
    "VideoMattingModel",
]
