"""tools/demo.py, the README's main job (`make demo`), end to end at a tiny budget (marked slow; CI runs it)."""

import json
import os
import subprocess
import sys

import pytest

from steadyseg.apis.video_frames import iter_video_frames
from tests.tools.helpers import REPO_ROOT, load_tool

pytestmark = pytest.mark.slow


def test_demo_trains_evaluates_on_real_clips_and_writes_the_overlay_from_any_folder(shared_data, tmp_path):
    work = tmp_path / "work"
    command = [sys.executable, str(REPO_ROOT / "tools/demo.py"), "--work-dir", str(work)]
    # Past the recipe's 20 warm-up iterations, the least budget its schedule takes.
    command += ["--data-root", str(tmp_path / "data"), "--num-train", "2", "--num-val", "1", "--iters", "25"]
    command += ["--overlay-frames", "4"]
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ), timeout=900
    )
    assert run.returncode == 0, run.stderr[-4000:]
    summary = json.loads((work / "metrics.json").read_text())
    # With the shared data the demo trains the distilled recipe (its teacher runs at every step).
    assert summary["config"].endswith("mobilenetv3_lraspp_per_frame_distill_mediapipe_synthetic_256.py")
    assert (work / "iter_25.pth").is_file() and summary["checkpoint"].endswith("iter_25.pth")
    for key in ("synthetic/mIoU", "davis_people/J&F", "davis_people/VC8"):
        assert 0.0 <= summary["metrics"][key] <= 1.0
    _, frames, _ = iter_video_frames(summary["overlay_video"])
    assert frames == 4


def test_without_the_shared_data_the_demo_trains_the_per_frame_recipe(monkeypatch, tmp_path):
    demo = load_tool("demo")
    monkeypatch.setenv("STEADYSEG_SHARED_DATA", str(tmp_path / "missing"))
    assert demo.default_config() == demo.PER_FRAME_CONFIG
