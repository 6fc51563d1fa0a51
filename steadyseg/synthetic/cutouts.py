"""Real people cut out of real frames with their masks, pasted into synthetic videos as rigid figures.

A cut-out is a crop of a real frame and the binary mask of one person in it: a DAVIS object, a group of
instance ids such as a girl and her backpack, or one person annotated in a COCO photo. ``CutoutFigure``
pastes it as a flat sheet moved by a smooth affine path (drift, sway, mild turn and zoom, optional mirror): the
sheet is a texture fixed in its own local coordinates, so its backward flow is the exact affine field of
``geometry.py``, like a procedural body part.

With ``frames > 1`` in ``load_cutout_bank`` a clip's cut-out holds consecutive source frames and the figure
plays them back and forth, so the person moves as in the real clip; the flow then only carries the sheet's
affine motion, not the person's own, and is no longer exact. That is off by default.

Real pixels are read in place and only ever written into a generated set; the bank is loaded once per
process (``load_cutout_bank`` caches each source).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pycocotools.coco import COCO

from steadyseg.datasets.instance_groups import parse_instance_groups
from steadyseg.datasets.video_io import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    read_image_rgb,
    read_single_channel_png,
    read_video_frames,
)

from . import geometry as geo
from .camera import Camera
from .compositing import Layer
from .figures import PARTS_PER_FIGURE, Figure
from .playback import back_and_forth

SPEC_SYNTAX = (
    "expected 'davis:<davis root>:<seq>[,<seq>...]', "
    "'instances:<video or frame folder>:<mask folder>:<ids>[,<ids>...]' with ids such as 1 or 2+3, "
    "or 'coco:<coco root>'"
)
PERSON = 1  # COCO's person category id


@dataclass(frozen=True)
class CutoutSource:
    """One real clip that gives cut-outs.

    frames: a video file, or a folder of frames named like the masks (``00000.jpg`` for ``00000.png``).
    masks:  a folder of single-channel PNGs ``<frame number>.png`` (DAVIS 0/255 masks or palette ids).
    groups: instance ids merged into one person each (e.g. ``((1,), (2, 3))``); ``None``: every non-zero
            pixel is one person (DAVIS-2016 masks).
    name:   the clip's name, recorded in ``meta.json`` so benchmarks can leave the clip out.
    """

    frames: Path
    masks: Path
    groups: tuple[tuple[int, ...], ...] | None
    name: str

    def subject(self, group: tuple[int, ...] | None) -> str:
        return self.name if group is None else f"{self.name}:{'+'.join(map(str, group))}"

    def describe(self) -> dict:
        groups = None if self.groups is None else [list(group) for group in self.groups]
        return {"clip": self.name, "frames": str(self.frames), "masks": str(self.masks), "groups": groups}


@dataclass(frozen=True)
class CocoSource:
    """The people of a folder of photos in the COCO instances layout: ``<root>/images/<file_name>`` and
    ``<root>/annotations/instances.json`` (person = category 1). Each annotated person is a one-frame cut-out,
    its subject ``<name>:<annotation id>`` and its ``frame`` the image id; crowd regions never are one."""

    root: Path
    name: str

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations" / "instances.json"

    def subject(self, annotation_id: int) -> str:
        return f"{self.name}:{annotation_id}"

    def describe(self) -> dict:
        return {
            "clip": self.name,
            "images": str(self.images),
            "annotations": str(self.annotations),
            "category": PERSON,
        }


Source = CutoutSource | CocoSource


def davis_source(root: str | Path, sequence: str, resolution: str = "480p") -> CutoutSource:
    """The person of a DAVIS sequence in the original layout (``JPEGImages/<res>/<seq>``, ``Annotations/...``)."""
    root = Path(root)
    return CutoutSource(
        root / "JPEGImages" / resolution / sequence,
        root / "Annotations" / resolution / sequence,
        None,
        sequence,
    )


def _parse_groups(spec: str, text: str) -> tuple[tuple[int, ...], ...]:
    try:
        return parse_instance_groups(text)
    except ValueError as error:
        raise ValueError(f"cutouts: bad spec {spec!r}: {error}; {SPEC_SYNTAX}") from None


def parse_cutout_spec(spec: str) -> list[Source]:
    """The sources of one ``--cutouts`` argument (see ``SPEC_SYNTAX``); files are checked on loading."""
    kind, _, rest = spec.partition(":")
    if kind == "davis":
        root, _, sequences = rest.rpartition(":")
        names = sequences.split(",")
        if root and all(names):
            return [davis_source(root, name) for name in names]
    elif kind == "instances":
        parts = rest.rsplit(":", 2)
        if len(parts) == 3 and all(parts):
            frames, masks, groups = parts
            frames = Path(frames)
            name = frames.stem if frames.suffix.lower() in VIDEO_EXTENSIONS else frames.name
            return [CutoutSource(frames, Path(masks), _parse_groups(spec, groups), name)]
    elif kind == "coco" and rest:
        root = Path(rest)
        return [CocoSource(root, root.name)]
    raise ValueError(f"cutouts: bad spec {spec!r}: {SPEC_SYNTAX}")


@dataclass(frozen=True, eq=False)
class Cutout:
    """One person cropped out of ``n`` consecutive frames of a real clip (``n == 1`` unless animated).

    rgb:    ``[n, h, w, 3]`` uint8 RGB crop (the same box of every frame).
    mask:   ``[n, h, w]`` bool: the person.
    others: ``[n, h, w]`` bool: other annotated people in the crop (never this one's pixels), kept out of
            its soft edge so that no one else's pixels are pasted as unlabelled texture.
    box:    ``(y0, y1, x0, x1)`` of the crop in the source frames.
    anchor: ``(x, y)`` in crop pixels: bottom centre of the person in the first frame (where it stands).
    height: the person's height in the first frame (mask rows), in source pixels.
    source: the name of the clip or photo folder it comes from (``CutoutSource.name``).
    subject: which person: the clip's name, plus ``:<ids>`` for an instance group (``schoolgirls:2+3``) or
            ``:<annotation id>`` for a COCO person.
    frame:  the first frame's number (its mask's file name); a COCO photo's image id.
    """

    rgb: np.ndarray
    mask: np.ndarray
    others: np.ndarray
    box: tuple[int, int, int, int]
    anchor: tuple[float, float]
    height: float
    source: str
    subject: str
    frame: int


def _check_coco(source: CocoSource) -> None:
    for path in (source.annotations, source.images):
        if not path.exists():
            raise ValueError(f"{path}: not found (a COCO root holds images/ and annotations/instances.json)")


def _mask_paths(source: CutoutSource) -> list[Path]:
    if not source.masks.is_dir():
        raise ValueError(f"{source.masks}: mask folder not found")
    paths = sorted(source.masks.glob("*.png"))
    if not paths:
        raise ValueError(f"{source.masks}: no .png masks in the folder")
    if not source.frames.exists():
        raise ValueError(f"{source.frames}: frame folder or video not found")
    if not source.frames.is_dir() and not all(p.stem.isdigit() for p in paths):
        raise ValueError(f"{source.masks}: masks of a video must be named by frame number (00000.png ...)")
    return paths


def _read_frames(source: CutoutSource, masks: Sequence[Path]) -> list[np.ndarray]:
    """The frames that ``masks`` annotate, decoding only those."""
    if not source.frames.is_dir():
        return read_video_frames(source.frames, [int(p.stem) for p in masks])
    frames = []
    for mask in masks:
        candidates = [source.frames / f"{mask.stem}{ext}" for ext in IMAGE_EXTENSIONS]
        path = next((path for path in candidates if path.is_file()), None)
        if path is None:
            raise ValueError(f"{source.frames}: no frame named {mask.stem} for mask {mask}")
        frames.append(read_image_rgb(path))
    return frames


def _person_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _usable(
    mask: np.ndarray, others: np.ndarray, min_height: int, max_contact: float, max_border: float
) -> bool:
    """Large enough, not cut by the frame border, and not cut by another annotated instance (``others``).

    Both rules look at the person's outline (the pixels just outside it, the frame padded by one pixel): at
    most ``max_border`` of it may lie beyond the frame border, at most ``max_contact`` on another instance.
    Where a person touches another instance, one of them hides part of the other; which one cannot be told
    from the masks, so people whose outline borders another instance over much of its length are left out."""
    box = _person_box(mask)
    if box is None:
        return False
    y0, y1, x0, x1 = box
    if y1 - y0 < min_height:
        return False
    height, width = mask.shape
    # The box plus one pixel on every side; sides beyond the frame are padding.
    pad = ((int(y0 == 0), int(y1 == height)), (int(x0 == 0), int(x1 == width)))
    region = (slice(y0 - 1 + pad[0][0], y1 + 1 - pad[0][1]), slice(x0 - 1 + pad[1][0], x1 + 1 - pad[1][1]))
    window = mask[region]
    inside = np.pad(window, pad).astype(np.uint8)
    beyond = np.pad(np.zeros(window.shape, bool), pad, constant_values=True)
    outline = cv2.dilate(inside, np.ones((3, 3), np.uint8)).astype(bool) & ~inside.astype(bool)
    contact = np.pad(others[region], pad)[outline]
    return float(beyond[outline].mean()) <= max_border and float(contact.mean()) <= max_contact


def _crop_cutout(
    frames: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    others: Sequence[np.ndarray],
    source: str,
    subject: str,
    frame: int,
) -> Cutout:
    """The cut-out of one person in consecutive ``frames`` (one box around all of them), anchored where the
    person stands in the first."""
    boxes = np.array([b for mask in masks if (b := _person_box(mask)) is not None])
    y0, y1, x0, x1 = _person_box(masks[0])
    # Context around the person: the feathered edge samples a little of the real background.
    margin = max(4, round(0.05 * (y1 - y0)))
    height, width = masks[0].shape
    crop = (
        max(int(boxes[:, 0].min()) - margin, 0),
        min(int(boxes[:, 1].max()) + margin, height),
        max(int(boxes[:, 2].min()) - margin, 0),
        min(int(boxes[:, 3].max()) + margin, width),
    )
    region = (slice(crop[0], crop[1]), slice(crop[2], crop[3]))
    return Cutout(
        rgb=np.stack([image[region] for image in frames]),
        mask=np.stack([mask[region] for mask in masks]),
        others=np.stack([other[region] for other in others]),
        box=crop,
        anchor=((x0 + x1 - 1) / 2 - crop[2], y1 - 0.5 - crop[0]),
        height=float(y1 - y0),
        source=source,
        subject=subject,
        frame=frame,
    )


@functools.lru_cache(maxsize=64)
def _load_source(
    source: CutoutSource, every: int, frames: int, min_height: int, max_contact: float, max_border: float
) -> tuple[Cutout, ...]:
    mask_paths = _mask_paths(source)
    ids = [read_single_channel_png(path) for path in mask_paths]
    if any(i.shape != ids[0].shape for i in ids):
        bad = next(p for p, i in zip(mask_paths, ids) if i.shape != ids[0].shape)
        raise ValueError(f"{bad}: mask size differs from {mask_paths[0].name}")
    if source.groups is not None:
        present = set(np.unique(np.stack(ids)).tolist())
        missing = sorted({i for group in source.groups for i in group} - present)
        if missing:
            raise ValueError(f"{source.masks}: instance ids {missing} never appear in the masks")

    runs = []  # (group, its masks, the other instances, first mask index) of every cut-out, in a fixed order
    for group in source.groups or (None,):
        masks = [i > 0 if group is None else np.isin(i, group) for i in ids]
        others = [(i > 0) & ~mask for i, mask in zip(ids, masks)]
        usable = [
            t
            for t in range(len(ids) - frames + 1)
            if _usable(masks[t], others[t], min_height, max_contact, max_border)
        ]
        if not usable:
            raise ValueError(
                f"{source.masks}: no usable cut-out of {source.subject(group)} (every mask is shorter than "
                f"{min_height} px, touches the frame border or borders another instance)"
            )
        runs += [(group, masks, others, t) for t in usable[::every]]

    needed = sorted({t + k for *_, t in runs for k in range(frames)})
    decoded = dict(zip(needed, _read_frames(source, [mask_paths[t] for t in needed])))
    if decoded[needed[0]].shape[:2] != ids[0].shape:
        raise ValueError(
            f"{mask_paths[needed[0]]}: mask size {ids[0].shape} differs from its frame "
            f"{decoded[needed[0]].shape[:2]} in {source.frames}"
        )
    return tuple(
        _crop_cutout(
            [decoded[k] for k in range(t, t + frames)],
            masks[t : t + frames],
            others[t : t + frames],
            source.name,
            source.subject(group),
            int(mask_paths[t].stem) if mask_paths[t].stem.isdigit() else t,
        )
        for group, masks, others, t in runs
    )


@functools.lru_cache(maxsize=8)
def _load_coco(
    source: CocoSource, min_height: int, max_contact: float, max_border: float
) -> tuple[Cutout, ...]:
    _check_coco(source)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines on every load
            coco = COCO(str(source.annotations))
    except (json.JSONDecodeError, UnicodeDecodeError, AssertionError, KeyError, TypeError) as error:
        raise ValueError(f"{source.annotations}: not a COCO instances file ({error!r})") from None
    if coco.cats.get(PERSON, {}).get("name") != "person":
        raise ValueError(f"{source.annotations}: category {PERSON} is not 'person'")
    cutouts = []
    for image_id in sorted(coco.getImgIds(catIds=[PERSON])):
        people = sorted(
            coco.loadAnns(coco.getAnnIds(imgIds=[image_id], catIds=[PERSON])), key=lambda a: a["id"]
        )
        masks = [coco.annToMask(person).astype(bool) for person in people]
        # Overlapping people: a person is skipped when others border much of its outline (``_usable``, as in
        # clips: one hides part of the other), else the others' pixels (crowd regions too) are masked out of
        # its soft edge. Skipping everyone who touches anyone would drop about 40% of the usable people, as
        # COCO people stand in groups; masking keeps them and still pastes nobody else's pixels.
        everyone = np.logical_or.reduce(masks)
        chosen = [
            (person, mask, everyone & ~mask)
            for person, mask in zip(people, masks)
            if not person["iscrowd"] and _usable(mask, everyone & ~mask, min_height, max_contact, max_border)
        ]
        if not chosen:
            continue
        path = source.images / coco.imgs[image_id]["file_name"]
        photo = read_image_rgb(path)
        if photo.shape[:2] != masks[0].shape:
            raise ValueError(
                f"{path}: image size {photo.shape[:2]} differs from its annotation's {masks[0].shape} in "
                f"{source.annotations}"
            )
        cutouts += [
            _crop_cutout([photo], [mask], [others], source.name, source.subject(person["id"]), image_id)
            for person, mask, others in chosen
        ]
    if not cutouts:
        raise ValueError(
            f"{source.annotations}: no usable person (every one is a crowd region, shorter than {min_height} px, "
            "cut by the image border or by other people)"
        )
    return tuple(cutouts)


def load_cutout_bank(
    sources: Sequence[Source],
    every: int = 5,
    frames: int = 1,
    min_height: int = 48,
    max_contact: float = 0.1,
    max_border: float = 0.0,
) -> list[Cutout]:
    """Cut-outs of every source, in source order: every ``every``-th usable annotated frame of each person of
    a clip, in group and frame order; every usable person of a COCO folder, in image and annotation id order
    (so a seed picks the same cut-outs on any machine).

    Usable: the person is at least ``min_height`` source pixels tall, at most ``max_border`` of its outline
    lies on the frame border (default: none; a thin kite line or rope reaching the border is a small
    fraction of the outline, yet the person is cut) and at most ``max_contact`` borders another annotated
    instance (other people in COCO photos: objects there are mostly worn, held or sat on). ``frames > 1``
    keeps that many consecutive frames per clip cut-out (animated figures, inexact flow); photos give one.
    Each source is read once per process."""
    if every < 1 or frames < 1:
        raise ValueError(f"cutouts: every and frames must be >= 1, got every={every}, frames={frames}")
    for source in sources:  # a missing folder fails before any clip is read
        if isinstance(source, CocoSource):
            _check_coco(source)
        else:
            _mask_paths(source)
    limits = (min_height, float(max_contact), float(max_border))
    return [
        cutout
        for source in sources
        for cutout in (
            _load_coco(source, *limits)
            if isinstance(source, CocoSource)
            else _load_source(source, every, frames, *limits)
        )
    ]


@dataclass(frozen=True)
class RigidMotion:
    """Where a rigid figure's anchor is, how it is turned and how big it is at frame ``t``: a steady drift
    and zoom plus a gentle sway (``sway`` pixels along x and y) and wobble (``wobble`` radians)."""

    origin: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    sway: tuple[float, float] = (0.0, 0.0)
    sway_frequency: float = 0.0  # radians per frame
    sway_phase: float = 0.0
    angle: float = 0.0
    wobble: float = 0.0
    growth: float = 0.0  # log-scale per frame

    def to_world(self, t: int) -> np.ndarray:
        cycle = self.sway_frequency * t + self.sway_phase
        x = self.origin[0] + self.velocity[0] * t + self.sway[0] * np.sin(cycle)
        y = self.origin[1] + self.velocity[1] * t + self.sway[1] * np.sin(2 * cycle)  # bobs twice a sway
        return geo.compose(
            geo.translate(x, y),
            geo.rotate(self.angle + self.wobble * np.cos(cycle)),
            geo.scale(np.exp(self.growth * t)),
        )


class CutoutFigure(Figure):
    """A cut-out pasted as a rigid sheet: its anchor follows ``motion``, the person is ``height`` frame pixels
    tall at ``t = 0`` (times the motion's zoom), ``flip`` mirrors it and ``gain`` scales its brightness.

    The mask edge is feathered into a soft alpha ramp about ``feather`` frame pixels wide. The crop is
    shrunk once to about the size it is shown at, so sampling it per frame does not alias."""

    def __init__(
        self,
        track_id: int,
        cutout: Cutout,
        motion: RigidMotion,
        height: float,
        flip: bool = False,
        feather: float = 1.5,
        gain: float = 1.0,
    ):
        super().__init__(track_id)
        self.cutout, self.motion, self.height = cutout, motion, height
        scale = height / cutout.height
        shrink = min(1.0, scale)
        # A Gaussian of sigma s ramps a step from 10% to 90% over about 2.5 s.
        sigma = max(feather / 2.5 * shrink / scale, 0.3)
        pad = int(np.ceil(3 * sigma)) + 1
        crop_h, crop_w = cutout.mask.shape[1:]
        size = (max(round(crop_w * shrink), 1), max(round(crop_h * shrink), 1))
        premultiplied, alpha = [], []
        for rgb, mask, others in zip(cutout.rgb, cutout.mask, cutout.others):
            colour = np.clip(rgb.astype(np.float32) * (gain / 255.0), 0.0, 1.0)
            coverage, elsewhere = mask.astype(np.float32), others.astype(np.float32)
            if shrink < 1:
                colour = cv2.resize(colour, size, interpolation=cv2.INTER_AREA)
                coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA)
                elsewhere = cv2.resize(elsewhere, size, interpolation=cv2.INTER_AREA)
            colour = cv2.copyMakeBorder(colour, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            coverage = cv2.copyMakeBorder(coverage, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            elsewhere = cv2.copyMakeBorder(elsewhere, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            # The blur spreads the person over its neighbours; another person's pixels must not show there.
            soft = cv2.GaussianBlur(coverage, (0, 0), sigma) * (1.0 - elsewhere)
            soft[soft < 0.5 / 255] = 0.0  # the Gaussian's invisible tail would widen every box and alpha map
            premultiplied.append(colour * soft[..., None])
            alpha.append(soft)
        self.premultiplied, self.alpha = premultiplied, alpha
        # Sheet pixels (shrunk and padded) -> crop pixels, with cv2.resize's pixel-centre convention.
        to_crop = geo.compose(
            geo.translate(-0.5, -0.5),
            geo.scale(crop_w / size[0], crop_h / size[1]),
            geo.translate(0.5 - pad, 0.5 - pad),
        )
        self.to_anchor = geo.compose(
            geo.scale(scale * (-1.0 if flip else 1.0), scale),
            geo.translate(*(-np.array(cutout.anchor))),
            to_crop,
        )
        sheet_h, sheet_w = alpha[0].shape
        self.corners = np.array(
            [[-0.5, -0.5], [sheet_w - 0.5, -0.5], [-0.5, sheet_h - 0.5], [sheet_w - 0.5, sheet_h - 0.5]]
        )

    def frame_index(self, t: int) -> int:
        """Which cut-out frame is shown at ``t``: back and forth through them (always 0 when static)."""
        return back_and_forth(t, len(self.alpha))

    def to_frame(self, t: int, camera: Camera) -> np.ndarray:
        return camera.world_to_frame(t) @ self.motion.to_world(t) @ self.to_anchor

    def render(self, t: int, camera: Camera) -> Layer | None:
        to_frame = self.to_frame(t, camera)
        box = geo.bounding_box(geo.apply(to_frame, self.corners), camera.height, camera.width)
        if box is None:
            return None
        x, y = geo.map_box(np.linalg.inv(to_frame), box)
        k = self.frame_index(t)
        sample = dict(interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        alpha = cv2.remap(self.alpha[k], x, y, **sample)
        if not alpha.any():
            return None
        premultiplied = cv2.remap(self.premultiplied[k], x, y, **sample)
        flow = None if t == 0 else geo.backward_flow(to_frame, self.to_frame(t - 1, camera), box)
        label = np.full(alpha.shape, self.track_id * PARTS_PER_FIGURE + 1, np.int32)
        return Layer(box, premultiplied, alpha, alpha, label, flow)


def random_cutout_figure(
    rng: np.random.Generator,
    bank: Sequence[Cutout],
    track_id: int,
    depth: float,
    height: int,
    width: int,
    num_frames: int,
    weights: Mapping[str, float] | None = None,
) -> CutoutFigure:
    """A random cut-out of ``bank`` on a random path: a source drawn with ``weights`` (source name -> relative
    chance, 1 for a name not given; default: every source equally likely), then one of its people (each equally
    likely, whatever its number of frames), then one of that person's cut-outs. ``depth`` in [0, 1]
    (1 = nearest) makes it 30% to 80% of the frame height tall and sets where it stands, as for procedural
    people."""
    sources: dict[str, dict[str, list[Cutout]]] = {}
    for cutout in bank:
        sources.setdefault(cutout.source, {}).setdefault(cutout.subject, []).append(cutout)
    chances = np.array([1.0 if weights is None else weights.get(name, 1.0) for name in sources])
    subjects = list(sources.values())[int(rng.choice(len(sources), p=chances / chances.sum()))]
    choices = list(subjects.values())[int(rng.integers(len(subjects)))]
    cutout = choices[int(rng.integers(len(choices)))]

    size = height * (0.3 + 0.5 * depth) * rng.uniform(0.95, 1.05)
    growth = float(rng.uniform(-0.01, 0.01))
    velocity = (float(rng.uniform(-0.02, 0.02) * size), float(rng.uniform(-0.003, 0.003) * size))
    middle = (num_frames - 1) / 2
    # Centred in the frame half-way through the video, feet lower in the frame the nearer the person.
    feet = (rng.uniform(0.15, 0.85) * width, height * (0.8 + 0.2 * depth) * rng.uniform(0.97, 1.03))
    motion = RigidMotion(
        origin=(float(feet[0] - velocity[0] * middle), float(feet[1] - velocity[1] * middle)),
        velocity=velocity,
        sway=(float(rng.uniform(0, 0.02) * size), float(rng.uniform(0, 0.01) * size)),
        sway_frequency=float(rng.uniform(0.1, 0.5)),
        sway_phase=float(rng.uniform(0, 2 * np.pi)),
        angle=float(rng.uniform(-0.08, 0.08)),
        wobble=float(rng.uniform(0, 0.04)),
        growth=growth,
    )
    return CutoutFigure(
        track_id,
        cutout,
        motion,
        height=float(size * np.exp(-growth * middle)),
        flip=bool(rng.random() < 0.5),
        feather=float(rng.uniform(1.0, 2.2)),
        gain=float(rng.uniform(0.85, 1.15)),
    )
