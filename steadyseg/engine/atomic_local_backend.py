"""A local file backend whose writes are atomic, so an interrupted save never leaves a torn checkpoint.

Checkpoints are written to a temporary file beside the target, flushed to disk and renamed over it.
The checkpoint hook selects it with ``backend_args=dict(backend='atomic_local')``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend


@register_backend("atomic_local")
class AtomicLocalBackend(LocalBackend):
    def put(self, obj: bytes, filepath: str | Path) -> None:
        write_atomically(Path(filepath), obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        write_atomically(Path(filepath), obj.encode(encoding))


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
