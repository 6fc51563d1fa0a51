"""Fixtures the metric tests share."""

import logging

import pytest
from mmengine.logging import MMLogger


@pytest.fixture
def logged_warnings():
    """The warnings mmengine's current logger emits during the test (metrics warn when a key is NaN)."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
