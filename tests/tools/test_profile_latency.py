import json
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from steadyseg.apis.inference import load_model
from steadyseg.deploy import reparameterize
from steadyseg.deploy.profiler import (
    count_flops,
    load_quality,
    peak_activation_bytes,
    plot_latency_vs_quality,
    profile_model,
    summarize_times,
)
from tests.tools.helpers import REPO_ROOT, load_tool
from tests.tools.test_export import PER_FRAME_CONFIG, EMATestSegmentor, ParameterFreeSegmentor


class TwoBranchEMA(EMATestSegmentor):
    """Trains with two parallel 1x1 classifiers; ``reparameterize`` folds them into one (fewer parameters)."""

    def __init__(self):
        super().__init__()
        self.branch = nn.Conv2d(3, 2, 1)

    def classify(self, features):
        if self.branch is None:
            return self.classifier(features)
        return self.classifier(features) + self.branch(features)

    def reparameterize(self):
        if self.branch is not None:
            self.classifier.weight.data += self.branch.weight.data
            self.classifier.bias.data += self.branch.bias.data
            self.branch = None


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def test_summarize_times_hand_computed():
    summary = summarize_times([0.004, 0.001, 0.005, 0.002, 0.003])
    assert summary["runs"] == 5
    assert summary["median_ms"] == pytest.approx(3.0)
    assert summary["p25_ms"] == pytest.approx(2.0) and summary["p75_ms"] == pytest.approx(4.0)
    assert summary["iqr_ms"] == pytest.approx(2.0)
    assert summary["min_ms"] == pytest.approx(1.0) and summary["max_ms"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="no timings"):
        summarize_times([])


def test_flops_of_a_convolution_hand_computed():
    # 4 output channels x 8x8 positions x (3 input channels x 3x3 taps) multiply-adds; bias and ReLU uncounted.
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten())
    counts = count_flops(model, torch.randn(1, 3, 8, 8))
    assert counts["macs"] == 4 * 8 * 8 * 27
    assert counts["flops"] == 2 * counts["macs"]
    assert counts["flops_by_op"] == {"aten.convolution": 2 * 4 * 8 * 8 * 27}
    assert counts["uncounted_ops"] == {"aten.relu": 1}


class LearnedQueries(nn.Module):
    """A parameter handed as-is to a submodule, as a query head hands its learned queries to attention."""

    def __init__(self):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(5, 3))
        self.project = nn.Linear(3, 2)

    def forward(self, frame):
        return self.project(self.queries).sum() + frame.mean()


def test_flops_of_a_model_handing_a_parameter_to_a_submodule():
    model = LearnedQueries()
    counts = count_flops(model, torch.randn(1, 3, 4, 4))
    # 5 queries x 2 outputs x 3 inputs multiply-adds in the projection.
    assert counts["flops_by_op"] == {"aten.addmm": 2 * 5 * 2 * 3}
    assert all(parameter.requires_grad for parameter in model.parameters())


def test_peak_activation_bytes_of_an_elementwise_chain():
    # Each op allocates one 4096-float output and its input is freed right after: at most two live at once.
    model = nn.Sequential(nn.Hardswish(), nn.Sigmoid(), nn.Tanh(), nn.Sigmoid())
    assert peak_activation_bytes(model, torch.randn(1, 4, 32, 32)) == 2 * 4096 * 4


def test_profile_counts_the_reparameterized_model_and_times_every_runtime():
    model = TwoBranchEMA()
    record = profile_model(
        model, shape=(32, 32), threads=[1, 2], runtimes=["torch", "torch-cl", "onnxruntime"], runs=5, warmup=1
    )
    assert model.branch is None
    assert record["params"] == sum(p.numel() for p in model.parameters()) == 2 * 3 + 2
    assert record["input"]["state"] == [[1, 3, 16, 16], [1, 1, 1, 1]]
    assert record["input"]["state_frames_before_timing"] == 3 and record["input"]["recurrent"]
    assert record["flops"]["flops"] == 2 * record["flops"]["macs"] == 2 * (2 * 3 * 32 * 32)
    assert record["peak_activation_bytes"] > 0
    assert [(row["runtime"], row["threads"]) for row in record["latency"]] == [
        ("torch", 1),
        ("torch", 2),
        ("torch-cl", 1),
        ("torch-cl", 2),
        ("onnxruntime", 1),
        ("onnxruntime", 2),
    ]
    for row in record["latency"]:
        assert row["runs"] == 5 and row["median_ms"] > 0 and row["iqr_ms"] >= 0
        assert row["p25_ms"] <= row["median_ms"] <= row["p75_ms"]
    onnx_rows = [row for row in record["latency"] if row["runtime"] == "onnxruntime"]
    assert all(row["exporter"] == "dynamo" and row["check_max_abs_diff"] <= 1e-4 for row in onnx_rows)


