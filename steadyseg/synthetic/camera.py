"""The moving camera of a synthetic video: a per-frame similarity transform from world to frame pixels.

World coordinates are frame-0-like pixel coordinates in which the background and the people live; the camera
pans (steadily, plus a little hand-held shake), zooms and rolls about the frame centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry as geo


@dataclass(frozen=True)
class Camera:
    height: int
    width: int
    pan_velocity: tuple[float, float] = (0.0, 0.0)  # pixels per frame
    zoom_rate: float = 0.0  # log-scale per frame
    roll_rate: float = 0.0  # radians per frame
    shake_amplitude: float = 0.0  # pixels
    shake_frequency: tuple[float, float] = (0.0, 0.0)  # radians per frame
    shake_phase: tuple[float, float] = (0.0, 0.0)

    def world_to_frame(self, t: int) -> np.ndarray:
        centre = ((self.width - 1) / 2, (self.height - 1) / 2)
        pan = [
            v * t + self.shake_amplitude * np.sin(f * t + p)
            for v, f, p in zip(self.pan_velocity, self.shake_frequency, self.shake_phase)
        ]
        return geo.compose(
            geo.translate(centre[0] + pan[0], centre[1] + pan[1]),
            geo.rotate(self.roll_rate * t),
            geo.scale(np.exp(self.zoom_rate * t)),
            geo.translate(-centre[0], -centre[1]),
        )

    def world_extent(self, num_frames: int) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)``: the world rectangle seen in any of the frames."""
        h, w = self.height - 1, self.width - 1
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64)
        seen = np.concatenate(
            [geo.apply(np.linalg.inv(self.world_to_frame(t)), corners) for t in range(num_frames)]
        )
        (x0, y0), (x1, y1) = seen.min(axis=0), seen.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def random_camera(
    rng: np.random.Generator, height: int, width: int, static_probability: float = 0.15
) -> Camera:
    """A camera that stays put with ``static_probability``, else pans, zooms and rolls gently."""
    moving = rng.random() >= static_probability
    unit = min(height, width) / 256
    pan = rng.uniform(-1, 1, 2) * np.array([0.012 * width, 0.005 * height])
    camera = Camera(
        height,
        width,
        pan_velocity=tuple(float(v) for v in pan),
        zoom_rate=float(rng.uniform(-0.006, 0.006)),
        roll_rate=float(rng.uniform(-0.004, 0.004)),
        shake_amplitude=float(rng.uniform(0.0, 1.5) * unit),
        shake_frequency=tuple(float(v) for v in rng.uniform(0.3, 1.2, 2)),
        shake_phase=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, 2)),
    )
    return camera if moving else Camera(height, width)
