from .strided_mobilenet_v3 import StridedMobileNetV3

__all__ = ["StridedMobileNetV3"]
