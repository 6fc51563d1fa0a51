import importlib

import pytest
import torch

import steadyseg  # noqa: F401  (applies the compat fixes)
from steadyseg import compat


def test_mmseg_models_import_without_compiled_ops():
    importlib.import_module("mmseg.models")


def test_missing_op_fails_when_used_and_names_it():
    mmcv_ops = importlib.import_module("mmcv.ops")
    if hasattr(mmcv_ops, "__file__"):
        pytest.skip("full mmcv with compiled ops is installed")
    from mmcv.ops import point_sample

    with pytest.raises(
        compat.MissingCompiledOpError, match="mmcv.ops.point_sample needs mmcv's compiled extension"
    ):
        point_sample(torch.zeros(1), torch.zeros(1))


def test_checkpoint_with_mmengine_history_loads_safely(tmp_path):
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    checkpoint = {
        "state_dict": {"w": torch.ones(2)},
        "message_hub": {"loss": HistoryBuffer([1.0, 2.0], [1, 1])},
        "meta": {"seed": np.int64(3), "arr": np.arange(3)},
    }
    torch.save(checkpoint, tmp_path / "ckpt.pth")
    loaded = torch.load(tmp_path / "ckpt.pth", weights_only=True)
    assert loaded["message_hub"]["loss"].mean() == 1.5
    assert loaded["meta"]["seed"] == 3


class NotAllowed:
    pass


def test_safe_loading_still_rejects_arbitrary_globals(tmp_path):
    torch.save({"x": NotAllowed()}, tmp_path / "evil.pth")
    with pytest.raises(Exception, match="Unsupported global|WeightsUnpickler"):
        torch.load(tmp_path / "evil.pth", weights_only=True)


def test_a_config_text_is_formatted_once_and_as_yapf_formats_it(monkeypatch):
    import mmengine.config.config as config_module
    from mmengine.config import Config
    from yapf.yapflib.yapf_api import FormatCode

    def toy_config():
        return Config(dict(model=dict(type="Toy", channels=[1, 2, 3]), train_cfg=dict(max_iters=7)))

    first = toy_config().pretty_text
    before = compat.format_config_code.cache_info()
    assert toy_config().pretty_text == first
    after = compat.format_config_code.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    monkeypatch.setattr(config_module, "FormatCode", FormatCode)  # mmengine as shipped
    assert toy_config().pretty_text == first
    assert Config.fromstring(first, ".py").to_dict() == toy_config().to_dict()
