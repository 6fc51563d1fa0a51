"""Training-engine pieces mmengine needs from us: atomic checkpoint writes, a relative and atomic
``last_checkpoint`` pointer, and CPU-capable DDP."""

from .atomic_local_backend import AtomicLocalBackend, write_atomically
from .checkpoint_hook import POINTER, AtomicPointerCheckpointHook, pointer_text
from .cpu_friendly_ddp import CPUFriendlyDistributedDataParallel

__all__ = [
    "POINTER",
    "AtomicLocalBackend",
    "AtomicPointerCheckpointHook",
    "CPUFriendlyDistributedDataParallel",
    "pointer_text",
    "write_atomically",
]
