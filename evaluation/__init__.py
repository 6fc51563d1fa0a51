"""Metrics (mmengine ``BaseMetric``\\s in ``steadyseg.registry.METRICS``) and their shared functions."""

from . import functional
from .davis_metric import DAVISMetric
from .flicker_metric import FlickerMetric
from .flow_tc_metric import FlowTCMetric
from .iou_metric import VideoIoUMetric
from .video_consistency_metric import VideoConsistencyMetric

__all__ = [
    "DAVISMetric",
    "FlickerMetric",
    "FlowTCMetric",
    "VideoConsistencyMetric",
    "VideoIoUMetric",
    "functional",
]
