from .mobileone import MobileOne
from .repvit import RepViT
from .strided_mobilenet_v3 import StridedMobileNetV3

__all__ = ["MobileOne", "RepViT", "StridedMobileNetV3"]
