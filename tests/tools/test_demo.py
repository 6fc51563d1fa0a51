"""tools/demo.py, the README's main job (`make demo`), end to end at a tiny budget (marked slow; CI runs it)."""

import json
import os
import subprocess
import sys

import pytest

from steadyseg.apis.video_frames import iter_video_frames
from tests.tools.helpers import REPO_ROOT

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
    assert (work / "iter_25.pth").is_file() and summary["checkpoint"].endswith("iter_25.pth")
    for key in ("synthetic/mIoU", "davis_people/J&F", "davis_people/VC8"):
        assert 0.0 <= summary["metrics"][key] <= 1.0
    _, frames, _ = iter_video_frames(summary["overlay_video"])
    assert frames == 4
