from .deep_guided_filter import DeepGuidedFilter
from .lraspp_context import LRASPPContext
from .mobile_lraspp_head import MobileLRASPPHead
from .query_mask_head import QueryMaskHead
from .query_pixel_decoder import QueryPixelDecoder
from .recurrent_matting_decoder import RecurrentMattingDecoder

__all__ = [
    "DeepGuidedFilter",
    "LRASPPContext",
    "MobileLRASPPHead",
    "QueryMaskHead",
    "QueryPixelDecoder",
    "RecurrentMattingDecoder",
]
