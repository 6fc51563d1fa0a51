import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_tool(name: str):
    """tools/<name>.py as a module (:func:`tests.helpers.load_script`)."""
    return load_script(f"tools/{name}.py")


def smoke_options(data_root: Path, extra: list[str] | None = None) -> list[str]:
    """``--cfg-options`` values pointing the smoke config at a generated synthetic set."""
    # The recipes train on a ConcatDataset whose first member is the synthetic set.
    options = [f"train_dataloader.dataset.datasets.0.data_root={data_root}"]
    options += [f"{loader}.dataset.data_root={data_root}" for loader in ("val_dataloader", "test_dataloader")]
    return [*options, *(extra or [])]


def run_tool(
    tool: str, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Runs tools/<tool> in a fresh interpreter (as a user would) and returns its output."""
    command = [sys.executable, str(REPO_ROOT / "tools" / tool), *args]
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, env=env or dict(os.environ), timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{tool} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result
