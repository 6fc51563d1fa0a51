"""Writes a synthetic people-video set in the layout the synthetic dataset reads (see ``generate_dataset``).

Every video is rendered from ``(seed, video index)`` alone, so the set is byte-identical whatever the number
of workers, and ``meta.json`` is written last (atomically) to mark a finished set.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from steadyseg import __version__
from steadyseg.rle import encode_rle

from .backgrounds import DEFAULT_EXCLUDE, BackgroundFile, list_backgrounds
from .cutouts import Source, load_cutout_bank, parse_cutout_spec
from .scene import MAX_PEOPLE, PEOPLE_RANGE, random_scene

# Bump when the same arguments start giving different videos.
GENERATOR = f"steadyseg.synthetic/2 (steadyseg {__version__})"
FORMATS = ("frames", "mp4")
JPEG_QUALITY = 95
SPLITS = ("train", "val")


def davis_palette() -> list[int]:
    """The DAVIS / PASCAL VOC colour map: bits of the index spread over the high bits of R, G and B."""
    index = np.arange(256)
    palette = np.zeros((256, 3), np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.ravel().tolist()


PALETTE = davis_palette()


@dataclass(frozen=True)
class VideoJob:
    out: Path
    split: str
    index: int
    seed: int
    num_frames: int
    height: int
    width: int
    fps: float
    format: str
    max_people: int
    backgrounds: tuple[BackgroundFile, ...]
    cutouts: tuple[Source, ...] = ()
    cutout_probability: float = 0.6
    cutout_every: int = 5
    cutout_frames: int = 1
    cutout_weights: tuple[tuple[str, float], ...] = ()

    @property
    def video_id(self) -> str:
        return f"synth_{self.index:04d}"


def unit_to_uint8(image: np.ndarray) -> np.ndarray:
    """Float values in [0, 1] (colours, alpha) -> uint8 0..255, rounded to nearest; values outside are clipped."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def write_jpeg_rgb(path: Path, rgb: np.ndarray) -> None:
    """RGB uint8 ``[H, W, 3]`` -> a JPEG file at :data:`JPEG_QUALITY` (frames and foregrounds of the written sets)."""
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])


@contextmanager
def _frame_sink(job: VideoJob) -> Iterator[Callable[[int, np.ndarray], None]]:
    """Yields ``write(t, rgb_uint8)`` storing frames as JPEGs or into ``videos/<video>.mp4``."""
    split_dir = job.out / job.split
    if job.format == "frames":
        folder = split_dir / "JPEGImages" / job.video_id
        folder.mkdir(parents=True)
        yield lambda t, rgb: write_jpeg_rgb(folder / f"{t:05d}.jpg", rgb)
        return

    import av

    path = split_dir / "videos" / f"{job.video_id}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(job.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = job.width, job.height, "yuv420p"
        stream.options = {"crf": "16"}

        def write(t: int, rgb: np.ndarray) -> None:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))

        yield write
        container.mux(stream.encode())
    os.replace(partial, path)


@dataclass(frozen=True)
class WrittenVideo:
    """tracks:     YouTube-VIS tracks ``{track_id: {"segmentations", "areas", "bboxes"}}`` (one entry per
                frame, ``None`` where absent).
    background: the photo or video under it (``None``: procedural).
    moving_background: whether that is a video, whose flow covers only the camera's motion."""

    tracks: dict
    background: Path | None
    moving_background: bool


def write_video(job: VideoJob) -> WrittenVideo:
    """Renders and writes one video."""
    split_dir = job.out / job.split
    for kind in ("JPEGImages", "Annotations", "alpha", "fgr", "flow"):
        shutil.rmtree(split_dir / kind / job.video_id, ignore_errors=True)
    (split_dir / "videos" / f"{job.video_id}.mp4").unlink(missing_ok=True)
    folders = {kind: split_dir / kind / job.video_id for kind in ("Annotations", "alpha", "fgr", "flow")}
    for folder in folders.values():
        folder.mkdir(parents=True)

    bank = load_cutout_bank(job.cutouts, job.cutout_every, job.cutout_frames) if job.cutouts else ()
    scene = random_scene(
        job.seed,
        job.index,
        job.height,
        job.width,
        job.num_frames,
        job.backgrounds,
        job.max_people,
        bank,
        job.cutout_probability,
        dict(job.cutout_weights),
    )
    tracks = {figure.track_id: {"segmentations": [], "areas": [], "bboxes": []} for figure in scene.figures}
    with _frame_sink(job) as write_frame:
        for t in range(job.num_frames):
            frame = scene.render(t)
            name = f"{t:05d}"
            write_frame(t, unit_to_uint8(frame.image))
            annotation = Image.fromarray(frame.instance_ids)
            annotation.putpalette(PALETTE)
            annotation.save(folders["Annotations"] / f"{name}.png")
            cv2.imwrite(str(folders["alpha"] / f"{name}.png"), unit_to_uint8(frame.alpha))
            write_jpeg_rgb(folders["fgr"] / f"{name}.jpg", unit_to_uint8(frame.fgr))
            if frame.flow is not None:
                np.save(folders["flow"] / f"{name}.npy", frame.flow.astype(np.float32))
            for track_id, track in tracks.items():
                _append_instance(track, frame.instance_ids == track_id)
    return WrittenVideo(
        {track_id: track for track_id, track in tracks.items() if any(track["areas"])},
        scene.background.source,
        scene.background.moves,
    )


