"""Failure score, top-k and weight options."""

import math

import pytest

from steadyseg.discovery import (
    DEFAULT_WEIGHTS,
    DiscoveryError,
    config_weights,
    failure_score,
    parse_weights,
    top_k,
)


def test_failure_score_is_the_weighted_mean_of_the_signals_present():
    signals = dict(flicker_iou=0.2, uncertainty_iou=0.4, disagreement_iou=None, margin=0.9)
    assert failure_score(signals, DEFAULT_WEIGHTS) == pytest.approx((0.2 + 0.4) / 2)
    assert failure_score(signals, dict(flicker_iou=3.0, uncertainty_iou=1.0)) == pytest.approx(
        (0.6 + 0.4) / 4
    )
    # margin falls as the model grows unsure: it enters as 1 - margin.
    assert failure_score(signals, dict(margin=1.0)) == pytest.approx(0.1)
    assert math.isnan(failure_score(dict(uncertainty_iou=None), dict(uncertainty_iou=1.0)))


def test_top_k_highest_first_ties_in_order_nan_last():
    assert top_k([0.1, float("nan"), 0.5, 0.1, 0.3], 4) == [2, 4, 0, 3]
    assert top_k([float("nan"), 0.0], 2) == [1, 0]


def test_weight_options_update_the_defaults_and_zero_drops_a_signal():
    weights = parse_weights(["flicker=0.5", "uncertainty_iou=0"])
    assert weights == dict(flicker_iou=1.0, disagreement_iou=1.0, flicker=0.5)


@pytest.mark.parametrize(
    "item, message",
    [
        ("flicker", "expected NAME=VALUE"),
        ("speed=1", "unknown signal 'speed'"),
        ("area=big", "'big' is not a number"),
        ("area=-1", "finite number >= 0"),
    ],
)
def test_bad_weight_options_name_the_item(item, message):
    with pytest.raises(DiscoveryError, match=f"--weight '{item}': .*{message}"):
        parse_weights([item])


def test_config_weights_update_the_defaults():
    assert config_weights(None, "cfg.py") == DEFAULT_WEIGHTS
    weights = config_weights(dict(weights=dict(flicker=0.5, uncertainty_iou=0)), "cfg.py")
    assert weights == dict(flicker_iou=1.0, uncertainty_iou=0.0, disagreement_iou=1.0, flicker=0.5)
    # --weight options come on top, and a zero drops the signal from the score.
    assert parse_weights(["flicker=2"], weights) == dict(flicker_iou=1.0, disagreement_iou=1.0, flicker=2.0)


@pytest.mark.parametrize(
    "discovery, message",
    [
        (dict(weights=dict(speed=1)), "cfg.py: discovery.weights.speed: unknown signal 'speed'"),
        (dict(weights=dict(area="big")), "cfg.py: discovery.weights.area: 'big' is not a number"),
        (dict(weights=dict(area=float("inf"))), "cfg.py: discovery.weights.area: a weight must be a finite"),
        (dict(weight=dict(area=1)), "cfg.py: 'discovery' must be dict\\(weights="),
        (dict(weights=[1]), "cfg.py: discovery.weights must be a dict"),
    ],
)
def test_bad_config_weights_name_the_file_and_key(discovery, message):
    with pytest.raises(DiscoveryError, match=message):
        config_weights(discovery, "cfg.py")
