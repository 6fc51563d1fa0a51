"""What the benchmarks under ``benchmarks/`` share: their targets, their summaries over seeds and the rule that
decides when a difference between two trained models counts, and training a recipe at a benchmark's budget."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from steadyseg.apis.training import build_runner, prepare_config
from steadyseg.config import ConfigError, load_config, shared_data_root
from steadyseg.datasets.real_people import REAL_PEOPLE_SPLIT
from steadyseg.deploy.profiler import environment

REPO_ROOT = Path(__file__).resolve().parents[2]
# The dataset type of tools/make_synthetic.py's output: a benchmark points every such member of a recipe's
# training set at the synthetic set it generated.
SYNTHETIC_DATASET = "SyntheticPeopleDataset"
# Fewer seeds than this and no difference between trained models counts: one run at a CPU budget is noise.
MIN_SEEDS = 3
# The real test sets are cut into clips as configs/_base_/datasets/davis_people_test.py cuts the DAVIS clips.
TEST_CLIP_LEN = 16


def record_header(benchmark: str, argv: list[str] | None, started: float, gpu: bool | None = None) -> dict:
    """What a benchmark's record begins with: its name, the command that made it (``argv``: the script's
    arguments, None for ``sys.argv``), commit, machine and library versions, the device its models trained on
    (``gpu``: whether CUDA; None for a benchmark that trains none) and the wall minutes since ``started``
    (``time.time()``)."""
    header = {
        "benchmark": benchmark,
        # Quoted as a shell needs it: model names have spaces ("per-frame + flow loss").
        "command": shlex.join([Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)]),
        **environment(),
    }
    if gpu is not None:
        header["device"] = torch.cuda.get_device_name() if gpu else "cpu"
    header["minutes"] = round((time.time() - started) / 60, 1)
    return header


def target(
    name: str, value: float, threshold: float, higher_is_better: bool, counts: bool | None = None
) -> dict:
    """One entry of a record's ``targets``: met when ``value`` is on the right side of ``threshold``. A target
    that compares trained models also passes ``counts`` (:func:`exceeds_spread` of the compared entries), kept in
    the entry; it is met only when the difference counts as well."""
    met = bool(value >= threshold if higher_is_better else value <= threshold)
    entry = {"name": name, "value": float(value), "threshold": float(threshold), "met": met}
    if counts is not None:
        entry.update(met=met and counts, counts=counts)
    return entry


def summarize_seeds(per_seed: list[dict]) -> dict:
    """Mean, standard deviation (ddof 1; 0 for one seed) and every seed's value of each metric."""
    summary = {}
    for key in per_seed[0]:
        values = [float(run[key]) for run in per_seed]
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        summary[key] = {"mean": float(np.mean(values)), "std": std, "values": values}
    return summary


def exceeds_spread(first: dict, second: dict) -> bool:
    """A difference of two :func:`summarize_seeds` entries counts only when both have at least
    :data:`MIN_SEEDS` seeds and the difference of the means exceeds both standard deviations."""
    if min(len(first["values"]), len(second["values"])) < MIN_SEEDS:
        return False
    difference = abs(first["mean"] - second["mean"])
    return difference > first["std"] and difference > second["std"]


def format_cell(stat: dict, digits: int) -> str:
    """``mean ± std`` of a :func:`summarize_seeds` entry (the mean alone for one seed)."""
    if stat["std"] == 0 and len(stat["values"]) == 1:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def format_targets(targets: list[dict]) -> str:
    lines = ["| target | value | threshold | met |", "|---|---|---|---|"]
    lines += [f"| {t['name']} | {t['value']:.4f} | {t['threshold']:.4f} | {t['met']} |" for t in targets]
    return "\n".join(lines)


def slug(name: str) -> str:
    """A model's folder name: ``ConvGRU (stride 32) + flow loss`` -> ``ConvGRU_stride_32_plus_flow_loss``."""
    return "_".join(name.replace("+", "plus").replace("(", "").replace(")", "").split())


def config_test_pipeline(cfg: Config) -> list:
    """The config's own test pipeline (its test dataloader's): what tools/test.py runs every test set through."""
    pipeline = (cfg.get("test_dataloader") or {}).get("dataset", {}).get("pipeline")
    if pipeline is None:
        raise ConfigError(
            f"{cfg.filename}: test_dataloader.dataset.pipeline is not set: no test pipeline to score with"
        )
    return pipeline


def first_frames(dataset: dict, num_frames: int | None) -> dict:
    """``dataset`` limited to the first ``num_frames`` frames of each video (None: every frame)."""
    return (
        dataset
        if num_frames is None
        else dict(type="FirstFramesDataset", dataset=dataset, num_frames=num_frames)
    )


