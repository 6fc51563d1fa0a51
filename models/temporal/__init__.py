from .conv_gru import ConvGRU, MultiScaleConvGRU
from .flow_guided_propagation import FlowGuidedPropagation

__all__ = ["ConvGRU", "FlowGuidedPropagation", "MultiScaleConvGRU"]
