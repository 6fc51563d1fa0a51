"""tools/export.py on a matting model: the streaming step with its four states as I/O, at a fixed downsample ratio."""

import json
from types import SimpleNamespace

import onnx
import onnxruntime as ort
import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.apis.inference import load_model
from steadyseg.deploy.export import ExportError, export_model, fix_downsample_ratio
from tests.tools.helpers import REPO_ROOT, load_tool
from tests.tools.matting_helpers import write_matting_config

STATES = [f"decoder_hidden_stride{s}" for s in (2, 4, 8, 16)]
# Half of each recurrent block of the tiny config's decoder (block_channels 16, 8, 8, 8), finest first.
STATE_CHANNELS = (4, 4, 8, 8)
PER_FRAME_CONFIG = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


@pytest.fixture
def config(tmp_path):
    """A matting config that leaves the ratio to the frame size (downsample_ratio=None)."""
    return write_matting_config(tmp_path)


def test_cli_exports_the_step_with_the_frame_and_four_states_at_a_fixed_ratio(config, tmp_path):
    out = tmp_path / "matting.onnx"
    torch.manual_seed(0)
    args = [str(config), "none", "--format", "onnx", "--shape", "64", "96", "--out", str(out)]
    report = load_tool("export").main([*args, "--downsample-ratio", "0.5", "--check-frames", "3"])
    assert json.loads(out.with_name("matting.onnx.json").read_text()) == report
    assert report["downsample_ratio"] == 0.5
    assert report["output_names"] == ["alpha", "fgr", "seg_logits"] and report["state_names"] == STATES
    # The decoder computes at 32 x 48: each state is ceil(32 / s) x ceil(48 / s).
    assert report["inputs"] == {
        "frame": [1, 3, 64, 96],
        **{
            name: [1, c, -(-32 // s), -(-48 // s)]
            for name, c, s in zip(STATES, STATE_CHANNELS, (2, 4, 8, 16))
        },
    }
    assert list(report["outputs"]) == ["alpha", "fgr", "seg_logits", *(f"next_{name}" for name in STATES)]
    assert report["outputs"]["alpha"] == [1, 1, 64, 96] and report["outputs"]["fgr"] == [1, 3, 64, 96]
    assert report["check"]["max_abs_diff"] <= 1e-4
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["frame", *STATES]
    assert report["exporter"] == "dynamo"
    # No size is computed in the graph: the ratio is a constant scale, not a shape tensor.
    assert "Shape" not in {node.op_type for node in graph.node}
    session = ort.InferenceSession(str(out))
    assert [o.name for o in session.get_outputs()] == list(report["outputs"])


def test_a_matting_config_without_a_ratio_needs_the_option(config, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool("export").main([str(config), "none", "--format", "onnx"])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2
    # argparse's one error line (after the usage line), naming the config and the option.
    assert f": error: {config}: the model (VideoMattingModel) chooses its downsample ratio per frame" in error
    assert "pass --downsample-ratio" in error


@pytest.mark.parametrize(
    ("config_name", "ratio", "message"),
    [
        ("matting", "1.5", "argument --downsample-ratio: must be in (0, 1], got 1.5"),
        ("per-frame", "0.5", "argument --downsample-ratio: "),
    ],
)
def test_a_ratio_that_cannot_apply_is_a_usage_error(config_name, ratio, message, config, capsys):
    path = config if config_name == "matting" else PER_FRAME_CONFIG
    with pytest.raises(SystemExit) as exit_info:
        load_tool("export").main([str(path), "none", "--format", "onnx", "--downsample-ratio", ratio])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in error
    if config_name == "per-frame":
        assert "computes at no downsample ratio; the option applies to matting models" in error


def test_fix_downsample_ratio(tmp_path):
    chooser = load_model(write_matting_config(tmp_path), None)
    # No ratio given: the one the model chooses for the export size, min(1, 512 / long side), made fixed.
    assert fix_downsample_ratio(chooser, None, (1080, 1920)) == pytest.approx(512 / 1920)
    assert (
        chooser.downsample_ratio == pytest.approx(512 / 1920)
        and chooser.ratio_for(64, 96) == chooser.downsample_ratio
    )
    # A model's own fixed ratio is kept; a given one replaces it.
    assert fix_downsample_ratio(chooser, None, (64, 96)) == pytest.approx(512 / 1920)
    assert fix_downsample_ratio(chooser, 0.25, (64, 96)) == 0.25 and chooser.internal_size(64, 96) == (16, 24)
    with pytest.raises(ValueError, match="downsample_ratio must be in"):
        fix_downsample_ratio(chooser, 0.0, (64, 96))
    segmentation = SimpleNamespace(output_names=("logits",))
    assert fix_downsample_ratio(segmentation, None, (64, 96)) is None
    with pytest.raises(ExportError, match="has no downsample_ratio to fix"):
        fix_downsample_ratio(segmentation, 0.5, (64, 96))


def test_coreml_export_names_the_frame_and_four_states(config, tmp_path):
    pytest.importorskip("coremltools", reason="Core ML export needs coremltools")
    report = export_model(
        load_model(config, None), tmp_path / "m.mlpackage", fmt="coreml", shape=(64, 96), downsample_ratio=0.5
    )
    assert list(report["check"]["spec_inputs"]) == ["frame", *STATES]
    assert report["check"]["spec_outputs"]["alpha"] == [1, 1, 64, 96]
    assert list(report["check"]["spec_outputs"]) == [
        "alpha",
        "fgr",
        "seg_logits",
        *(f"next_{n}" for n in STATES),
    ]
    assert report["downsample_ratio"] == 0.5
