"""Training-engine pieces mmengine needs from us: atomic checkpoint writes, a relative and atomic
``last_checkpoint`` pointer, CPU-capable DDP, and evaluation loops that keep videos whole."""

from .atomic_local_backend import AtomicLocalBackend, fsync_directory, temporary_path, write_atomically
from .checkpoint_hook import POINTER, AtomicPointerCheckpointHook, pointer_text
from .clip_stream import ClipStream, continues
from .cpu_friendly_ddp import CPUFriendlyDistributedDataParallel
from .video_evaluator import VideoEvaluator
from .video_loops import VideoTestLoop, VideoValLoop

__all__ = [
    "POINTER",
    "AtomicLocalBackend",
    "AtomicPointerCheckpointHook",
    "CPUFriendlyDistributedDataParallel",
    "ClipStream",
    "VideoEvaluator",
    "VideoTestLoop",
    "VideoValLoop",
    "continues",
    "fsync_directory",
    "pointer_text",
    "temporary_path",
    "write_atomically",
]