def test_cli_record_table_and_plot_for_the_per_frame_config(tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"davis_people/J&F": 0.61, "synthetic/mIoU": 0.8}))
    earlier = tmp_path / "earlier.json"
    earlier.write_text(
        json.dumps(
            {
                "config": "configs/baselines/other.py",
                "latency": [{"runtime": "torch", "threads": 1, "median_ms": 3.0}],
                "quality": [{"file": "m.json", "key": "davis_people/J&F", "value": 0.5}],
            }
        )
    )
    out, plot = tmp_path / "profile.json", tmp_path / "plot.png"
    args = [str(PER_FRAME_CONFIG), "--shape", "64", "64", "--runtimes", "torch", "torch-cl", "--runs", "5"]
    args += ["--warmup", "1", "--out", str(out), "--metrics", str(metrics), "--compare", str(earlier)]
    load_tool("profile_latency").main([*args, "--plot", str(plot)])

    record = json.loads(out.read_text())
    model = reparameterize(load_model(PER_FRAME_CONFIG, None))
    assert record["params"] == sum(p.numel() for p in model.parameters())
    assert record["config"] == str(PER_FRAME_CONFIG) and record["checkpoint"] is None
    assert record["input"] == {
        "frame": [1, 3, 64, 64],
        "frame_normalized": True,
        "state": [],
        "state_frames_before_timing": 3,
        "recurrent": False,
    }
    assert record["flops"]["flops"] == 2 * record["flops"]["macs"] > 0
    assert "aten.convolution" in record["flops"]["flops_by_op"]
    assert "aten.hardswish_" in record["flops"]["uncounted_ops"]
    assert record["peak_activation_bytes"] > 64 * 64 * 2 * 4
    assert [row["runtime"] for row in record["latency"]] == ["torch", "torch-cl"]
    assert all(row["median_ms"] > 0 and row["iqr_ms"] >= 0 for row in record["latency"])
    assert record["commit"] is None or len(record["commit"]["sha"]) == 40
    assert record["machine"]["cpu_count"] >= 1 and record["versions"]["torch"] == torch.__version__
    assert record["quality"] == [{"file": str(metrics), "key": "davis_people/J&F", "value": 0.61}]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = capsys.readouterr().out
    assert "torch-cl" in table and "FLOPs = 2 x MACs" in table and "davis_people/J&F = 0.6100" in table


def test_plot_without_quality_is_an_error(tmp_path):
    record = {"config": "a.py", "latency": [{"runtime": "torch", "threads": 1, "median_ms": 1.0}]}
    with pytest.raises(ValueError, match="no profile record has both latency and quality"):
        plot_latency_vs_quality([record], tmp_path / "p.png")
    with pytest.raises(SystemExit, match="--plot needs quality"):
        load_tool("profile_latency").main([str(PER_FRAME_CONFIG), "--plot", str(tmp_path / "p.png")])


def test_metrics_file_errors_name_the_file(tmp_path):
    metrics = tmp_path / "m.json"
    metrics.write_text(json.dumps({"synthetic/mIoU": 0.8}))
    with pytest.raises(KeyError, match=r"m.json: no metric 'davis_people/J&F'; it has \['synthetic/mIoU'\]"):
        load_quality([metrics], "davis_people/J&F")
    with pytest.raises(FileNotFoundError, match="nope.json: metrics file does not exist"):
        load_quality([tmp_path / "nope.json"], "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(threads=[0]), "thread counts must be >= 1"),
        (dict(runtimes=["tflite"]), "unknown runtime"),
        (dict(runs=0), "need runs >= 1"),
        (dict(shape=(64, 0)), "--shape must be two sizes"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        profile_model(EMATestSegmentor(), **{"shape": (16, 16), **kwargs})


def test_inference_only_model_is_timed_in_torch_only():
    record = profile_model(ParameterFreeSegmentor(), shape=(16, 16), runs=3, warmup=0)
    assert record["params"] == 0 and record["flops"] is None and record["latency"][0]["median_ms"] > 0
    with pytest.raises(ValueError, match="only the 'torch' runtime"):
        profile_model(ParameterFreeSegmentor(), shape=(16, 16), runtimes=["onnxruntime"])


def test_unknown_runtime_is_rejected_by_the_cli(capsys):
    with pytest.raises(SystemExit):
        load_tool("profile_latency").parse_args([str(PER_FRAME_CONFIG), "--runtimes", "tflite"])
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_no_tool_is_named_after_a_standard_library_module():
    # A script puts its own folder first on sys.path, so a tools/profile.py was what cProfile's `import profile`
    # (run by torch when it exports) found instead of the standard library's module.
    tools = {path.stem for path in (REPO_ROOT / "tools").glob("*.py")}
    assert "profile_latency" in tools
    assert tools & sys.stdlib_module_names == set()
