"""End-to-end runs of tools/train.py and tools/test.py on the tiny smoke config (marked slow; CI runs them)."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from steadyseg.apis.inference import load_model
from steadyseg.apis.training import last_checkpoint
from tests.tools.helpers import run_tool, smoke_options

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
SMOKE_CONFIG = str(REPO_ROOT / "configs/smoke/per_frame_tiny.py")


def process_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_train_then_test_writes_checkpoint_logs_and_metrics(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    result = run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(work_dir),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set),
    )
    checkpoint = work_dir / "iter_6.pth"
    assert checkpoint.is_file()
    assert (work_dir / "last_checkpoint").read_text() == "iter_6.pth", (
        "relative: a copied work dir resumes itself"
    )
    assert last_checkpoint(work_dir) == checkpoint
    assert not list(work_dir.glob(".*.tmp")), "no temporary checkpoint files are left behind"
    logs = list(work_dir.glob("*/vis_data/scalars.json"))
    assert logs and "loss" in logs[0].read_text()
    # Quiet console: the config dump and the hook order are in the log file only, known warnings nowhere.
    console = result.stdout + result.stderr
    log_file = next(work_dir.glob("*/*.log")).read_text()
    for block in ("Config:", "System environment:", "Hooks will be executed"):
        assert block not in console and block in log_file
    for noise in ("MultiScaleDeformableAttention", "build_loss", "FileClient", "Failed to search registry"):
        assert noise not in console + log_file
    assert len(console.splitlines()) < 40

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
    # Readable by whoever may read the logs and videos (the umask's mode), not only by their owner.
    for path in (checkpoint, out):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~process_umask()


def adam_steps(checkpoint: Path) -> set:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["optimizer"]["state"]
    return {int(s["step"]) for s in state.values()}


def checkpoint_pointer_iter(work_dir: Path) -> int:
    pointer = work_dir / "last_checkpoint"
    if not pointer.exists():
        return 0
    text = pointer.read_text().strip()
    return int(Path(text).stem.split("_")[1]) if text else 0


def test_resume_after_interruption_continues_iterations_and_optimizer(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "work"
    # max_iters reaches train_cfg.max_iters, val_interval and the scheduler's end (all computed from it).
    options = smoke_options(tiny_synthetic_set, ["max_iters=12"])
    command = [sys.executable, str(REPO_ROOT / "tools/train.py"), SMOKE_CONFIG, "--work-dir", str(work_dir)]
    process = subprocess.Popen(
        command + ["--cfg-options", *options],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    # The pointer, not the checkpoint file, is what --resume reads, and it is written after the file.
    while checkpoint_pointer_iter(work_dir) < 4 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = checkpoint_pointer_iter(work_dir)
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


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a tool prints for an error in its input (no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[-1]


@pytest.fixture(scope="module")
def per_frame_checkpoint(tmp_path_factory) -> Path:
    """Random weights of the smoke config's (per-frame) model, saved as a checkpoint."""
    path = tmp_path_factory.mktemp("checkpoint") / "per_frame.pth"
    torch.save({"state_dict": load_model(SMOKE_CONFIG, None).state_dict()}, path)
    return path


def test_max_iters_override_and_resume_in_a_copied_work_dir(tiny_synthetic_set, tmp_path):
    original = tmp_path / "original"
    run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(original),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set, ["max_iters=2"]),
    )
    # Before, train_cfg.max_iters kept the config's 6 (computed from max_iters when the file was read).
    assert sorted(p.name for p in original.glob("*.pth")) == ["iter_2.pth"]
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    result = run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(copy),
        "--resume",
        "--cfg-options",
        *smoke_options(tiny_synthetic_set, ["max_iters=4"]),
    )
    assert f"Loaded checkpoint {copy / 'iter_2.pth'}" in result.stdout
    assert "resumed epoch: 0, iter: 2" in result.stdout
    assert (copy / "iter_4.pth").is_file() and not (original / "iter_4.pth").exists()


def test_resume_without_a_checkpoint_is_a_usage_error(tiny_synthetic_set, tmp_path):
    work_dir = tmp_path / "mistyped"
    result = run_tool("train.py", SMOKE_CONFIG, "--work-dir", str(work_dir), "--resume", check=False)
    assert result.returncode == 2
    assert f"--resume: {work_dir / 'last_checkpoint'} not found: no checkpoint to resume" in result.stderr
    assert not work_dir.exists(), "refused before anything was built"
    # resume = True from a config or --cfg-options: the Runner itself refuses.
    options = smoke_options(tiny_synthetic_set, ["resume=True"])
    result = run_tool(
        "train.py", SMOKE_CONFIG, "--work-dir", str(work_dir), "--cfg-options", *options, check=False
    )
    assert error_line(result) == (
        f"error: {work_dir / 'last_checkpoint'} not found: no checkpoint to resume in work dir {work_dir}"
    )


