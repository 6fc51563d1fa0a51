import re

import pytest
import torch
from torch import nn

from steadyseg.apis import checkpoint as checkpoint_module
from steadyseg.apis.checkpoint import CheckpointError, load_weights, read_checkpoint


def tiny(out_channels: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, out_channels, 1))


def save(path, model_or_state, key="state_dict"):
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    torch.save({key: state, "meta": {"iter": 4}}, path)
    return path


def test_exact_checkpoint_loads_every_weight(tmp_path):
    source = tiny()
    path = save(tmp_path / "a.pth", source)
    target = tiny()
    load_weights(target, read_checkpoint(path), path, "cfg.py")
    for name, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[name], value)


def test_ddp_prefix_is_stripped(tmp_path):
    source = tiny()
    path = save(tmp_path / "a.pth", {f"module.{k}": v for k, v in source.state_dict().items()})
    target = tiny()
    load_weights(target, read_checkpoint(path), path, "cfg.py")
    torch.testing.assert_close(target[2].weight, source[2].weight)


def test_checkpoint_of_another_model_is_one_error_naming_checkpoint_config_and_keys(tmp_path):
    path = save(tmp_path / "other.pth", nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(CheckpointError) as error:
        load_weights(tiny(), read_checkpoint(path), path, "configs/x.py")
    message = str(error.value)
    assert message.startswith(f"checkpoint {path} does not fit the model of configs/x.py: ")
    assert (
        "7 missing: 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked, ... (2 more)"
        in message
    )
    assert (
        "2 mis-shaped (checkpoint vs model): 0.weight (2, 2) vs (8, 3, 3, 3), 0.bias (2,) vs (8,)" in message
    )
    assert "nothing in common" in message


def test_misshaped_weights_are_refused_unless_partial(tmp_path, monkeypatch):
    source = tiny(out_channels=2)
    path = save(tmp_path / "two_classes.pth", source)
    target = tiny(out_channels=4)
    before = target[2].weight.clone()
    with pytest.raises(
        CheckpointError,
        match=re.escape(
            "2 mis-shaped (checkpoint vs model): 2.weight (2, 8, 1, 1) vs (4, 8, 1, 1), 2.bias (2,) vs (4,)"
        )
        + ".*--partial-load",
    ):
        load_weights(target, read_checkpoint(path), path, "cfg.py")
    logged = []
    # mmengine's logger keeps the stdout of the test that created it, so the message is taken at the source.
    monkeypatch.setattr(checkpoint_module, "print_log", lambda message, **kwargs: logged.append(message))
    load_weights(target, read_checkpoint(path), path, "cfg.py", partial=True)
    torch.testing.assert_close(target[0].weight, source[0].weight)
    torch.testing.assert_close(target[2].weight, before)  # the mis-shaped layer keeps its initialization
    assert logged[0].startswith(f"partial load of {path}: 7 of 9 weights loaded; skipped 2 mis-shaped")


def test_partial_load_of_nothing_in_common_is_still_an_error(tmp_path):
    path = save(tmp_path / "other.pth", nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(CheckpointError, match="nothing in common"):
        load_weights(tiny(), read_checkpoint(path), path, "cfg.py", partial=True)


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = save(tmp_path / "iter_4.pth", tiny())
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {path} cannot be read")):
        read_checkpoint(path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"checkpoint {tmp_path / 'x.pth'} does not exist")):
        read_checkpoint(tmp_path / "x.pth")
