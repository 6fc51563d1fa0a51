import pytest
from mmengine.registry import init_default_scope

from steadyseg.config import ConfigError, load_config
from steadyseg.registry import MODELS


def write(path, text):
    path.write_text(text)
    return path


def test_unknown_top_level_key_names_key_and_suggests(tmp_path):
    cfg = write(tmp_path / "typo.py", "model = dict(type='X')\ntrian_dataloader = dict()\n")
    with pytest.raises(
        ConfigError,
        match=r"typo.py: unknown config key 'trian_dataloader' \(did you mean 'train_dataloader'\?\)",
    ):
        load_config(cfg)


def test_private_helpers_and_conventional_variables_are_allowed(tmp_path):
    cfg = write(
        tmp_path / "ok.py",
        "_my_helper = 3\nnorm_cfg = dict(type='BN')\nmodel = dict(type='X', n=_my_helper)\n",
    )
    assert load_config(cfg).model.n == 3


def test_cfg_options_are_checked_too(tmp_path):
    cfg = write(tmp_path / "ok.py", "model = dict(type='X')\n")
    with pytest.raises(ConfigError, match="unknown config key 'optim_wraper'"):
        load_config(cfg, {"optim_wraper": {}})


def test_unknown_key_inside_a_component_names_the_key(repo_root):
    cfg = load_config(repo_root / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py")
    cfg.model.segmentor.decode_head.chanels = 8
    init_default_scope("steadyseg")
    with pytest.raises(TypeError, match="chanels"):
        MODELS.build(cfg.model)


def test_base_inheritance_is_limited_to_two_levels(tmp_path):
    write(tmp_path / "a.py", "model = dict(type='X')\n")
    write(tmp_path / "b.py", "_base_ = './a.py'\n")
    write(tmp_path / "c.py", "_base_ = './b.py'\n")
    write(tmp_path / "d.py", "_base_ = './c.py'\n")
    assert load_config(tmp_path / "c.py").model.type == "X"
    with pytest.raises(ConfigError, match="deeper than 2 levels"):
        load_config(tmp_path / "d.py")


def test_missing_config_and_missing_base(tmp_path):
    with pytest.raises(ConfigError, match="nope.py does not exist"):
        load_config(tmp_path / "nope.py")
    cfg = write(tmp_path / "e.py", "_base_ = ['./gone.py']\n")
    with pytest.raises(ConfigError, match="gone.py does not exist"):
        load_config(cfg)
