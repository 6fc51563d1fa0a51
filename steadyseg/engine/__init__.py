"""Training-engine pieces mmengine needs from us: atomic checkpoint writes and CPU-capable DDP."""

from .atomic_local_backend import AtomicLocalBackend, write_atomically
from .cpu_friendly_ddp import CPUFriendlyDistributedDataParallel

__all__ = ["AtomicLocalBackend", "CPUFriendlyDistributedDataParallel", "write_atomically"]
