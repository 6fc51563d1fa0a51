"""The README's main job: train the mobile people model on real and synthetic people, evaluate it on real video.

1. Generates the synthetic set (``tools/make_synthetic.py``) unless it is already complete: procedural figures
   and, with ``../shared/data``, real people cut out of the training clips of the real-people split
   (``steadyseg.datasets.real_people``) and COCO photos, over real backgrounds and person-free video.
2. Trains the people model on that set for a few CPU minutes (about 9 minutes on 2 cores in all): with the
   shared data, ``configs/vss/mobilenetv3_lraspp_per_frame_distill_mediapipe_synthetic_256.py``, distilled from
   MediaPipe's selfie segmenter on unlabelled people video as well (the best recipe on the real clips over 3
   seeds, docs/benchmarks.md); without it, ``configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py``.
3. Evaluates on the synthetic validation clips and on the split's scored DAVIS people clips, none of which gave
   a training frame; metrics keyed by dataset (``synthetic/mIoU``, ``davis_people/J&F``, ...).
4. Writes ``<work-dir>/metrics.json`` and an overlay video of a real people video it never saw (a synthetic
   clip without the shared data).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from steadyseg.apis.inference import infer_video, load_model
from steadyseg.apis.training import (
    build_runner,
    evaluate_checkpoint,
    last_checkpoint,
    prepare_config,
    run_cli,
)
from steadyseg.config import load_config, shared_data_root
from steadyseg.datasets.real_people import REAL_PEOPLE_SPLIT, generator_arguments
from steadyseg.engine import write_atomically
from steadyseg.evaluation import metrics_json

REPO_ROOT = Path(__file__).resolve().parents[1]
PER_FRAME_CONFIG = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_synthetic_256.py"
DISTILLED_CONFIG = REPO_ROOT / "configs/vss/mobilenetv3_lraspp_per_frame_distill_mediapipe_synthetic_256.py"
# What the distilled recipe reads from the shared data besides the cut-outs: its teacher and its unlabelled video.
DISTILLATION_DATA = ("mediapipe_selfie/selfie_segmentation.tflite", "people_videos/davis_unlabelled")


def default_config() -> Path:
    """The distilled recipe when its teacher and unlabelled video are in the shared data, else the per-frame one."""
    if all((shared_data_root() / path).exists() for path in DISTILLATION_DATA):
        return DISTILLED_CONFIG
    return PER_FRAME_CONFIG


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", help="default: the distilled recipe with the shared data, the per-frame recipe without"
    )
    parser.add_argument("--work-dir", default="work_dirs/demo")
    parser.add_argument(
        "--data-root", default="data/synthetic_people", help="synthetic set (generated if missing)"
    )
    parser.add_argument("--num-train", type=int, default=48, help="synthetic training videos")
    parser.add_argument("--num-val", type=int, default=8, help="synthetic validation videos")
    parser.add_argument("--iters", type=int, help="training iterations (default: the config's)")
    parser.add_argument("--overlay-frames", type=int, default=200, help="frames of the overlay video")
    return parser.parse_args(argv)


def ensure_synthetic_set(data_root: Path, num_train: int, num_val: int) -> None:
    if (data_root / "meta.json").is_file():
        return
    command = [sys.executable, str(REPO_ROOT / "tools/make_synthetic.py"), "--out", str(data_root)]
    command += [
        "--num-train",
        str(num_train),
        "--num-val",
        str(num_val),
        "--frames",
        "16",
        "--size",
        "256",
        "256",
    ]
    if (shared_data_root() / "davis_people").is_dir():
        command += generator_arguments(shared_data_root())
    subprocess.run(command, check=True)


def overlay_source(data_root: Path) -> Path:
    real_clip = shared_data_root() / REAL_PEOPLE_SPLIT["demo_video"]
    if real_clip.is_file():
        return real_clip
    meta = json.loads((data_root / "meta.json").read_text())
    video = meta["splits"]["val"][0]
    if meta["format"] == "mp4":
        return data_root / "val" / "videos" / f"{video}.mp4"
    return data_root / "val" / "JPEGImages" / video


def main(argv=None):
    args = parse_args(argv)
    args.config = args.config or str(default_config())
    work_dir = Path(args.work_dir)
    data_root = Path(args.data_root)
    ensure_synthetic_set(data_root, args.num_train, args.num_val)

    # The recipe trains on a ConcatDataset whose first member is the synthetic set.
    options = {
        "train_dataloader.dataset.datasets.0.data_root": str(data_root),
        "val_dataloader.dataset.data_root": str(data_root),
        "test_dataloader.dataset.data_root": str(data_root),
    }
    if args.iters:
        # The schedule's helper variable: the loop, the LR schedule and validation all follow it.
        options["max_iters"] = args.iters
    with_davis = (shared_data_root() / "davis_people").is_dir()
    if not with_davis:
        print(f"{shared_data_root()} not found: evaluating on synthetic clips only")

    def runner_config():
        # Each Runner gets a freshly prepared config (its own visualizer name, see prepare_config).
        cfg = load_config(args.config, options)
        if not with_davis:
            cfg.extra_test_sets = []
        return prepare_config(cfg, args.config, str(work_dir))

    started = time.time()
    build_runner(runner_config()).train()
    train_minutes = (time.time() - started) / 60
    checkpoint = last_checkpoint(work_dir)
    metrics = evaluate_checkpoint(runner_config(), str(checkpoint))

    model = load_model(args.config, checkpoint)
    overlay = infer_video(
        model, overlay_source(data_root), work_dir / "videos", max_frames=args.overlay_frames
    )
    record = {
        "config": str(args.config),
        "checkpoint": str(checkpoint),
        "train_minutes": round(train_minutes, 2),
        "metrics": metrics,
        "overlay_video": overlay["overlay_video"],
        "mask_video": overlay["mask_video"],
    }
    text = metrics_json(record)
    write_atomically(work_dir / "metrics.json", text.encode())
    print(text)


if __name__ == "__main__":
    run_cli(main)
