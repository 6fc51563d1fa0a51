"""Writes a source's pseudo alpha in the VideoMatte240K layout, one clip at a time, resumably.

```
<out>/fgr/<clip>/<frame>.jpg      foreground colour (RGB, JPEG quality 95)
<out>/pha/<clip>/<frame>.png      alpha, uint8 0..255 (lossless: the known 0 and 255 stay exact)
<out>/pseudo_alpha.json           the settings, the source, and each finished clip
<out>/README.txt                  says that this is pseudo ground truth, and how it was made
```
A clip is listed in ``pseudo_alpha.json`` once all its frames are written; a later run with the same settings
skips the listed clips and rewrites any other clip from its first frame.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import cv2

from steadyseg.engine.atomic_local_backend import write_atomically
from steadyseg.synthetic.writer import unit_to_uint8, write_jpeg_rgb

from .matting import pseudo_alpha

RECORD = "pseudo_alpha.json"
README = "README.txt"
SETTINGS = ("source", "band", "scale", "max_frames")


def _readme(settings: dict) -> str:
    return f"""PSEUDO GROUND TRUTH, NOT MEASURED ALPHA.

These alpha mattes (pha/) and foregrounds (fgr/) were made by steadyseg's tools/make_pseudo_alpha.py from
binary person masks: closed-form matting (Levin et al., PAMI 2008; pymatting {version("pymatting")}) solved
alpha only within {settings["band"]} px of each mask's edge (the trimap's unknown band); every pixel further
from the edge keeps the mask's hard 0 or 1. Foreground colours are pymatting's multilevel estimate.
Where the colours break the matting's local linear model (hair over a busy background, motion blur wider
than the band, a person and background of one colour), this alpha is wrong; parts of a mask thinner than
the band (fingers, ropes) fade out. Score models on it as on pseudo ground truth, and say so.

Source: {json.dumps(settings["source"])}
Band: {settings["band"]} px; solved at scale {settings["scale"]}; frames per clip: {settings["max_frames"] or "all"}.
Per-clip details are in {RECORD}.
"""


def _read_record(path: Path, settings: dict) -> dict:
    if not path.is_file():
        method = f"closed-form matting (Levin et al., PAMI 2008), pymatting {version('pymatting')}"
        return {"pseudo_ground_truth": True, "method": method, **settings, "clips": {}}
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON record of pseudo alpha ({error})") from error
    for key in SETTINGS:
        if record.get(key) != settings[key]:
            raise ValueError(
                f"{path}: made with {key}={record.get(key)!r}, this run asks for {settings[key]!r}; "
                f"use another output folder"
            )
    return record


def _write_clip(source, out: Path, clip: str, frames: list[str], settings: dict, progress: Callable) -> dict:
    folders = {kind: out / kind / clip for kind in ("fgr", "pha")}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    start = time.perf_counter()
    methods: dict[str, list[str]] = {}
    for frame in frames:
        image, mask = source.load(clip, frame)
        try:
            result = pseudo_alpha(image, mask, settings["band"], settings["scale"])
        except ValueError as error:
            raise ValueError(f"{source.image_path(clip, frame)}: {error}") from error
        methods.setdefault(result.method, []).append(frame)
        write_jpeg_rgb(folders["fgr"] / f"{frame}.jpg", unit_to_uint8(result.fgr))
        cv2.imwrite(str(folders["pha"] / f"{frame}.png"), unit_to_uint8(result.alpha))
        progress(clip)
    seconds = time.perf_counter() - start
    return {
        "frames": len(frames),
        "seconds_per_frame": round(seconds / len(frames), 3),
        # Frames not matted: "empty" (no person, alpha 0) and "binary" (no known background, alpha = mask).
        **{f"{method}_frames": names for method, names in sorted(methods.items()) if method != "matted"},
    }


def write_pseudo_alpha(
    source,
    out: str | Path,
    band: int,
    scale: float = 1.0,
    max_frames: int | None = None,
    progress: Callable[[str], None] = lambda clip: None,
    on_plan: Callable[[int, list[str]], None] = lambda total, done: None,
) -> dict:
    """Writes every clip of ``source`` not yet in ``<out>/pseudo_alpha.json`` and returns the record.

    ``max_frames`` keeps each clip's first frames. ``on_plan(frames to write, clips already done)`` is called
    once before any work; ``progress(clip)`` after each written frame.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames!r}")
    out = Path(out)
    settings = {"source": source.description(), "band": band, "scale": scale, "max_frames": max_frames}
    record = _read_record(out / RECORD, settings)
    todo = {clip: source.frames(clip)[:max_frames] for clip in source.clips() if clip not in record["clips"]}
    on_plan(
        sum(len(frames) for frames in todo.values()), [clip for clip in source.clips() if clip not in todo]
    )
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / README, _readme(settings).encode())
    for clip, frames in todo.items():
        record["clips"][clip] = _write_clip(source, out, clip, frames, settings, progress)
        write_atomically(out / RECORD, json.dumps(record, indent=2).encode())
    return record
