"""The base of what streaming inference writes for one model family (segmentation, matting, instances)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .inference import JsonLinesWriter


class VideoOutputs:
    """What :func:`~steadyseg.apis.inference.infer_video` writes for one model family, from the outputs the
    family's models give.

    ``reads``: the model outputs the videos are made from (a model whose ``output_names`` include them gets
    this family); ``optional_reads``: outputs ``render`` also takes when the model gives them; ``videos``: the
    names of the videos written (``<stem>_<name>.mp4``); ``streams``: the names of the documents written a line
    per frame as the frames render (``<stem>_<name>.jsonl``), so that what the family records per frame never
    piles up in memory; ``options``: the keyword arguments the family takes. ``stream`` is called once, before
    the first frame; ``render`` in the encode thread, once per frame in order. A family states its ``reads``
    and ``videos`` and implements ``render`` and ``summary``; the rest defaults to nothing streamed, no document
    and nothing to release.
    """

    reads: tuple[str, ...]
    optional_reads: tuple[str, ...] = ()
    videos: tuple[str, ...]
    streams: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def stream(self, documents: dict[str, JsonLinesWriter]) -> None:
        """Takes the open writer of each of ``streams``, by name, for ``render`` to write its frames' lines to.
        ``infer_video`` moves them in place once every frame is rendered, or deletes them if the run fails."""

    def render(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """The frame (RGB uint8 ``[H, W, 3]``) and its outputs (float32, batch dimension dropped) -> one RGB uint8
        frame of each of ``videos``, at the frame's size."""
        raise NotImplementedError

    def summary(self) -> dict:
        """The family's entries of the run's summary."""
        raise NotImplementedError

    def documents(self) -> dict[str, dict]:
        """JSON records of the whole run by name, written as ``<stem>_<name>.json`` once every frame and every
        stream is."""
        return {}

    def close(self) -> None:
        """Releases what ``render`` opened."""
