"""The things pasted into synthetic videos, each one instance with its own track id.

``Figure`` is the extension point: a figure renders frame ``t`` as a ``Layer`` (premultiplied colour, alpha,
and the backward flow of what it shows) through the video's camera. ``ArticulatedPerson`` is the procedural
one: a 2-D puppet of rigid parts (capsules and ellipses) on an animated skeleton, with soft anti-aliased
edges, fuzzy hair and textured clothes. Real cut-outs (e.g. DAVIS people with their masks) can join as another
``Figure`` that returns their pixels and per-pixel flow.
"""

from __future__ import annotations

import colorsys
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from . import geometry as geo
from .camera import Camera
from .compositing import Canvas, Layer
from .poses import MOTIONS, Pose

# Labels of the surfaces a figure shows: figure k, part j -> k * PARTS_PER_FIGURE + j + 1 (0 = background).
PARTS_PER_FIGURE = 64


class Figure(ABC):
    """One instance (e.g. a person) of a synthetic video."""

    def __init__(self, track_id: int):
        self.track_id = track_id

    @abstractmethod
    def render(self, t: int, camera: Camera) -> Layer | None:
        """Frame ``t`` as seen by ``camera``; ``None`` when the figure is out of the frame.

        The layer's ``flow`` (``None`` at ``t == 0``) maps each pixel to where the visible surface was in
        frame ``t - 1``; its ``label`` names the surface (unique within the video)."""


