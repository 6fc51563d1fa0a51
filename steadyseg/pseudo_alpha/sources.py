"""Real people with binary masks, read in place, as clips of frames for pseudo alpha.

A source lists its clips (``clips()``), each clip's frame names (``frames(clip)``), and reads one frame's RGB
image and person mask (``load(clip, frame)``, the image from ``image_path(clip, frame)``); ``description()`` is
what the output's record says about it.
Every failure is one ``VideoDataError`` naming the file at fault.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from steadyseg.datasets.errors import VideoDataError
from steadyseg.datasets.video_io import read_image_rgb, read_single_channel_png

COCO_PERSON = 1
COCO_FRAME = "00000"


def _check_same_size(image: np.ndarray, mask: np.ndarray, image_path: Path, mask_source: str) -> None:
    if image.shape[:2] != mask.shape:
        raise VideoDataError(
            f"{mask_source}: mask is {mask.shape[0]}x{mask.shape[1]}, its image {image_path} is "
            f"{image.shape[0]}x{image.shape[1]}"
        )


class DavisSource:
    """DAVIS layout: ``<root>/JPEGImages/<resolution>/<clip>/<frame>.jpg`` and
    ``<root>/Annotations/<resolution>/<clip>/<frame>.png``. Every non-zero mask pixel is person (DAVIS-2016's
    0/255 masks; a DAVIS-2017 palette mask's objects all together)."""

    def __init__(self, root: str | Path, resolution: str = "480p", clips: Sequence[str] | None = None):
        self.root = Path(root)
        self.resolution = resolution
        self.frame_root = self.root / "JPEGImages" / resolution
        self.mask_root = self.root / "Annotations" / resolution
        for folder in (self.frame_root, self.mask_root):
            if not folder.is_dir():
                raise VideoDataError(f"{folder}: folder not found (expected the DAVIS layout)")
        available = sorted(path.name for path in self.frame_root.iterdir() if path.is_dir())
        missing = [clip for clip in clips or () if clip not in available]
        if missing:
            raise VideoDataError(f"{self.frame_root}: no clip folder {missing}; it has {available}")
        self._clips = list(clips) if clips else available

    def description(self) -> dict:
        return {"format": "davis", "root": str(self.root), "resolution": self.resolution}

    def clips(self) -> list[str]:
        return self._clips

    def frames(self, clip: str) -> list[str]:
        names = sorted(path.stem for path in (self.frame_root / clip).glob("*.jpg"))
        if not names:
            raise VideoDataError(f"{self.frame_root / clip}: no .jpg frames")
        for name in names:
            if not (self.mask_root / clip / f"{name}.png").is_file():
                raise VideoDataError(f"{self.mask_root / clip / name}.png: mask of frame {name} not found")
        return names

    def image_path(self, clip: str, frame: str) -> Path:
        return self.frame_root / clip / f"{frame}.jpg"

    def load(self, clip: str, frame: str) -> tuple[np.ndarray, np.ndarray]:
        image_path = self.image_path(clip, frame)
        mask_path = self.mask_root / clip / f"{frame}.png"
        image, mask = read_image_rgb(image_path), read_single_channel_png(mask_path) > 0
        _check_same_size(image, mask, image_path, str(mask_path))
        return image, mask


class CocoSource:
    """COCO instances layout: ``<root>/images/<file_name>`` and ``<root>/<ann_file>``, each image with at least
    one person a one-frame clip named by its file stem, its mask the union of its people.

    Images holding a crowd region of people (``iscrowd``) are left out whole and listed in ``description()``:
    a crowd region marks people without outlining them, so no alpha made from it would be ground truth, and a
    frame with holes of unknown pixels cannot be written in the VideoMatte layout.
    """

    def __init__(
        self,
        root: str | Path,
        ann_file: str = "annotations/instances.json",
        clips: Sequence[str] | None = None,
    ):
        self.root = Path(root)
        self.ann_path = self.root / ann_file
        if not self.ann_path.is_file():
            raise VideoDataError(f"{self.ann_path}: annotation file not found")
        try:
            # pycocotools prints progress lines on every load.
            with contextlib.redirect_stdout(io.StringIO()):
                self.coco = COCO(str(self.ann_path))
        except (json.JSONDecodeError, UnicodeDecodeError, AssertionError, KeyError, TypeError) as error:
            raise VideoDataError(f"{self.ann_path}: not a COCO instances file ({error!r})") from error
        if self.coco.cats.get(COCO_PERSON, {}).get("name") != "person":
            raise VideoDataError(f"{self.ann_path}: category {COCO_PERSON} is not 'person'")
        self._images, self.crowd_images = {}, []
        for image_id in sorted(self.coco.getImgIds(catIds=[COCO_PERSON])):
            image = self.coco.imgs[image_id]
            if "file_name" not in image:
                raise VideoDataError(f"{self.ann_path}: image {image_id!r} has no 'file_name'")
            name = Path(image["file_name"]).stem
            if name in self._images:
                raise VideoDataError(f"{self.ann_path}: two images named {name!r}")
            people = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[image_id], catIds=[COCO_PERSON]))
            if any(person.get("iscrowd") for person in people):
                self.crowd_images.append(name)
            else:
                self._images[name] = (image, sorted(people, key=lambda person: person["id"]))
        missing = [clip for clip in clips or () if clip not in self._images]
        if missing:
            raise VideoDataError(
                f"{self.ann_path}: no image with people named {missing} (images with a crowd region are left out)"
            )
        self._clips = list(clips) if clips else sorted(self._images)

    def description(self) -> dict:
        return {
            "format": "coco",
            "root": str(self.root),
            "annotations": str(self.ann_path),
            "left_out_crowd_images": self.crowd_images,
        }

    def clips(self) -> list[str]:
        return self._clips

    def frames(self, clip: str) -> list[str]:
        return [COCO_FRAME]

    def image_path(self, clip: str, frame: str) -> Path:
        return self.root / "images" / self._images[clip][0]["file_name"]

    def load(self, clip: str, frame: str) -> tuple[np.ndarray, np.ndarray]:
        image_info, people = self._images[clip]
        image_path = self.image_path(clip, frame)
        image = read_image_rgb(image_path)
        mask = np.zeros(image.shape[:2], bool)
        for person in people:
            where = f"{self.ann_path}: annotation {person['id']!r} of image {image_info['id']!r}"
            try:
                person_mask = self.coco.annToMask(person).astype(bool)
            # pycocotools signals malformed polygons and RLEs with bare Exceptions.
            except Exception as error:
                raise VideoDataError(f"{where}: unreadable segmentation ({error!r})") from error
            _check_same_size(image, person_mask, image_path, where)
            mask |= person_mask
        return image, mask
