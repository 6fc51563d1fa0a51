from .embedding_tracker import EmbeddingTracker
from .mask_iou_tracker import MaskIoUTracker
from .slot_tracker import SlotTracker

__all__ = ["EmbeddingTracker", "MaskIoUTracker", "SlotTracker"]
