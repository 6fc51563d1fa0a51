from .deep_guided_filter import DeepGuidedFilter
from .lraspp_context import LRASPPContext
from .mobile_lraspp_head import MobileLRASPPHead
from .recurrent_matting_decoder import RecurrentMattingDecoder

__all__ = ["DeepGuidedFilter", "LRASPPContext", "MobileLRASPPHead", "RecurrentMattingDecoder"]
