"""Deterministic synthetic people videos with exact ground truth (``tools/make_synthetic.py``).

Procedural articulated people and real people cut-outs (DAVIS clips, instance-mask clips, COCO photos; or any
other ``Figure``) over real photos, real person-free videos or procedural backgrounds, filmed by a moving
camera; every frame comes with instance ids, alpha, foreground colour and backward flow (exact, except for
what a video background moves by itself).
"""

from .backgrounds import DEFAULT_EXCLUDE, Background, BackgroundFile, list_backgrounds, random_background
from .camera import Camera, random_camera
from .compositing import Canvas, Layer
from .cutouts import (
    CocoSource,
    Cutout,
    CutoutFigure,
    CutoutSource,
    RigidMotion,
    davis_source,
    load_cutout_bank,
    parse_cutout_spec,
    random_cutout_figure,
)
from .figures import ArticulatedPerson, Figure, random_person
from .scene import FrameRender, Scene, random_scene
from .writer import GENERATOR, generate_dataset, write_video

__all__ = [
    "DEFAULT_EXCLUDE",
    "GENERATOR",
    "ArticulatedPerson",
    "Background",
    "BackgroundFile",
    "Camera",
    "Canvas",
    "CocoSource",
    "Cutout",
    "CutoutFigure",
    "CutoutSource",
    "Figure",
    "FrameRender",
    "Layer",
    "RigidMotion",
    "Scene",
    "davis_source",
    "generate_dataset",
    "list_backgrounds",
    "load_cutout_bank",
    "parse_cutout_spec",
    "random_background",
    "random_camera",
    "random_cutout_figure",
    "random_person",
    "random_scene",
    "write_video",
]