@dataclass(frozen=True)
class Capsule:
    """A limb along the local +y axis from 0 to ``length``, radius tapering from ``r0`` to ``r1``."""

    length: float
    r0: float
    r1: float

    def corners(self, pad: float) -> np.ndarray:
        r = max(self.r0, self.r1) + pad
        return np.array([[-r, -r], [r, -r], [-r, self.length + r], [r, self.length + r]])

    def sdf(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance (local units, negative inside) and the distance from the axis relative to the
        radius (for shading)."""
        h = np.clip(y / self.length, 0.0, 1.0)
        radius = self.r0 + (self.r1 - self.r0) * h
        dist = np.sqrt(x * x + (y - h * self.length) ** 2)
        return dist - radius, dist / radius


@dataclass(frozen=True)
class Ellipse:
    """Head, hand, foot or hair; ``cut`` keeps only the part with local y >= cut (hair over the face)."""

    cx: float
    cy: float
    rx: float
    ry: float
    cut: float | None = None

    def corners(self, pad: float) -> np.ndarray:
        rx, ry = self.rx + pad, self.ry + pad
        return np.array([[-rx, -ry], [rx, -ry], [-rx, ry], [rx, ry]]) + [self.cx, self.cy]

    def sdf(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Distance estimate k0 (k0 - 1) / k1 (first-order, exact on the boundary), see iquilezles.org.
        u, v = (x - self.cx) / self.rx, (y - self.cy) / self.ry
        k0 = np.sqrt(u * u + v * v)
        k1 = np.sqrt((u / self.rx) ** 2 + (v / self.ry) ** 2)
        ratio = np.divide(k0, k1, out=np.full_like(k0, min(self.rx, self.ry)), where=k1 > 0)
        d = (k0 - 1.0) * ratio
        if self.cut is not None:
            d = np.maximum(d, self.cut - y)
        return d, k0


@dataclass(frozen=True)
class Material:
    """Base colour with shading and a pattern fixed to the part (so it moves exactly with it).

    The pattern is a sum of sinusoids ``amplitudes * sin(2 pi frequencies . p + phases)`` in local units;
    ``stripes`` squares them up into bands."""

    colour: tuple[float, float, float]
    frequencies: tuple[tuple[float, float], ...] = ()
    phases: tuple[float, ...] = ()
    amplitudes: tuple[float, ...] = ()
    stripes: bool = False

    def paint(self, x: np.ndarray, y: np.ndarray, radial: np.ndarray) -> np.ndarray:
        shade = 1.0 - 0.3 * np.clip(radial, 0.0, 1.0) ** 2
        for (fx, fy), phase, amplitude in zip(self.frequencies, self.phases, self.amplitudes):
            wave = np.sin((2 * np.pi) * (fx * x + fy * y) + phase)
            if self.stripes:
                wave = np.tanh(2.0 * wave) / np.tanh(2.0)
            shade = shade + amplitude * wave
        colour = np.asarray(self.colour, np.float32) * shade[..., None]
        return np.clip(colour, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Part:
    """A rigid piece of a figure: ``shape`` in the local frame of skeleton bone ``bone``.

    ``fuzz`` > 0 (pixels) adds a hair-like fringe outside the shape, with ``strands`` (count, phase) pairs
    modulating it around the shape's centre."""

    name: str
    bone: str
    shape: Capsule | Ellipse
    material: Material
    fuzz: float = 0.0
    strands: tuple[tuple[int, float], ...] = ()

    def render(
        self,
        to_frame: np.ndarray,
        previous_to_frame: np.ndarray | None,
        feather: float,
        height: int,
        width: int,
        label: int,
    ) -> Layer | None:
        """This part under the local -> frame transform ``to_frame`` (``previous_to_frame`` one frame
        earlier), its edge ramping from alpha 1 to 0 over ``feather`` pixels."""
        px = geo.pixel_scale(to_frame)
        corners = self.shape.corners((feather + self.fuzz + 1.0) / px)
        box = geo.bounding_box(geo.apply(to_frame, corners), height, width)
        if box is None:
            return None
        x, y = geo.map_box(np.linalg.inv(to_frame), box)
        distance, radial = self.shape.sdf(x, y)
        distance = distance * px
        alpha = np.clip(0.5 - distance / feather, 0.0, 1.0)
        if self.fuzz > 0:
            alpha = np.maximum(alpha, self._fringe(x, y, distance))
        if not alpha.any():
            return None
        flow = None if previous_to_frame is None else geo.backward_flow(to_frame, previous_to_frame, box)
        return Layer.single_surface(box, self.material.paint(x, y, radial), alpha, label, flow)

    def _fringe(self, x: np.ndarray, y: np.ndarray, distance: np.ndarray) -> np.ndarray:
        angle = np.arctan2(y - self.shape.cy, x - self.shape.cx)
        strands = np.zeros_like(angle)
        for count, phase in self.strands:
            strands += (0.5 + 0.5 * np.sin(count * angle + phase)) / len(self.strands)
        falloff = np.clip(1.0 - distance / self.fuzz, 0.0, 1.0) ** 1.5
        return (0.9 * strands * falloff).astype(np.float32)


@dataclass(frozen=True)
class Body:
    """Proportions in body heights (feet to top of head is about 1)."""

    thigh: float = 0.245
    shin: float = 0.235
    upper_arm: float = 0.17
    forearm: float = 0.15
    torso: float = 0.29
    neck: float = 0.05
    head_rx: float = 0.05
    head_ry: float = 0.062
    width: float = 1.0  # build: scales every radius
    shoulder_spread: float = 0.085  # half-width seen from the front
    hip_spread: float = 0.045

    @property
    def pelvis_height(self) -> float:
        return self.thigh + self.shin + 0.022 * self.width


class ArticulatedPerson(Figure):
    """A procedural person: ``parts`` (back to front) on a skeleton animated by one of ``poses.MOTIONS``.

    The pelvis moves in world pixels from ``root`` at t = 0 by ``velocity`` per frame; the person is
    ``height`` pixels tall at t = 0 and grows by ``exp(growth * t)`` (walking towards or away from the
    camera); ``facing`` = -1 mirrors the body."""

    def __init__(
        self,
        track_id: int,
        body: Body,
        parts: list[Part],
        motion: str,
        phase: float,
        cycles_per_frame: float,
        root: tuple[float, float],
        velocity: tuple[float, float],
        height: float,
        growth: float = 0.0,
        facing: int = 1,
        feather: float = 1.5,
    ):
        super().__init__(track_id)
        if motion not in MOTIONS:
            raise ValueError(f"motion: unknown '{motion}', expected one of {sorted(MOTIONS)}")
        self.body, self.parts, self.motion = body, parts, motion
        self.phase, self.cycles_per_frame = phase, cycles_per_frame
        self.root, self.velocity = root, velocity
        self.height, self.growth, self.facing, self.feather = height, growth, facing, feather

    def pose(self, t: int) -> Pose:
        return MOTIONS[self.motion](self.phase + 2 * np.pi * self.cycles_per_frame * t)

    def bones(self, t: int) -> dict[str, np.ndarray]:
        """Bone -> world transform of every bone at frame ``t`` (local +y runs along the bone)."""
        b, pose = self.body, self.pose(t)
        to_world = geo.compose(
            geo.translate(self.root[0] + self.velocity[0] * t, self.root[1] + self.velocity[1] * t),
            geo.scale(self.height * np.exp(self.growth * t)),
            geo.scale(self.facing, 1.0),
            geo.translate(pose.root_dx, pose.root_dy),
        )
        shoulder = b.shoulder_spread * b.width if pose.front else 0.01
        hip = b.hip_spread * b.width if pose.front else 0.01
        torso = to_world @ geo.rotate(np.pi + pose.lean)
        chest = b.torso - 0.035 * b.width
        # The torso frame points up, so its local +x is the body's -x: the near shoulder sits at -shoulder.
        upper_near = torso @ geo.translate(-shoulder, chest) @ geo.rotate(np.pi + pose.shoulder_near)
        upper_far = torso @ geo.translate(shoulder, chest) @ geo.rotate(np.pi + pose.shoulder_far)
        thigh_near = to_world @ geo.translate(hip, 0.0) @ geo.rotate(pose.hip_near)
        thigh_far = to_world @ geo.translate(-hip, 0.0) @ geo.rotate(pose.hip_far)
        return {
            "torso": torso,
            "head": torso @ geo.translate(0.0, b.torso) @ geo.rotate(pose.head),
            "upper_arm_near": upper_near,
            "forearm_near": upper_near @ geo.translate(0.0, b.upper_arm) @ geo.rotate(pose.elbow_near),
            "upper_arm_far": upper_far,
            "forearm_far": upper_far @ geo.translate(0.0, b.upper_arm) @ geo.rotate(pose.elbow_far),
            "thigh_near": thigh_near,
            "shin_near": thigh_near @ geo.translate(0.0, b.thigh) @ geo.rotate(pose.knee_near),
            "thigh_far": thigh_far,
            "shin_far": thigh_far @ geo.translate(0.0, b.thigh) @ geo.rotate(pose.knee_far),
        }

    def render(self, t: int, camera: Camera) -> Layer | None:
        now = {name: camera.world_to_frame(t) @ m for name, m in self.bones(t).items()}
        before = None
        if t > 0:
            before = {name: camera.world_to_frame(t - 1) @ m for name, m in self.bones(t - 1).items()}
        layers = []
        for index, part in enumerate(self.parts):
            layer = part.render(
                now[part.bone],
                None if before is None else before[part.bone],
                self.feather,
                camera.height,
                camera.width,
                self.track_id * PARTS_PER_FIGURE + index + 1,
            )
            if layer is not None:
                layers.append(layer)
        if not layers:
            return None
        boxes = np.array([layer.box for layer in layers])
        box = (boxes[:, 0].min(), boxes[:, 1].max(), boxes[:, 2].min(), boxes[:, 3].max())
        canvas = Canvas(tuple(int(v) for v in box), base_weight=0.0, with_flow=t > 0)
        for layer in layers:
            canvas.over(layer)
        return canvas.as_layer()


SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.87, 0.67, 0.54], [0.72, 0.52, 0.38], [0.45, 0.30, 0.20]])
HAIR_COLOURS = np.array(
    [[0.08, 0.06, 0.05], [0.30, 0.19, 0.10], [0.80, 0.65, 0.38], [0.60, 0.60, 0.60], [0.50, 0.20, 0.08]]
)