def test_bad_cfg_options_are_refused(tmp_path):
    result = run_tool(
        "train.py", SMOKE_CONFIG, "--work-dir", str(tmp_path), "--cfg-options", "max_iters", check=False
    )
    assert result.returncode == 2 and "argument --cfg-options: 'max_iters' is not KEY=VALUE" in result.stderr
    result = run_tool(
        "train.py", SMOKE_CONFIG, "--work-dir", str(tmp_path), "--cfg-options", "val_interval=3", check=False
    )
    assert error_line(result).startswith(
        f"error: {SMOKE_CONFIG}: --cfg-options val_interval: no config value uses"
    )


def test_misspelled_component_key_names_config_and_type(tmp_path):
    result = run_tool(
        "train.py",
        SMOKE_CONFIG,
        "--work-dir",
        str(tmp_path),
        "--cfg-options",
        "model.segmentor.backbone.out_indice=[1]",
        check=False,
    )
    assert error_line(result) == (
        f"error: {SMOKE_CONFIG}: unknown key 'out_indice' in model.segmentor.backbone "
        "(type='StridedMobileNetV3') (did you mean 'out_indices'?)"
    )


def test_checkpoint_of_another_model_or_truncated_is_one_error_and_no_metrics(
    tiny_synthetic_set, per_frame_checkpoint, tmp_path
):
    out = tmp_path / "metrics.json"
    options = ["--out", str(out), "--cfg-options", *smoke_options(tiny_synthetic_set), "extra_test_sets=[]"]
    convgru = str(REPO_ROOT / "configs/vss/mobilenetv3_lraspp_convgru_synthetic_256.py")
    result = run_tool(
        "test.py", convgru, str(per_frame_checkpoint), "--work-dir", str(tmp_path), *options, check=False
    )
    # Before, it scored the ConvGRU model's random weights and wrote the metrics.
    assert error_line(result).startswith(
        f"error: checkpoint {per_frame_checkpoint} does not fit the model of {convgru}: "
    )
    truncated = tmp_path / "iter_4.pth"
    truncated.write_bytes(per_frame_checkpoint.read_bytes()[:4096])
    result = run_tool(
        "test.py", SMOKE_CONFIG, str(truncated), "--work-dir", str(tmp_path), *options, check=False
    )
    assert error_line(result).startswith(f"error: checkpoint {truncated} cannot be read")
    assert not out.exists()


def test_partial_load_fine_tunes_from_the_weights_that_fit(
    tiny_synthetic_set, per_frame_checkpoint, tmp_path
):
    # A narrower decoder: its weights no longer fit, the backbone's still do.
    options = smoke_options(
        tiny_synthetic_set,
        [f"load_from={per_frame_checkpoint}", "model.segmentor.decode_head.channels=32", "max_iters=1"],
    )
    command = ["train.py", SMOKE_CONFIG, "--work-dir", str(tmp_path / "work"), "--cfg-options", *options]
    line = error_line(run_tool(*command, check=False))
    assert line.startswith(
        f"error: checkpoint {per_frame_checkpoint} does not fit the model of {SMOKE_CONFIG}: "
    )
    assert "mis-shaped (checkpoint vs model): segmentor.decode_head." in line and "--partial-load" in line

    result = run_tool(*command, "--partial-load")
    assert f"partial load of {per_frame_checkpoint}: " in result.stdout
    assert "weights loaded; skipped " in result.stdout and "mis-shaped" in result.stdout
    assert (tmp_path / "work" / "iter_1.pth").is_file()


def test_truncated_frame_stops_the_test_naming_the_file(tiny_synthetic_set, per_frame_checkpoint, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_synthetic_set, data)
    frame = sorted((data / "val" / "JPEGImages").glob("*/00003.jpg"))[0]
    frame.write_bytes(frame.read_bytes()[:-300])
    out = tmp_path / "metrics.json"
    result = run_tool(
        "test.py",
        SMOKE_CONFIG,
        str(per_frame_checkpoint),
        "--work-dir",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--cfg-options",
        *smoke_options(data),
        check=False,
    )
    assert f"{frame}: cannot decode image: truncated or corrupt JPEG" in error_line(result)
    assert not out.exists()


