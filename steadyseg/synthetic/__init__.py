"""Deterministic synthetic people videos with exact ground truth (``tools/make_synthetic.py``).

Procedural articulated people (or any other ``Figure``) over real or procedural backgrounds, filmed by a
moving camera; every frame comes with instance ids, alpha, foreground colour and exact backward flow.
"""

from .backgrounds import DEFAULT_EXCLUDE, Background, list_background_images, random_background
from .camera import Camera, random_camera
from .compositing import Canvas, Layer
from .figures import ArticulatedPerson, Figure, random_person
from .rle import decode_rle, encode_rle
from .scene import FrameRender, Scene, random_scene
from .writer import GENERATOR, generate_dataset, write_video

__all__ = [
    "DEFAULT_EXCLUDE",
    "GENERATOR",
    "ArticulatedPerson",
    "Background",
    "Camera",
    "Canvas",
    "Figure",
    "FrameRender",
    "Layer",
    "Scene",
    "decode_rle",
    "encode_rle",
    "generate_dataset",
    "list_background_images",
    "random_background",
    "random_camera",
    "random_person",
    "random_scene",
    "write_video",
]
