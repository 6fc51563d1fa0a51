from .mobile_lraspp_head import MobileLRASPPHead

__all__ = ["MobileLRASPPHead"]
