"""Fixtures of the discovery tests: a tiny model's checkpoint and a corpus of one video file and one frame folder."""

import pytest

from tests.discovery.helpers import moving_square, save_tiny_checkpoint, write_frame_folder, write_video


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pth")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_video(folder / "walk.mp4", moving_square(10, seed=0))
    write_frame_folder(folder / "still", moving_square(7, seed=1))
    return folder
