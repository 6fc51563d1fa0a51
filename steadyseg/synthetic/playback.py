"""Playing a few real frames over a longer synthetic video."""

from __future__ import annotations


def back_and_forth(step: int, count: int) -> int:
    """Which of ``count`` frames is shown at ``step``: 0, 1, ..., count - 1, count - 2, ..., 1, 0, 1, ...

    Bouncing rather than wrapping around keeps every step between neighbouring frames, so a looped real clip
    never jumps from its last frame back to its first."""
    if count == 1:
        return 0
    k = step % (2 * count - 2)
    return k if k < count else 2 * count - 2 - k
