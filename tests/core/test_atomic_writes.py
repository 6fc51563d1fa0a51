import os

import numpy as np
import pytest

from steadyseg.engine import write_atomically
from steadyseg.visualization import VideoWriter


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "iter_4.pth"
    write_atomically(target, b"complete checkpoint")

    def crash(_fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"half")
    assert target.read_bytes() == b"complete checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_4.pth"]


def test_checkpoint_backend_is_atomic(tmp_path):
    from mmengine.fileio import get_file_backend

    backend = get_file_backend(str(tmp_path), backend_args=dict(backend="atomic_local"))
    backend.put(b"abc", tmp_path / "sub" / "ckpt.pth")
    assert (tmp_path / "sub" / "ckpt.pth").read_bytes() == b"abc"


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
