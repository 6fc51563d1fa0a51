import json
import math
import re

import pytest

from steadyseg.deploy.profiler import load_quality
from steadyseg.evaluation import metrics_json

VC_REASON = (
    "VideoConsistencyMetric: VC_n has no window to average: every video has at most n frames, or no pixel "
    "keeps its ground-truth label through any n-frame window"
)


def test_quality_is_read_from_a_strict_metrics_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(metrics_json({"vspw/VC8": math.nan, "vspw/mIoU": 0.375}))
    assert load_quality([path], "vspw/mIoU") == [{"file": str(path), "key": "vspw/mIoU", "value": 0.375}]


def test_a_null_metric_is_an_error_naming_the_file_the_key_and_the_reason(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(metrics_json({"vspw/VC8": math.nan, "vspw/mIoU": 0.375}))
    message = f"{path}: metric 'vspw/VC8' has no value (None): {VC_REASON}"
    with pytest.raises(ValueError, match=re.escape(message)):
        load_quality([path], "vspw/VC8")


def test_a_metric_without_a_value_or_reason_and_a_non_number_are_errors(tmp_path):
    path = tmp_path / "m.json"
    # null without a reason (a hand-written file); NaN as Python's json wrote it before metrics were strict.
    path.write_text('{"J&F": null, "TC": NaN, "config": "a.py"}')
    no_reason = "the file gives no reason under 'undefined_metrics'"
    with pytest.raises(ValueError, match=re.escape(f"{path}: metric 'J&F' has no value (None): {no_reason}")):
        load_quality([path], "J&F")
    with pytest.raises(ValueError, match=re.escape(f"{path}: metric 'TC' has no value (nan): {no_reason}")):
        load_quality([path], "TC")
    with pytest.raises(ValueError, match=re.escape(f"{path}: metric 'config' is 'a.py', not a number")):
        load_quality([path], "config")


def test_missing_metric_lists_the_metrics_not_the_reasons(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"TC": None, "undefined_metrics": {"TC": "no pair"}}))
    with pytest.raises(KeyError, match=re.escape(f"{path}: no metric 'J&F'; it has ['TC']")):
        load_quality([path], "J&F")
