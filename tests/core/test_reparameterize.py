from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from steadyseg.config import load_config
from steadyseg.deploy import reparameterize
from steadyseg.registry import MODELS
from tests.models.reparam_helpers import num_parameters, randomize_batchnorm, single_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

REPO_ROOT = Path(__file__).resolve().parents[2]
MOBILE_CONFIGS = [
    "mobileone_s0_lraspp_per_frame_synthetic_256.py",
    "repvit_m0_9_lraspp_per_frame_synthetic_256.py",
]


def training_form_modules(model: nn.Module) -> list[str]:
    return [
        name
        for name, module in model.named_modules()
        if callable(getattr(module, "reparameterize", None)) and not module.inference_mode
    ]


@pytest.mark.parametrize("config", MOBILE_CONFIGS)
def test_whole_video_segmentor_is_folded_without_changing_its_output(config):
    cfg = load_config(REPO_ROOT / "configs" / "mobile" / config)
    init_default_scope(cfg.default_scope)
    model = randomize_batchnorm(MODELS.build(cfg.model)).eval()
    clip = torch.randn(1, 2, 3, 64, 64)
    with torch.no_grad():
        before = model(clip)
    training_params = num_parameters(model)
    assert training_form_modules(model)

    assert reparameterize(model) is model
    with torch.no_grad():
        after = model(clip)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert training_form_modules(model) == []
    backbone = model.segmentor.backbone
    assert not any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules())
    assert num_parameters(model) < training_params

    state = {k: v.clone() for k, v in model.state_dict().items()}
    reparameterize(model)
    assert model.state_dict().keys() == state.keys()
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    with torch.no_grad():
        torch.testing.assert_close(model(clip), after, atol=0, rtol=0)


class Recorder(nn.Module):
    def __init__(self, name: str, calls: list[str], *children: nn.Module):
        super().__init__()
        self.name, self.calls = name, calls
        self.children_ = nn.ModuleList(children)

    def reparameterize(self) -> None:
        self.calls.append(self.name)


def test_walks_every_module_children_first():
    calls = []
    leaf_a, leaf_b = Recorder("a", calls), Recorder("b", calls)
    model = nn.Sequential(nn.Conv2d(1, 1, 1), Recorder("parent", calls, leaf_a, nn.ReLU(), leaf_b))
    assert reparameterize(model) is model
    assert sorted(calls) == ["a", "b", "parent"]
    assert calls[-1] == "parent"


def test_model_without_reparameterizable_parts_is_untouched():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    reparameterize(model)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