def _append_instance(track: dict, mask: np.ndarray) -> None:
    if not mask.any():
        for key in track:
            track[key].append(None)
        return
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    track["segmentations"].append(encode_rle(mask, compressed=False))
    track["areas"].append(int(mask.sum()))
    track["bboxes"].append([x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1])


def _write_json_atomic(path: Path, content: dict, indent: int | None = None) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(content, indent=indent))
    os.replace(partial, path)


def _instances_json(jobs: Sequence[VideoJob], tracks: Sequence[dict]) -> dict:
    """YouTube-VIS 2019 annotations (person = category 1) of one split."""
    videos, annotations = [], []
    for video_number, (job, video_tracks) in enumerate(zip(jobs, tracks), start=1):
        videos.append(
            {
                "id": video_number,
                "file_names": [f"{job.video_id}/{t:05d}.jpg" for t in range(job.num_frames)],
                "height": job.height,
                "width": job.width,
                "length": job.num_frames,
            }
        )
        for track_id in sorted(video_tracks):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "video_id": video_number,
                    "category_id": 1,
                    **video_tracks[track_id],
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "steadyseg synthetic people videos", "version": GENERATOR},
        "licenses": [],
        "videos": videos,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    }


# argument -> (check, what a valid value is)
ARGUMENT_RULES = {
    "num_train": (lambda v: v >= 0, ">= 0"),
    "num_val": (lambda v: v >= 0, ">= 0"),
    "num_frames": (lambda v: v >= 1, ">= 1"),
    "size": (lambda v: len(v) == 2 and min(v) >= 16, "(height, width), each >= 16"),
    "fps": (lambda v: v > 0, "> 0"),
    "seed": (lambda v: v >= 0, ">= 0"),
    "fmt": (lambda v: v in FORMATS, f"one of {FORMATS}"),
    # Checked here too (random_scene checks it) so that a bad value fails before anything is written.
    "max_people": (lambda v: 1 <= v <= MAX_PEOPLE, PEOPLE_RANGE),
    "workers": (lambda v: v >= 1, ">= 1"),
    "cutout_probability": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "cutout_every": (lambda v: v >= 1, ">= 1"),
    "cutout_frames": (lambda v: v >= 1, ">= 1"),
}


def _check_arguments(**arguments) -> None:
    for key, (valid, requirement) in ARGUMENT_RULES.items():
        if not valid(arguments[key]):
            raise ValueError(f"{key}: invalid value {arguments[key]!r} (expected {requirement})")
    if arguments["fmt"] == "mp4":
        import av

        height, width = arguments["size"]
        if height % 2 or width % 2:
            raise ValueError(
                f"size: format 'mp4' (yuv420p) needs an even height and width, got {height} x {width}"
            )
        if "libx264" not in av.codecs_available:
            raise ValueError("fmt: format 'mp4' needs PyAV built with the libx264 encoder")


