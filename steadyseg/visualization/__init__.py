from .overlay import colorize_labels, overlay_labels
from .video_writer import VideoWriter

__all__ = ["VideoWriter", "colorize_labels", "overlay_labels"]
