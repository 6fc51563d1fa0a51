import pytest
from mmengine.registry import init_default_scope

from steadyseg.apis.training import build_runner, prepare_config
from steadyseg.config import ConfigError, load_config, naming_config_errors, shared_data_root
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


def test_base_errors_name_the_leaf_config(tmp_path):
    write(tmp_path / "a.py", "model = dict(type='X')\n")
    write(tmp_path / "b.py", "_base_ = './a.py'\n")
    write(tmp_path / "c.py", "_base_ = './b.py'\n")
    leaf = write(tmp_path / "d.py", "_base_ = './c.py'\n")
    with pytest.raises(
        ConfigError, match=rf"^{leaf}: .* deeper than 2 levels \(d.py -> c.py -> b.py -> a.py\)"
    ):
        load_config(leaf)
    write(tmp_path / "f.py", "_base_ = './gone.py'\n")
    leaf = write(tmp_path / "g.py", "_base_ = './f.py'\n")
    with pytest.raises(ConfigError, match=rf"^{leaf}: .*gone.py does not exist \(a _base_ of .*f.py\)"):
        load_config(leaf)


SMOKE = "configs/smoke/per_frame_tiny.py"


def test_helper_variable_override_reaches_every_field_computed_from_it(repo_root):
    cfg = load_config(repo_root / SMOKE, {"max_iters": 2})
    assert cfg.train_cfg.max_iters == 2 and cfg.train_cfg.val_interval == 2
    assert cfg.param_scheduler[0].end == 2
    # A helper set in a base file and read there and in the leaf.
    cfg = load_config(repo_root / SMOKE, {"data_root": "/elsewhere"})
    assert cfg.train_dataloader.dataset.datasets[0].data_root == "/elsewhere"
    assert cfg.val_dataloader.dataset.data_root == "/elsewhere"
    assert cfg.filename == str(repo_root / SMOKE), "the Runner names its config dump after the real file"


def test_override_of_a_key_that_another_copies_reaches_the_copy(tmp_path):
    write(
        tmp_path / "base.py",
        "val_dataloader = dict(batch_size=1, dataset=dict(data_root='a', split='val'))\n",
    )
    leaf = write(
        tmp_path / "leaf.py",
        "_base_ = './base.py'\nval_dataloader = dict(num_workers=0)\ntest_dataloader = val_dataloader\n",
    )
    cfg = load_config(leaf, {"val_dataloader.dataset.data_root": "b"})
    assert cfg.val_dataloader.dataset == dict(data_root="b", split="val")
    assert cfg.test_dataloader.dataset.data_root == "b"
    assert cfg.test_dataloader.num_workers == 0


def test_override_that_would_change_nothing_is_refused(repo_root, tmp_path):
    # The smoke config sets train_cfg.val_interval from max_iters: its base's val_interval reaches nothing.
    with pytest.raises(
        ConfigError, match=r"per_frame_tiny.py: --cfg-options val_interval: no config value uses"
    ):
        load_config(repo_root / SMOKE, {"val_interval": 3})
    with pytest.raises(ConfigError, match="helper variable '_typo' is not set in the config"):
        load_config(repo_root / SMOKE, {"_typo": 3})
    # The value it already has is no change, so it is accepted.
    assert load_config(repo_root / SMOKE, {"val_interval": 400}).train_cfg.val_interval == 6


def test_override_into_a_partial_child_dict_and_a_list(tmp_path):
    write(tmp_path / "base.py", "norm_cfg = dict(type='BN')\nmodel = dict(type='X', norm_cfg=norm_cfg)\n")
    leaf = write(
        tmp_path / "leaf.py",
        "_base_ = './base.py'\n_steps = [dict(type='A', size=1)]\nmodel = dict(steps=_steps)\n",
    )
    cfg = load_config(leaf, {"norm_cfg.type": "SyncBN", "_steps.0.size": 4})
    assert cfg.model == dict(type="X", norm_cfg=dict(type="SyncBN"), steps=[dict(type="A", size=4)])


def test_misspelled_component_key_names_config_component_and_type(repo_root):
    cfg = load_config(repo_root / SMOKE, {"model.segmentor.backbone.out_indice": [1]})
    init_default_scope("steadyseg")
    with (
        pytest.raises(
            ConfigError,
            match=r"per_frame_tiny.py: unknown key 'out_indice' in model.segmentor.backbone "
            r"\(type='StridedMobileNetV3'\) \(did you mean 'out_indices'\?\)",
        ),
        naming_config_errors(cfg),
    ):
        MODELS.build(cfg.model)


def test_file_variables_point_at_the_original_config_when_overrides_are_evaluated(tmp_path):
    (tmp_path / "base.py").write_text("max_iters = 10\ntrain_cfg = dict(max_iters=max_iters)\n")
    (tmp_path / "leaf.py").write_text(
        '_base_ = "./base.py"\nmodel = dict(teacher=dict(config="{{ fileDirname }}/teacher.py"))\n'
    )
    cfg = load_config(tmp_path / "leaf.py", {"max_iters": 3})
    assert cfg.train_cfg.max_iters == 3
    assert cfg.model.teacher.config == f"{tmp_path}/teacher.py"


def test_shared_data_default_is_beside_the_checkout_from_any_working_directory(
    repo_root, tmp_path, monkeypatch
):
    # setenv first so that teardown restores the variable's state, as load_config sets its default.
    monkeypatch.setenv("STEADYSEG_SHARED_DATA", "unset below")
    monkeypatch.delenv("STEADYSEG_SHARED_DATA")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(repo_root / "configs/_base_/datasets/davis_people_test.py")
    data_root = cfg.extra_test_sets[0].dataloader.dataset.data_root
    assert data_root == str(repo_root.parent / "shared" / "data" / "davis_people")


def test_shared_data_variable_wins_over_the_default(repo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("STEADYSEG_SHARED_DATA", str(tmp_path))
    assert shared_data_root() == tmp_path
    cfg = load_config(repo_root / "configs/_base_/datasets/davis_people_test.py")
    assert cfg.extra_test_sets[0].dataloader.dataset.data_root == f"{tmp_path}/davis_people"


def test_a_training_shorter_than_the_warm_up_is_refused_naming_the_phase(repo_root, tmp_path):
    path = repo_root / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
    cfg = prepare_config(load_config(path, {"max_iters": 2}), str(path), str(tmp_path))
    with pytest.raises(
        ConfigError, match=r"param_scheduler\[1\] \(PolyLR\) begins at iteration 20 and ends at 2"
    ):
        build_runner(cfg).train()
