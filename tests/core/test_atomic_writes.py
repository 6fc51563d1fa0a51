import io
import os
import stat
from contextlib import contextmanager

import numpy as np
import pytest

from steadyseg.apis.training import last_checkpoint
from steadyseg.engine import POINTER, pointer_text, write_atomically
from steadyseg.visualization import VideoWriter


class CrashingFile:
    """A file whose first write stores half the data, then the process "dies" (an exception stands in)."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError("killed mid-write")

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


@contextmanager
def crash_mid_write(monkeypatch):
    """Inside, every file opened for writing (``open``, ``Path.write_bytes``, ``os.fdopen``) crashes mid-write."""
    with monkeypatch.context() as patch:
        for module, name in ((io, "open"), (os, "fdopen")):
            real = getattr(module, name)
            patch.setattr(
                module, name, lambda *args, _real=real, **kwargs: CrashingFile(_real(*args, **kwargs))
            )
        yield


def test_the_simulated_crash_tears_a_plain_write(tmp_path, monkeypatch):
    """What the next test guards against: a plain (non-atomic) write fails it."""
    target = tmp_path / "iter_4.pth"
    target.write_bytes(b"complete checkpoint")
    with crash_mid_write(monkeypatch), pytest.raises(OSError, match="killed mid-write"):
        target.write_bytes(b"new checkpoint data")
    assert target.read_bytes() == b"new check"  # half of the 19 bytes


def test_crash_mid_write_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "iter_4.pth"
    write_atomically(target, b"complete checkpoint")
    with crash_mid_write(monkeypatch), pytest.raises(OSError, match="killed mid-write"):
        write_atomically(target, b"new checkpoint data")
    assert target.read_bytes() == b"complete checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_4.pth"]


def test_failed_fsync_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_atomically(target, b"{}")

    def crash(_fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"half")
    assert target.read_bytes() == b"{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_umask_mode_not_owner_only(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_atomically(tmp_path / "ckpt.pth", b"abc")
        (tmp_path / "log.txt").write_text("a log")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "ckpt.pth").stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE((tmp_path / "log.txt").stat().st_mode)


def test_file_and_then_its_directory_are_flushed(tmp_path, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        flushed.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomically(tmp_path / "sub" / "ckpt.pth", b"abc")
    assert flushed == [False, True], "the file before the rename, its directory after it"


def test_checkpoint_backend_is_atomic(tmp_path):
    from mmengine.fileio import get_file_backend

    backend = get_file_backend(str(tmp_path), backend_args=dict(backend="atomic_local"))
    backend.put(b"abc", tmp_path / "sub" / "ckpt.pth")
    assert (tmp_path / "sub" / "ckpt.pth").read_bytes() == b"abc"


def test_pointer_is_relative_inside_the_work_dir(tmp_path):
    assert pointer_text(tmp_path, str(tmp_path / "iter_4.pth")) == "iter_4.pth"
    assert pointer_text(tmp_path / "work", str(tmp_path / "out" / "iter_4.pth")) == str(
        tmp_path / "out" / "iter_4.pth"
    )


def test_last_checkpoint_reads_relative_and_old_absolute_pointers(tmp_path):
    work = tmp_path / "copy"
    work.mkdir()
    (work / "iter_4.pth").write_bytes(b"x")
    (work / POINTER).write_text("iter_4.pth")
    assert last_checkpoint(work) == work / "iter_4.pth"
    # mmengine's absolute pointer, copied along with the work dir: the copy's own file is meant.
    original = tmp_path / "original"
    original.mkdir()
    (original / "iter_4.pth").write_bytes(b"x")
    (work / POINTER).write_text(str(original / "iter_4.pth"))
    assert last_checkpoint(work) == work / "iter_4.pth"


def test_last_checkpoint_errors_name_the_work_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no checkpoint to resume in work dir {tmp_path}"):
        last_checkpoint(tmp_path)
    (tmp_path / POINTER).write_text("iter_8.pth")
    with pytest.raises(FileNotFoundError, match=f"points at {tmp_path / 'iter_8.pth'}, which does not exist"):
        last_checkpoint(tmp_path)


def test_video_writer_removes_partial_file_on_error(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoWriter(target, fps=10) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_video_writer_rejects_size_change(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", fps=10) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        with pytest.raises(ValueError, match="frame size changed"):
            writer.write(np.zeros((16, 32, 3), np.uint8))
