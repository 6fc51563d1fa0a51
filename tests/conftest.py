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
