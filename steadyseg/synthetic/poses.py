"""Motion cycles of the procedural people: joint angles as a function of the cycle phase.

Angles are radians in the body frame (x = forward, y = down, 0 = limb hanging straight down; negative swings
a limb forward); elbow and knee angles are relative to the upper limb. The root offset moves the pelvis, in
body heights, for bobbing and swaying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pose:
    front: bool  # facing the camera (limbs spread sideways) rather than seen from the side
    lean: float
    head: float
    shoulder_near: float
    elbow_near: float
    shoulder_far: float
    elbow_far: float
    hip_near: float
    knee_near: float
    hip_far: float
    knee_far: float
    root_dx: float = 0.0
    root_dy: float = 0.0


def walk(phase: float) -> Pose:
    s = np.sin(phase)
    # The knee bends while its leg swings forward, the arms swing against the legs.
    return Pose(
        front=False,
        lean=0.06,
        head=0.05 * np.sin(2 * phase),
        shoulder_near=0.4 * s,
        elbow_near=-0.25 - 0.25 * max(s, 0.0),
        shoulder_far=-0.4 * s,
        elbow_far=-0.25 - 0.25 * max(-s, 0.0),
        hip_near=-0.45 * s,
        knee_near=0.1 + 0.6 * max(np.cos(phase), 0.0),
        hip_far=0.45 * s,
        knee_far=0.1 + 0.6 * max(-np.cos(phase), 0.0),
        root_dy=-0.015 * abs(np.cos(phase)),
    )


def wave(phase: float) -> Pose:
    s = np.sin(phase)
    return Pose(
        front=True,
        lean=0.03 * s,
        head=-0.08 * s,
        shoulder_near=-2.5 - 0.12 * s,
        elbow_near=-0.35 - 0.45 * s,
        shoulder_far=0.15,
        elbow_far=0.1,
        hip_near=-0.08,
        knee_near=0.02,
        hip_far=0.08,
        knee_far=-0.02,
    )


def dance(phase: float) -> Pose:
    s, c2 = np.sin(phase), np.cos(2 * phase)
    bend = 0.25 * (1 + c2)
    return Pose(
        front=True,
        lean=0.15 * s,
        head=-0.12 * s,
        shoulder_near=-1.3 - 1.0 * s,
        elbow_near=-0.6 * np.sin(2 * phase),
        shoulder_far=1.3 - 1.0 * s,
        elbow_far=0.6 * np.sin(2 * phase),
        hip_near=-0.15 - bend,
        knee_near=2 * bend,
        hip_far=0.15 + bend,
        knee_far=-2 * bend,
        root_dx=0.04 * s,
        root_dy=0.05 * bend,
    )


MOTIONS = {"walk": walk, "wave": wave, "dance": dance}
