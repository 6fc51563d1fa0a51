"""Losses (in ``MODELS``): the temporal and distillation losses of the video segmentors' ``temporal_loss_terms``,
the matting losses of Robust Video Matting and the set-prediction loss of query-based instance segmentation."""

from .alpha_coherence_loss import AlphaCoherenceLoss
from .alpha_l1_loss import AlphaL1Loss
from .alpha_laplacian_loss import AlphaLaplacianLoss
from .distillation_loss import DistillationLoss
from .feature_consistency_loss import FeatureConsistencyLoss
from .flow_warped_consistency_loss import FlowWarpedConsistencyLoss
from .foreground_coherence_loss import ForegroundCoherenceLoss
from .foreground_l1_loss import ForegroundL1Loss
from .hungarian_mask_loss import HungarianMaskLoss
from .motion_distillation_loss import MotionDistillationLoss
from .segmentation_bce_loss import SegmentationBCELoss
from .temporal_coherence_loss import TemporalCoherenceLoss

__all__ = [
    "AlphaCoherenceLoss",
    "AlphaL1Loss",
    "AlphaLaplacianLoss",
    "DistillationLoss",
    "FeatureConsistencyLoss",
    "FlowWarpedConsistencyLoss",
    "ForegroundCoherenceLoss",
    "ForegroundL1Loss",
    "HungarianMaskLoss",
    "MotionDistillationLoss",
    "SegmentationBCELoss",
    "TemporalCoherenceLoss",
]
