"""Temporal losses called by the video segmentors' ``temporal_loss_terms`` (registered in ``MODELS``)."""

from .feature_consistency_loss import FeatureConsistencyLoss
from .flow_warped_consistency_loss import FlowWarpedConsistencyLoss
from .temporal_coherence_loss import TemporalCoherenceLoss

__all__ = ["FeatureConsistencyLoss", "FlowWarpedConsistencyLoss", "TemporalCoherenceLoss"]
