"""Temporal and distillation losses for the video segmentors' ``temporal_loss_terms`` (in ``MODELS``)."""

from .distillation_loss import DistillationLoss
from .feature_consistency_loss import FeatureConsistencyLoss
from .flow_warped_consistency_loss import FlowWarpedConsistencyLoss
from .motion_distillation_loss import MotionDistillationLoss
from .temporal_coherence_loss import TemporalCoherenceLoss

__all__ = [
    "DistillationLoss",
    "FeatureConsistencyLoss",
    "FlowWarpedConsistencyLoss",
    "MotionDistillationLoss",
    "TemporalCoherenceLoss",
]