def real_people_test_sets(
    pipeline: list,
    data: Path,
    max_frames: int | None = None,
    flicker_frames: int | None = None,
    split: dict = REAL_PEOPLE_SPLIT,
    evaluators: dict[str, list[dict]] | None = None,
) -> dict[str, dict]:
    """The three test sets of ``split`` (tools/test.py ``extra_test_sets`` entries: dataloader and evaluator),
    keyed by their metrics' prefix, every one read by the datasets through ``pipeline``.

    * ``davis_people``: the scored DAVIS clips; J, F, J&F, VC8 and flicker, plain and compensated with DIS flow
      of the frames at the model's input size (``max_frames`` of each clip).
    * ``person_free``: the negative clip, whose predicted person area is a false-positive rate.
    * ``people_videos``: the people videos without ground truth; flicker only (``flicker_frames`` of each).

    ``evaluators`` replaces the metrics of the sets it names (by prefix; e.g. a matting model's soft flicker).
    """
    davis = dict(
        type="DAVISDataset",
        data_root=str(data / "davis_people"),
        year=2016,
        test_mode=True,
        clip_len=TEST_CLIP_LEN,
        pipeline=pipeline,
    )
    people_videos = dict(
        type="VideoFolderDataset",
        data_root=str(data),
        videos=list(split["flicker_videos"]),
        clip_len=TEST_CLIP_LEN,
        pipeline=pipeline,
    )
    flicker = dict(type="FlickerMetric", flow_source="dis")
    metrics = {
        "davis_people": [
            dict(type="DAVISMetric"),
            dict(type="VideoConsistencyMetric", clip_nums=(8,)),
            flicker,
        ],
        "person_free": [dict(type="ForegroundAreaMetric")],
        "people_videos": [flicker],
        **(evaluators or {}),
    }
    datasets = {
        "davis_people": first_frames(dict(davis, sequences=list(split["eval_sequences"])), max_frames),
        "person_free": first_frames(dict(davis, sequences=[split["negative_sequence"]]), max_frames),
        "people_videos": first_frames(people_videos, flicker_frames),
    }
    return {
        prefix: dict(
            dataloader=dict(
                batch_size=1,
                num_workers=1,
                sampler=dict(type="VideoContiguousSampler"),
                dataset=datasets[prefix],
            ),
            evaluator=[dict(metric, prefix=prefix) for metric in metrics[prefix]],
        )
        for prefix in datasets
    }


def shared_data() -> Path:
    """The shared data folder, which must hold the real DAVIS people clips every benchmark scores."""
    root = shared_data_root()
    if not (root / "davis_people").is_dir():
        raise SystemExit(f"{root}: the real DAVIS people clips are needed (set STEADYSEG_SHARED_DATA)")
    return root


def seed_runs(
    name: str,
    config: Path,
    train_set: Path,
    iters: int,
    seeds: list[int],
    device: str,
    work: Path,
    score: Callable[..., dict],
) -> list[tuple[Path, dict]]:
    """``(checkpoint, metrics)`` of ``config`` trained on ``train_set`` once per seed (:func:`train_recipe`, in
    ``work/<slug(name)>/seed<seed>``) and scored by ``score(checkpoint=..., work_dir=...)``, printed as they come."""
    runs = []
    for seed in seeds:
        print(f"training {name}, seed {seed}, {iters} iterations")
        seed_dir = work / slug(name) / f"seed{seed}"
        checkpoint = train_recipe(config, train_set, seed_dir, iters, seed, device)
        metrics = score(checkpoint=checkpoint, work_dir=seed_dir)
        print(f"{name} (seed {seed}): " + ", ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
        runs.append((checkpoint, metrics))
    return runs


def make_synthetic_set(out: Path, options: list[str]) -> None:
    """Runs tools/make_synthetic.py with ``options`` into ``out``, unless a finished set is there."""
    if (out / "meta.json").is_file():
        return
    command = [sys.executable, str(REPO_ROOT / "tools/make_synthetic.py"), "--out", str(out), *options]
    subprocess.run(command, check=True)


def synthetic_data_options(cfg: Config, data_root: Path) -> dict:
    """``--cfg-options`` pointing every synthetic member of the recipe's training set (a dataset, or the members
    of a ConcatVideoDataset) and its validation set at ``data_root``; an error when the recipe trains on none."""
    dataset = cfg.train_dataloader.dataset
    prefix = "train_dataloader.dataset"
    if dataset.get("type") == "ConcatVideoDataset":
        members = enumerate(dataset.get("datasets", []))
        keys = [f"{prefix}.datasets.{i}.data_root" for i, m in members if m.get("type") == SYNTHETIC_DATASET]
    else:
        keys = [f"{prefix}.data_root"] if dataset.get("type") == SYNTHETIC_DATASET else []
    if not keys:
        raise ConfigError(
            f"{cfg.filename}: train_dataloader.dataset holds no {SYNTHETIC_DATASET} for the benchmark's synthetic set"
        )
    options = dict.fromkeys(keys, str(data_root))
    options["val_dataloader.dataset.data_root"] = str(data_root)
    return options


def train_recipe(config: Path, data_root: Path, work_dir: Path, iters: int, seed: int, device: str) -> Path:
    """Trains ``config`` on the synthetic set ``data_root`` for ``iters`` iterations with ``seed``, on the
    benchmarks' schedule (linear warm-up over the first 5%, then poly decay), without validation, and returns the
    last checkpoint; a finished run is not trained again."""
    checkpoint = work_dir / f"iter_{iters}.pth"
    if checkpoint.is_file():
        return checkpoint
    options = synthetic_data_options(load_config(config), data_root)
    # val_interval past the end still validates at the last iteration (mmengine); val_begin past it does not.
    options.update({"train_cfg.max_iters": iters, "train_cfg.val_begin": iters + 1, "extra_test_sets": []})
    options["default_hooks.checkpoint.interval"] = iters
    options["randomness.seed"] = seed
    cfg = prepare_config(load_config(config, options), str(config), str(work_dir))
    warmup = iters // 20
    cfg.param_scheduler = [
        dict(type="PolyLR", eta_min=1e-5, power=0.9, by_epoch=False, begin=warmup, end=iters)
    ]
    if warmup:
        cfg.param_scheduler.insert(
            0, dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warmup)
        )
    if device == "cpu":
        cfg.train_dataloader.num_workers = 1
    build_runner(cfg).train()
    return checkpoint
