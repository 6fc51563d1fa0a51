import builtins
import io
import logging
import os
import signal
import stat
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope

from steadyseg.apis.training import last_checkpoint
from steadyseg.engine import (
    POINTER,
    AtomicLocalBackend,
    pointer_text,
    write_atomically,
)
from steadyseg.registry import HOOKS
from steadyseg.visualization import VideoWriter

REPO_ROOT = Path(__file__).resolve().parents[2]
PREVIOUS, NEW = b"complete checkpoint", b"new checkpoint data"


class CrashingFile:
    """A file whose first write stores half the data, then calls ``crash`` (the process dies)."""

    def __init__(self, handle, crash: Callable[[], None]):
        self.handle, self.crash = handle, crash

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        self.crash()

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def raise_killed() -> None:
    raise OSError("killed mid-write")


def make_writes_crash(patch: pytest.MonkeyPatch, crash: Callable[[], None] = raise_killed) -> None:
    """From here on, every file opened (builtin ``open``, ``io.open`` as ``Path`` uses it, ``os.fdopen``) crashes
    halfway through its first write."""
    for module, name in ((builtins, "open"), (io, "open"), (os, "fdopen")):
        real = getattr(module, name)
        patch.setattr(
            module, name, lambda *args, _real=real, **kwargs: CrashingFile(_real(*args, **kwargs), crash)
        )


@contextmanager
def crash_mid_write(monkeypatch):
    """Inside, every write raises halfway through: the writer's own cleanup still runs."""
    with monkeypatch.context() as patch:
        make_writes_crash(patch)
        yield


def die_mid_write(write: Callable[[Path, bytes], None], path: Path, data: bytes) -> None:
    """Runs ``write(path, data)`` in a forked child that is SIGKILLed halfway through writing the bytes: no
    ``except`` or ``finally`` of the writer runs, as after a power cut or the out-of-memory killer."""
    pid = os.fork()
    if pid == 0:
        try:
            make_writes_crash(pytest.MonkeyPatch(), lambda: os.kill(os.getpid(), signal.SIGKILL))
            write(path, data)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the child must die mid-write"


def atomic_backend() -> AtomicLocalBackend:
    # The name the checkpoint hook's backend_args select.
    backend = get_file_backend("work_dirs", backend_args=dict(backend="atomic_local"))
    assert isinstance(backend, AtomicLocalBackend)
    return backend


ATOMIC_WRITERS = [
    pytest.param(write_atomically, id="write_atomically"),
    pytest.param(lambda path, data: atomic_backend().put(data, path), id="AtomicLocalBackend.put"),
    pytest.param(
        lambda path, data: atomic_backend().put_text(data.decode(), path), id="AtomicLocalBackend.put_text"
    ),
]
# mmengine's own local backend opens the target and writes into it: the tests below must catch that.
PLAIN_WRITER = pytest.param(
    lambda path, data: LocalBackend().put(data, path),
    id="plain LocalBackend.put",
    marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason="a plain write tears the file"),
)


@pytest.mark.parametrize("write", [*ATOMIC_WRITERS, PLAIN_WRITER])
def test_crash_mid_write_keeps_previous_file_and_leaves_no_partial_file(tmp_path, monkeypatch, write):
    target = tmp_path / "iter_4.pth"
    target.write_bytes(PREVIOUS)
    with crash_mid_write(monkeypatch), pytest.raises(OSError, match="killed mid-write"):
        write(target, NEW)
    assert target.read_bytes() == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_4.pth"]


@pytest.mark.parametrize("write", [*ATOMIC_WRITERS, PLAIN_WRITER])
def test_process_killed_mid_write_keeps_previous_file(tmp_path, write):
    target = tmp_path / "iter_4.pth"
    target.write_bytes(PREVIOUS)
    die_mid_write(write, target, NEW)
    assert target.read_bytes() == PREVIOUS
    # Nothing cleans up after a kill: what is left is a hidden temporary file no tool mistakes for a checkpoint.
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".iter_4.pth.") and name.endswith(".tmp") for name in leftovers), leftovers


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


@pytest.mark.parametrize("write", ATOMIC_WRITERS)
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_umask_mode_not_owner_only(tmp_path, umask, write):
    previous = os.umask(umask)
    try:
        write(tmp_path / "ckpt.pth", b"abc")
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


def default_checkpoint_hook():
    """The checkpoint hook of configs/_base_/default_runtime.py, built as the Runner builds it (in the config's
    default scope, where it is steadyseg's)."""
    cfg = Config.fromfile(REPO_ROOT / "configs/_base_/default_runtime.py")
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return HOOKS.build(cfg.default_hooks.checkpoint)


def mmengine_checkpoint_hook():
    """mmengine's own hook with the same settings (what steadyseg's replaces)."""
    cfg = Config.fromfile(REPO_ROOT / "configs/_base_/default_runtime.py").default_hooks.checkpoint.to_dict()
    cfg.pop("type")
    return MMEngineCheckpointHook(**cfg)


@pytest.mark.parametrize(
    "build_hook",
    [
        pytest.param(default_checkpoint_hook, id="default runtime CheckpointHook"),
        pytest.param(
            mmengine_checkpoint_hook,
            id="mmengine CheckpointHook",
            marks=pytest.mark.xfail(
                strict=True,
                raises=AssertionError,
                reason="mmengine writes last_checkpoint with a plain open()",
            ),
        ),
    ],
)
def test_crash_while_writing_last_checkpoint_keeps_the_previous_pointer(tmp_path, monkeypatch, build_hook):
    """Saving iteration 8, the process dies while writing the ``last_checkpoint`` pointer."""
    hook = build_hook()
    crash_on_pointer = False

    def save_checkpoint(out_dir, filename, *args, **kwargs):
        hook.file_backend.put(b"weights", Path(out_dir) / filename)
        if crash_on_pointer:
            make_writes_crash(monkeypatch)

    work_dir = tmp_path / "work"
    runner = SimpleNamespace(
        work_dir=str(work_dir),
        logger=logging.getLogger(__name__),
        message_hub=MessageHub.get_instance(f"atomic-pointer-{tmp_path.name}"),
        save_checkpoint=save_checkpoint,
    )
    hook.before_train(runner)
    assert isinstance(hook.file_backend, AtomicLocalBackend)
    hook._save_checkpoint_with_step(runner, 4, meta={})

    crash_on_pointer = True
    with pytest.raises(OSError, match="killed mid-write"):
        hook._save_checkpoint_with_step(runner, 8, meta={})
    monkeypatch.undo()
    assert (work_dir / "iter_8.pth").read_bytes() == b"weights"
    # Relative (ours) or absolute (mmengine's), the pointer must still name the previous checkpoint whole.
    assert work_dir / (work_dir / POINTER).read_text() == work_dir / "iter_4.pth"
    assert last_checkpoint(work_dir) == work_dir / "iter_4.pth"


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