def _random_colour(rng: np.random.Generator, saturation=(0.2, 0.9), value=(0.15, 0.95)) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value)))


def _random_material(rng: np.random.Generator, colour: np.ndarray, max_frequency: float) -> Material:
    """Plain, striped or mottled cloth; frequencies in cycles per body height, capped at ``max_frequency``
    so no pattern is finer than a few pixels."""
    kind = rng.choice(3, p=[0.4, 0.3, 0.3])
    if kind == 0:
        return Material(tuple(colour))
    count = 1 if kind == 1 else 3
    magnitude = rng.uniform(8, 25, count) if kind == 1 else rng.uniform(3, 10, count)
    angle = rng.uniform(0, np.pi, count)
    frequencies = np.minimum(magnitude, max_frequency)[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
    return Material(
        tuple(colour),
        tuple(map(tuple, frequencies)),
        tuple(rng.uniform(0, 2 * np.pi, count)),
        tuple(rng.uniform(0.08, 0.25, count) / count),
        stripes=kind == 1,
    )


def random_person(
    rng: np.random.Generator, track_id: int, depth: float, height: int, width: int, num_frames: int
) -> ArticulatedPerson:
    """A person with random proportions, clothes, motion and path; ``depth`` in [0, 1] (1 = nearest) sets
    its size and where its feet stand."""
    motion = str(rng.choice(list(MOTIONS), p=[0.5, 0.25, 0.25]))
    front = MOTIONS[motion](0.0).front
    body = Body(
        thigh=0.245 * rng.uniform(0.92, 1.08),
        shin=0.235 * rng.uniform(0.92, 1.08),
        upper_arm=0.17 * rng.uniform(0.92, 1.08),
        forearm=0.15 * rng.uniform(0.92, 1.08),
        torso=0.29 * rng.uniform(0.9, 1.1),
        neck=0.05 * rng.uniform(0.8, 1.2),
        head_rx=0.05 * rng.uniform(0.9, 1.15),
        head_ry=0.062 * rng.uniform(0.9, 1.15),
        width=rng.uniform(0.8, 1.35),
    )
    size = min(height, width) * (0.45 + 0.5 * depth) * rng.uniform(0.9, 1.1)
    max_frequency = size / 8.0
    skin_weights = rng.dirichlet(np.full(len(SKIN_TONES), 0.3))
    skin = Material(tuple(skin_weights @ SKIN_TONES * rng.uniform(0.9, 1.05)))
    hair = Material(tuple(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.8, 1.2)))
    shirt = _random_material(rng, _random_colour(rng), max_frequency)
    trousers = _random_material(rng, _random_colour(rng, value=(0.1, 0.7)), max_frequency)
    shoes = Material(tuple(_random_colour(rng, saturation=(0.0, 0.5), value=(0.05, 0.5))))
    sleeves = rng.integers(3)  # 0 sleeveless, 1 short, 2 long
    long_trousers = rng.random() < 0.7

    w = body.width
    hand = Ellipse(0.0, body.forearm + 0.022 * w, 0.02 * w, 0.032 * w)
    foot_forward = 0.0 if front else 0.03
    foot = Ellipse(foot_forward, body.shin + 0.008 * w, (0.03 if front else 0.055) * w, 0.022 * w)
    head_cy = body.neck + 0.85 * body.head_ry

    def arm(side: str) -> list[Part]:
        return [
            Part(
                f"upper_arm_{side}",
                f"upper_arm_{side}",
                Capsule(body.upper_arm, 0.03 * w, 0.025 * w),
                shirt if sleeves else skin,
            ),
            Part(
                f"forearm_{side}",
                f"forearm_{side}",
                Capsule(body.forearm, 0.024 * w, 0.019 * w),
                shirt if sleeves == 2 else skin,
            ),
            Part(f"hand_{side}", f"forearm_{side}", hand, skin),
        ]

    def leg(side: str) -> list[Part]:
        return [
            Part(f"thigh_{side}", f"thigh_{side}", Capsule(body.thigh, 0.05 * w, 0.038 * w), trousers),
            Part(
                f"shin_{side}",
                f"shin_{side}",
                Capsule(body.shin, 0.035 * w, 0.026 * w),
                trousers if long_trousers else skin,
            ),
            Part(f"foot_{side}", f"shin_{side}", foot, shoes),
        ]

    torso_scale = 1.0 if front else 0.8
    parts = [
        *arm("far"),
        *leg("far"),
        Part("neck", "head", Capsule(body.neck + 0.02, 0.024 * w, 0.024 * w), skin),
        Part("torso", "torso", Capsule(body.torso, 0.065 * w * torso_scale, 0.075 * w * torso_scale), shirt),
        *leg("near"),
        Part("head", "head", Ellipse(0.0, head_cy, body.head_rx, body.head_ry), skin),
        Part(
            "hair",
            "head",
            Ellipse(
                # The head frame points up, so its local +x is the body's back.
                0.0 if front else 0.15 * body.head_rx,
                head_cy + 0.1 * body.head_ry,
                body.head_rx * 1.12,
                body.head_ry * 1.08,
                cut=head_cy - 0.1 * body.head_ry,
            ),
            hair,
            fuzz=float(rng.uniform(1.0, 4.0) * size / 128),
            strands=tuple((int(rng.integers(12, 40)), float(rng.uniform(0, 2 * np.pi))) for _ in range(3)),
        ),
        *arm("near"),
    ]

    cycles = rng.uniform(*{"walk": (0.04, 0.09), "wave": (0.06, 0.12), "dance": (0.04, 0.1)}[motion])
    facing = 1 if rng.random() < 0.5 else -1
    if front:
        speed = rng.uniform(-0.4, 0.4) * size / 128
    else:
        speed = facing * size * body.thigh * cycles * rng.uniform(1.2, 2.0)
    velocity = (float(speed), float(rng.uniform(-0.2, 0.2) * size / 128))
    growth = float(rng.uniform(-0.012, 0.012))
    # Centred in the frame half-way through the video, feet lower in the frame the nearer the person.
    middle = (num_frames - 1) / 2
    feet = height * (0.8 + 0.25 * depth) * rng.uniform(0.95, 1.05)
    pelvis = (rng.uniform(0.1, 0.9) * width, feet - body.pelvis_height * size)
    root = (pelvis[0] - velocity[0] * middle, pelvis[1] - velocity[1] * middle)
    return ArticulatedPerson(
        track_id,
        body,
        parts,
        motion,
        phase=float(rng.uniform(0, 2 * np.pi)),
        cycles_per_frame=float(cycles),
        root=(float(root[0]), float(root[1])),
        velocity=velocity,
        height=float(size * np.exp(-growth * middle)),
        growth=growth,
        facing=facing,
        feather=float(rng.uniform(1.0, 2.2)),
    )