def generate_dataset(
    out: str | Path,
    num_train: int = 32,
    num_val: int = 8,
    num_frames: int = 16,
    size: Sequence[int] = (256, 256),
    fps: float = 15,
    seed: int = 0,
    backgrounds: str | Path | Sequence[str | Path] | None = None,
    fmt: str = "frames",
    max_people: int = 3,
    workers: int = 1,
    exclude_backgrounds: Sequence[str] = DEFAULT_EXCLUDE,
    cutouts: Sequence[str | Source] = (),
    cutout_probability: float = 0.6,
    cutout_every: int = 5,
    cutout_frames: int = 1,
    cutout_weights: Mapping[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Writes a synthetic set to ``out`` and returns its ``meta.json`` content.

    Layout: ``<split>/JPEGImages/<video>/00000.jpg`` (or ``<split>/videos/<video>.mp4``),
    ``<split>/Annotations/<video>/00000.png`` (palette instance ids), ``<split>/alpha/...png``,
    ``<split>/fgr/...jpg``, ``<split>/flow/<video>/00001.npy`` (float32 [2, H, W], frames >= 1),
    ``<split>/instances.json`` (YouTube-VIS 2019) and ``meta.json``. Video ``synth_<i>`` comes from
    ``(seed, i)`` alone; train videos are numbered first, then val. ``size`` is ``(height, width)``;
    ``backgrounds`` are photos and person-free videos, or folders of them (names matching
    ``exclude_backgrounds`` skipped), else backgrounds are procedural; ``meta.json`` lists under
    ``"backgrounds"`` each video's background (``per_video``) and the videos whose background flow covers only
    the camera (``camera_only_flow``: a video background). ``cutouts`` are real clips and COCO photo folders giving people cut-outs (``Source``s or
    ``--cutouts`` specs, see ``cutouts.parse_cutout_spec``): each person is one with ``cutout_probability``,
    its source drawn with ``cutout_weights`` (source name -> relative chance, default 1 each); every
    ``cutout_every``-th usable frame of each clip's person is used, ``cutout_frames > 1`` animates them (then
    the flow inside them is not exact). ``meta.json`` names the sources and the frames (COCO: image ids) that
    gave cut-outs under ``"cutouts"``, so that evaluation can leave them out. ``progress`` is called with each
    finished video id."""
    _check_arguments(
        num_train=num_train,
        num_val=num_val,
        num_frames=num_frames,
        size=size,
        fps=fps,
        seed=seed,
        fmt=fmt,
        max_people=max_people,
        workers=workers,
        cutout_probability=cutout_probability,
        cutout_every=cutout_every,
        cutout_frames=cutout_frames,
    )
    background_files = tuple(list_backgrounds(backgrounds, exclude_backgrounds)) if backgrounds else ()
    sources = tuple(
        source
        for item in cutouts
        for source in (parse_cutout_spec(item) if isinstance(item, str) else [item])
    )
    names = list(dict.fromkeys(source.name for source in sources))
    unknown = sorted(set(cutout_weights or {}) - set(names))
    if unknown:
        raise ValueError(f"cutout_weights: {unknown} name no cut-out source (the sources are {names})")
    weights = {name: float((cutout_weights or {}).get(name, 1.0)) for name in names}
    if not all(0 < weight < float("inf") for weight in weights.values()):
        raise ValueError(f"cutout_weights: every weight must be > 0 and finite, got {weights}")
    # Loaded here first so a bad source fails before anything is written (and forked workers inherit it).
    bank = load_cutout_bank(sources, cutout_every, cutout_frames)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # A leftover meta.json would make a half-rewritten set look finished.
    (out / "meta.json").unlink(missing_ok=True)

    height, width = int(size[0]), int(size[1])
    counts = {"train": num_train, "val": num_val}
    jobs, start = {}, 0
    for split in SPLITS:
        jobs[split] = [
            VideoJob(
                out,
                split,
                i,
                seed,
                num_frames,
                height,
                width,
                fps,
                fmt,
                max_people,
                background_files,
                sources,
                cutout_probability,
                cutout_every,
                cutout_frames,
                tuple(weights.items()),
            )
            for i in range(start, start + counts[split])
        ]
        start += counts[split]
    every_job = [job for split in SPLITS for job in jobs[split]]

    results = {}
    if workers == 1:
        for job in every_job:
            results[job.index] = write_video(job)
            if progress:
                progress(job.video_id)
    else:
        # One OpenCV thread per worker process. It is set here, before the workers fork: calling
        # cv2.setNumThreads in a forked child whose parent already ran OpenCV's thread pool hangs.
        opencv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with ProcessPoolExecutor(workers) as pool:
                futures = {pool.submit(write_video, job): job for job in every_job}
                for future in as_completed(futures):
                    job = futures[future]
                    results[job.index] = future.result()
                    if progress:
                        progress(job.video_id)
        finally:
            cv2.setNumThreads(opencv_threads)

    for split in SPLITS:
        (out / split).mkdir(exist_ok=True)
        split_tracks = [results[job.index].tracks for job in jobs[split]]
        _write_json_atomic(out / split / "instances.json", _instances_json(jobs[split], split_tracks))
    meta = {
        "seed": seed,
        "size": [height, width],
        "fps": int(fps) if float(fps).is_integer() else float(fps),
        "num_frames": num_frames,
        "splits": {split: [job.video_id for job in jobs[split]] for split in SPLITS},
        "classes": ["background", "person"],
        "format": fmt,
        "generator": GENERATOR,
    }
    if background_files:
        meta["backgrounds"] = {
            "files": [str(entry.path) for entry in background_files],
            "exclude": list(exclude_backgrounds),
            "per_video": {job.video_id: str(results[job.index].background) for job in every_job},
            # Videos over a real video: the flow there holds the camera's motion, not the scene's own.
            "camera_only_flow": [job.video_id for job in every_job if results[job.index].moving_background],
        }
    if sources:
        subjects: dict[str, int] = {}
        used: dict[str, set[int]] = {name: set() for name in names}
        for cutout in bank:
            subjects[cutout.subject] = subjects.get(cutout.subject, 0) + 1
            used[cutout.source].add(cutout.frame)
        meta["cutouts"] = {
            "clips": sorted(names),
            "sources": [source.describe() for source in sources],
            "subjects": subjects,
            "used": {name: sorted(frames) for name, frames in used.items()},
            "weights": weights,
            "probability": cutout_probability,
            "every": cutout_every,
            "frames": cutout_frames,
            "exact_flow": cutout_frames == 1,
        }
    _write_json_atomic(out / "meta.json", meta, indent=2)
    return meta