@pytest.fixture(scope="module")
def recurrent_smoke(tiny_synthetic_set, tmp_path_factory):
    """The smoke config with the ConvGRU recipe's model (written out as one flat file) and random weights whose
    person bias is moved so that about half of a validation frame is "person": the masks then have long
    boundaries, where what the state carries shows in the predictions."""
    import cv2
    from mmengine.registry import init_default_scope

    from steadyseg.config import load_config
    from steadyseg.registry import MODELS

    folder = tmp_path_factory.mktemp("recurrent")
    cfg = load_config(SMOKE_CONFIG)
    cfg.model = load_config(REPO_ROOT / "configs/vss/mobilenetv3_lraspp_convgru_synthetic_256.py").model
    config = folder / "convgru_tiny.py"
    cfg.dump(str(config))
    init_default_scope("steadyseg")
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    frame = cv2.imread(str(sorted((tiny_synthetic_set / "val/JPEGImages").rglob("*.jpg"))[0]))[..., ::-1]
    clip = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        logits = model.step(model.data_preprocessor({"inputs": [clip]})["inputs"][:, 0])[0]["logits"]
        model.decode_head.conv_seg.bias[1] -= float((logits[0, 1] - logits[0, 0]).median())
    checkpoint = folder / "convgru.pth"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    return str(config), str(checkpoint)


def evaluate_in_processes(processes, config, checkpoint, data_root, out, port, extra=()):
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), f"--nproc_per_node={processes}", f"--master_port={port}"]
    command += [str(REPO_ROOT / "tools/test.py"), config, checkpoint, "--out", str(out)]
    command += ["--launcher", "pytorch" if processes > 1 else "none"]
    command += ["--work-dir", str(out.parent / f"work_{processes}"), "--cfg-options"]
    command += smoke_options(data_root, list(extra))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_process_evaluation_of_a_recurrent_model_equals_one_process(
    tiny_synthetic_set, recurrent_smoke, tmp_path
):
    """Two videos of two 4-frame chunks each: with whole videos per rank and the state carried from chunk to
    chunk, two processes score exactly what one does."""
    config, checkpoint = recurrent_smoke
    one = evaluate_in_processes(1, config, checkpoint, tiny_synthetic_set, tmp_path / "one.json", 29541)
    two = evaluate_in_processes(2, config, checkpoint, tiny_synthetic_set, tmp_path / "two.json", 29543)
    assert {"synthetic/mIoU", "synthetic/J&F", "synthetic/VC8"} <= set(one)
    assert 0.2 < one["synthetic/aAcc"] < 0.8, "neither all person nor all background: the state can show"
    assert two == one
    # mmengine's DefaultSampler deals chunks round-robin: rank 0 gets the first chunk of each video, rank 1 the
    # second ones, which then start from an empty state. The scores change, so this test can tell.
    interleaved = evaluate_in_processes(
        2,
        config,
        checkpoint,
        tiny_synthetic_set,
        tmp_path / "interleaved.json",
        29545,
        extra=["test_dataloader.sampler.type=DefaultSampler", "test_dataloader.sampler.shuffle=False"],
    )
    assert interleaved["synthetic/J&F"] != one["synthetic/J&F"]


def test_train_then_test_a_video_instance_recipe_scores_synthetic_and_schoolgirls_tracks(
    tiny_synthetic_set, shared_data, tmp_path
):
    config = str(REPO_ROOT / "configs/vis/mobilenetv3_query_vis_synthetic_256.py")
    work_dir = tmp_path / "work"
    options = [
        *smoke_options(tiny_synthetic_set),
        f"train_dataloader.dataset.datasets.1.data_root={tiny_synthetic_set}",
        "train_dataloader.batch_size=2",
        "train_cfg.max_iters=2",
        "train_cfg.val_begin=3",
        "default_hooks.checkpoint.interval=2",
    ]
    run_tool("train.py", config, "--work-dir", str(work_dir), "--cfg-options", *options)
    out = tmp_path / "metrics.json"
    run_tool(
        "test.py",
        config,
        str(work_dir / "iter_2.pth"),
        "--work-dir",
        str(work_dir),
        "--out",
        str(out),
        "--cfg-options",
        *smoke_options(tiny_synthetic_set),
    )
    metrics = json.loads(out.read_text())
    for prefix in ("synthetic", "schoolgirls"):
        assert 0.0 <= metrics[f"{prefix}/AP"] <= 1.0 and metrics[f"{prefix}/IDSW"] >= 0
        assert f"{prefix}/HOTA" in metrics and f"{prefix}/IDF1" in metrics
