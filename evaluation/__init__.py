"""Metrics (mmengine ``BaseMetric``\\s in ``steadyseg.registry.METRICS``) and their shared functions."""

from . import functional, vis_functional
from .davis_metric import DAVISMetric
from .dtssd_metric import DtSSDMetric
from .flicker_metric import FlickerMetric
from .flow_pair_metric import FlowPairMetric
from .flow_tc_metric import FlowTCMetric
from .foreground_area_metric import ForegroundAreaMetric
from .frame_pair_metric import FramePairMetric
from .iou_metric import VideoIoUMetric
from .matting_metric import MattingMetric
from .metrics_json import metrics_json, undefined_reason
from .soft_flicker_metric import SoftFlickerMetric
from .tracking_metric import PeopleTrackingMetric
from .video_consistency_metric import VideoConsistencyMetric
from .ytvis_metric import YouTubeVISMetric

__all__ = [
    "DAVISMetric",
    "DtSSDMetric",
    "FlickerMetric",
    "FlowPairMetric",
    "FlowTCMetric",
    "ForegroundAreaMetric",
    "FramePairMetric",
    "MattingMetric",
    "PeopleTrackingMetric",
    "SoftFlickerMetric",
    "VideoConsistencyMetric",
    "VideoIoUMetric",
    "YouTubeVISMetric",
    "functional",
    "metrics_json",
    "undefined_reason",
    "vis_functional",
]
