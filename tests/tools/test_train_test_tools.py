"""End-to-end runs of tools/train.py and tools/test.py on the tiny smoke config (marked slow; CI runs them)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.tools.helpers import run_tool, smoke_options

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
SMOKE_CONFIG = str(REPO_ROOT / "configs/smoke/per_frame_tiny.py")


def test_train_then_test_writes_checkpoint_logs_and_metrics(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(work_dir),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set),
    )
    checkpoint = work_dir / "iter_6.pth"
    assert checkpoint.is_file()
    assert Path((work_dir / "last_checkpoint").read_text().strip()) == checkpoint
    assert not list(work_dir.glob(".*.tmp")), "no temporary checkpoint files are left behind"
    logs = list(work_dir.glob("*/vis_data/scalars.json"))
    assert logs and "loss" in logs[0].read_text()

    out = tmp_path / "metrics.json"
    run_tool(
        "test.py",
        SMOKE_CONFIG,
        str(checkpoint),
        "--work-dir",
        str(work_dir),
        "--out",
        str(out),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set),
    )
    metrics = json.loads(out.read_text())
    for key in ("synthetic/mIoU", "synthetic/J&F", "synthetic/VC8"):
        assert key in metrics
    assert 0.0 <= metrics["synthetic/mIoU"] <= 1.0


def adam_steps(checkpoint: Path) -> set:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["optimizer"]["state"]
    return {int(s["step"]) for s in state.values()}


def test_resume_after_interruption_continues_iterations_and_optimizer(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    options = smoke_options(
        tiny_synthetic_set,
        ["train_cfg.max_iters=12", "train_cfg.val_interval=12", "param_scheduler.0.end=12"],
    )
    command = [sys.executable, str(REPO_ROOT / "tools/train.py"), SMOKE_CONFIG, "--work-dir", str(work_dir)]
    process = subprocess.Popen(
        command + ["--cfg-options", *options],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while not (work_dir / "iter_4.pth").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = int(Path((work_dir / "last_checkpoint").read_text().strip()).stem.split("_")[1])
    assert 4 <= interrupted_at < 12, "the run was interrupted part-way"

    result = run_tool(
        "train.py", SMOKE_CONFIG, "--work-dir", str(work_dir), "--resume", "--cfg-options", *options
    )
    assert f"resumed epoch: 0, iter: {interrupted_at}" in result.stdout + result.stderr
    final = work_dir / "iter_12.pth"
    meta = torch.load(final, map_location="cpu", weights_only=True)["meta"]
    assert meta["iter"] == 12
    assert adam_steps(final) == {12}, "optimizer state carried over: 12 AdamW steps in total"


def test_torchrun_two_processes_on_cpu(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [
        str(torchrun),
        "--nproc_per_node=2",
        "--master_port=29533",
        str(REPO_ROOT / "tools/train.py"),
        SMOKE_CONFIG,
        "--launcher",
        "pytorch",
        "--work-dir",
        str(work_dir),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = next(work_dir.glob("*/*.log")).read_text()
    assert "Distributed launcher: pytorch" in log and "Distributed training: True" in log
    assert "GPU number: 2" in log  # mmengine's label for the world size, on CPU too
    assert (work_dir / "iter_6.pth").is_file()


def test_wandb_switch_logs_offline(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB")}
    env["WANDB_SILENT"] = "true"
    run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(work_dir),
        "--wandb",
        "--cfg-options",
        *smoke_options(tiny_synthetic_set, ["train_cfg.max_iters=2", "train_cfg.val_interval=2"]),
        env=env,
    )
    runs = list((work_dir / "wandb").glob("offline-run-*"))
    assert runs, "an offline wandb run is written into the work dir"


def test_amp_without_gpu_is_one_clear_error(tiny_synthetic_set, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = run_tool("train.py", SMOKE_CONFIG, "--amp", "--work-dir", str(tmp_path), check=False)
    assert result.returncode != 0
    assert "--amp needs a CUDA GPU" in result.stderr
