"""A local file backend whose writes are atomic, so an interrupted save never leaves a torn checkpoint.

Checkpoints are written to a temporary file beside the target, flushed to disk and renamed over it; the
directory is then flushed too, so the rename itself survives a power cut. The file gets the mode any file
of this process gets (0666 less the umask, like logs and videos), not ``mkstemp``'s owner-only 0600.
The checkpoint hook selects it with ``backend_args=dict(backend='atomic_local')``.
"""

from __future__ import annotations

import os
import secrets
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
    temp = temporary_path(path)
    # O_EXCL: a fresh file of our own; mode 0o666 lets the kernel apply the process umask.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def temporary_path(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this write, for its content until it is complete."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def fsync_directory(folder: Path) -> None:
    """Flushes ``folder``'s entries to disk, so that a rename into it survives a power cut."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
