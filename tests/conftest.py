"""Shared fixtures. Real data lives in ``../shared/data`` beside the checkout and is read in place.

Tests that need it skip with a reason when it is absent; under CI (``CI=true``) its absence is an error,
so a CI machine without the data cannot pass by skipping.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_root() -> Path:
    return Path(os.environ.get("STEADYSEG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real test clips (DAVIS people, schoolgirls, people videos, backgrounds, MediaPipe)."""
    root = _shared_data_root()
    if not (root / "davis_people").is_dir():
        message = f"real test data not found at {root} (set STEADYSEG_SHARED_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI requires the real test data: {message}")
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_synthetic_set(tmp_path_factory) -> Path:
    """A small synthetic people set (4 train / 2 val videos of 8 frames at 64x64) made by the real generator."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("synthetic") / "set"
    command = [
        sys.executable,
        str(REPO_ROOT / "tools/make_synthetic.py"),
        "--out",
        str(out),
        "--num-train",
        "4",
    ]
    command += ["--num-val", "2", "--frames", "8", "--size", "64", "64", "--seed", "7"]
    subprocess.run(command, check=True, capture_output=True)
    return out
