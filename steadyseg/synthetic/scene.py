"""A synthetic video: camera, background and people, rendered frame by frame with all ground truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .backgrounds import Background, BackgroundFile, random_background
from .camera import Camera, random_camera
from .compositing import Canvas
from .cutouts import Cutout, random_cutout_figure
from .figures import Figure, random_person

# Person k is track and instance id k in uint8 annotation maps, where 0 is background and 255 reads back as void.
MAX_PEOPLE = 254
PEOPLE_RANGE = f"1..{MAX_PEOPLE}: people are uint8 instance ids, 0 is background and 255 void"


@dataclass
class FrameRender:
    """One rendered frame, float32 in [0, 1] before any quantization.

    ``image == alpha * fgr + (1 - alpha) * background`` up to float rounding."""

    image: np.ndarray  # [H, W, 3] RGB composite
    background: np.ndarray  # [H, W, 3] RGB
    alpha: np.ndarray  # [H, W] union of all figures
    fgr: np.ndarray  # [H, W, 3] figures' colour; where alpha == 0, a smooth extension of it
    instance_ids: np.ndarray  # [H, W] uint8: track id of the top-most figure with alpha >= 0.5, else 0
    surface_ids: np.ndarray  # [H, W] int32: surface whose flow is given (0 background, see figures.py)
    flow: np.ndarray | None  # [2, H, W] backward flow (dx, dy); None for frame 0


class Scene:
    """``figures`` are given back to front; each is composited over the ones before it."""

    def __init__(self, camera: Camera, background: Background, figures: Sequence[Figure]):
        self.camera, self.background, self.figures = camera, background, list(figures)

    def render(self, t: int) -> FrameRender:
        background, background_flow = self.background.render(t, self.camera)
        box = (0, self.camera.height, 0, self.camera.width)
        canvas = Canvas(box, base_weight=1.0, base_flow=background_flow)
        for figure in self.figures:
            layer = figure.render(t, self.camera)
            if layer is not None:
                canvas.over(layer, instance_id=figure.track_id)
        alpha = canvas.alpha
        fgr = _unpremultiply(canvas.premultiplied, alpha)
        image = canvas.premultiplied + (1.0 - alpha[..., None]) * background
        return FrameRender(image, background, alpha, fgr, canvas.instance_ids, canvas.label, canvas.flow)


def _unpremultiply(premultiplied: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colour; outside the figures, their blurred colours spread outwards, so a JPEG of it has
    no dark halo ringing into the soft edges."""
    sigma = 0.02 * max(alpha.shape)
    spread_alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)[..., None]
    spread = cv2.GaussianBlur(premultiplied, (0, 0), sigma)
    extension = np.divide(spread, spread_alpha, out=np.zeros_like(spread), where=spread_alpha > 1e-4)
    inside = alpha[..., None] > 0
    fgr = np.divide(premultiplied, alpha[..., None], out=extension, where=inside)
    return np.clip(fgr, 0.0, 1.0)


def random_scene(
    seed: int,
    index: int,
    height: int,
    width: int,
    num_frames: int,
    backgrounds: Sequence[BackgroundFile] = (),
    max_people: int = 3,
    cutouts: Sequence[Cutout] = (),
    cutout_probability: float = 0.6,
    cutout_weights: Mapping[str, float] | None = None,
) -> Scene:
    """Video ``index`` of the set made with ``seed``: it depends on nothing else, so any subset of a set can
    be regenerated (or generated in parallel) identically. The background is a crop of one of the photos or
    videos ``backgrounds``, else procedural. Each person is a real cut-out of ``cutouts`` with
    ``cutout_probability`` (its source drawn with ``cutout_weights``, see ``random_cutout_figure``), else
    procedural; with no cut-outs (or probability 0) a scene is what it was before cut-outs existed."""
    if not 1 <= max_people <= MAX_PEOPLE:
        raise ValueError(f"max_people: invalid value {max_people!r} (expected {PEOPLE_RANGE})")
    rng = np.random.default_rng([seed, index])
    camera = random_camera(rng, height, width)
    background = random_background(rng, camera, num_frames, backgrounds)
    count = int(rng.integers(1, max_people + 1))
    depths = rng.uniform(0, 1, count)
    people = [
        random_cutout_figure(rng, cutouts, k + 1, depths[k], height, width, num_frames, cutout_weights)
        if cutouts and cutout_probability > 0 and rng.random() < cutout_probability
        else random_person(rng, k + 1, depths[k], height, width, num_frames)
        for k in range(count)
    ]
    return Scene(camera, background, [people[k] for k in np.argsort(depths)])
