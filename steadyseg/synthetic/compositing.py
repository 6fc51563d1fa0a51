"""Layers and the back-to-front compositor that also tracks which surface is seen at each pixel.

A pixel's colour is a mix of every layer over it, but it can have only one flow vector: the flow of the
surface that contributes most to the pixel's colour. A layer's contribution to the final colour is its alpha
times ``(1 - alpha)`` of every layer above it; compositing back to front multiplies all contributions so far
by the same ``(1 - alpha)``, so the strongest one can be tracked with a running maximum (``weight``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Layer:
    """A rectangle of a frame covered (partly) by one figure or body part.

    box:           ``(y0, y1, x0, x1)`` in frame pixels.
    premultiplied: ``[h, w, 3]`` float32 colour times alpha.
    alpha:         ``[h, w]`` float32 coverage in [0, 1].
    weight:        ``[h, w]`` contribution of the strongest surface inside the layer (``alpha`` for a single
                   surface).
    label:         ``[h, w]`` int32 id of that surface (0 = none).
    flow:          ``[2, h, w]`` float32 backward flow of that surface, ``None`` on the first frame.
    """

    box: tuple[int, int, int, int]
    premultiplied: np.ndarray
    alpha: np.ndarray
    weight: np.ndarray
    label: np.ndarray
    flow: np.ndarray | None

    @classmethod
    def single_surface(
        cls,
        box: tuple[int, int, int, int],
        colour: np.ndarray,
        alpha: np.ndarray,
        label: int,
        flow: np.ndarray | None,
    ) -> Layer:
        """A layer made of one surface: straight (not premultiplied) ``colour [h, w, 3]``."""
        return cls(box, colour * alpha[..., None], alpha, alpha, np.full(alpha.shape, label, np.int32), flow)


class Canvas:
    """Composites layers back to front over a rectangle ``box`` of the frame.

    The background itself is not drawn: with ``premultiplied`` and ``alpha`` accumulated over the layers,
    ``frame = premultiplied + (1 - alpha) * background``, which is exactly ``alpha * fgr + (1 - alpha) * bg``
    with ``fgr = premultiplied / alpha``. ``base_weight``, ``base_label`` and ``base_flow`` describe what lies
    under every layer (the background; weight 0 when nothing does).
    """

    def __init__(
        self,
        box: tuple[int, int, int, int],
        base_weight: float,
        base_label: int = 0,
        base_flow: np.ndarray | None = None,
        with_flow: bool = False,
    ):
        y0, y1, x0, x1 = box
        shape = (y1 - y0, x1 - x0)
        self.box = box
        self.premultiplied = np.zeros(shape + (3,), np.float32)
        self.alpha = np.zeros(shape, np.float32)
        self.weight = np.full(shape, base_weight, np.float32)
        self.label = np.full(shape, base_label, np.int32)
        if base_flow is not None:
            self.flow = base_flow.astype(np.float32, copy=True)
        else:
            self.flow = np.zeros((2,) + shape, np.float32) if with_flow else None
        self.instance_ids = np.zeros(shape, np.uint8)

    def over(self, layer: Layer, instance_id: int = 0) -> None:
        """Puts ``layer`` on top; pixels where it has alpha >= 0.5 get ``instance_id`` (when non-zero)."""
        y0, y1, x0, x1 = layer.box
        oy, ox = self.box[0], self.box[2]
        region = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        a = layer.alpha
        below = 1.0 - a
        premultiplied = self.premultiplied[region]
        premultiplied *= below[..., None]
        premultiplied += layer.premultiplied
        alpha = self.alpha[region]
        alpha *= below
        alpha += a
        weight = self.weight[region]
        weight *= below
        take = layer.weight > weight
        weight[take] = layer.weight[take]
        self.label[region][take] = layer.label[take]
        if self.flow is not None:
            self.flow[(slice(None),) + region][:, take] = layer.flow[:, take]
        if instance_id:
            self.instance_ids[region][a >= 0.5] = instance_id

    def as_layer(self) -> Layer:
        """Everything composited so far as one layer (e.g. a whole person made of its parts)."""
        return Layer(self.box, self.premultiplied, self.alpha, self.weight, self.label, self.flow)
