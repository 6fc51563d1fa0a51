"""``COCOPeopleDataset``: the people of a COCO instances JSON, each image a one-frame video.

```
<data_root>/<img_dir>/<file_name>   images, ``file_name`` from the JSON
<data_root>/<ann_file>              {"images": [{"id", "file_name", "height", "width"}],
                                     "annotations": [{"id", "image_id", "category_id", "iscrowd",
                                                      "segmentation": polygons or RLE}],
                                     "categories": [{"id", "name"}]}
```
The JSON is read with pycocotools; each person becomes a compressed COCO RLE that ``LoadClipAnnotations``
decodes when the image is loaded (``mask_rles`` and ``void_rles`` with ``label_mode='instance'``), so no mask
files are written.
People are instances with track ids 1..N of their image in annotation id order
(``instance_annotation_ids[k - 1]`` is the JSON id of instance k), each keeping its whole mask where people
overlap; crowd regions and people below ``min_person_area`` are void (255, ignored) where no instance lies;
other categories are background. Pair it with ``ClipRandomAffineMotion`` to train video models on pseudo-clips.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset
from .errors import VideoDataError


@DATASETS.register_module()
class COCOPeopleDataset(BaseVideoDataset):
    """People segmentation (and person instances) from a COCO instances JSON; one image = one frame.

    Args:
        data_root: dataset root folder.
        ann_file: the JSON, relative to ``data_root`` (or absolute).
        img_dir: folder of the images under ``data_root``.
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`; ``sequences`` and
            ``video_id`` are image file stems.
        person_category_id: category id of people in the JSON.
        include_negatives: keep images without any person annotation (all background) as negatives.
        min_person_area: people whose mask has fewer pixels are not instances but void (255): they are real
            people, so calling them background would teach the wrong label.
    """

    def __init__(
        self,
        data_root: str | Path,
        ann_file: str | Path = "annotations/instances.json",
        img_dir: str = "images",
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        person_category_id: int = 1,
        include_negatives: bool = True,
        min_person_area: float = 0,
        **kwargs,
    ):
        self.ann_path = Path(data_root) / ann_file
        self.img_dir = img_dir
        self.person_category_id = person_category_id
        self.include_negatives = include_negatives
        self.min_person_area = min_person_area
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _read_coco(self) -> COCO:
        if not self.ann_path.is_file():
            raise VideoDataError(f"{self.ann_path}: annotation file not found")
        try:
            # pycocotools prints progress lines on every load; datasets are built in every worker.
            with contextlib.redirect_stdout(io.StringIO()):
                coco = COCO(str(self.ann_path))
        except (json.JSONDecodeError, UnicodeDecodeError, AssertionError) as error:
            raise VideoDataError(f"{self.ann_path}: not a COCO JSON object ({error})") from error
        if not isinstance(coco.dataset.get("images"), list):
            raise VideoDataError(f"{self.ann_path}: no 'images' list (not a COCO instances file)")
        if self.person_category_id not in coco.cats:
            raise VideoDataError(
                f"{self.ann_path}: person category id {self.person_category_id} not in 'categories' "
                f"{sorted(coco.cats)}"
            )
        return coco

    def _rle(self, coco: COCO, annotation: dict) -> dict:
        """The compressed RLE of one annotation, its counts as str (pickles and prints like the JSON)."""
        where = f"{self.ann_path}: annotation {annotation.get('id')!r} of image {annotation['image_id']!r}"
        if "segmentation" not in annotation:
            raise VideoDataError(f"{where} has no 'segmentation'")
        try:
            rle = coco.annToRLE(annotation)
        # pycocotools signals malformed polygons and RLEs with bare Exceptions.
        except Exception as error:
            raise VideoDataError(f"{where}: unreadable segmentation ({error})") from error
        counts = rle["counts"]
        return {
            "size": [int(s) for s in rle["size"]],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
        }

    def _image_info(self, coco: COCO, image: dict) -> dict | None:
        """The one-frame video of a JSON image, or None for a negative that is left out."""
        missing = [key for key in ("id", "file_name", "height", "width") if key not in image]
        if missing:
            raise VideoDataError(f"{self.ann_path}: image {image.get('id')!r} lacks {missing}")
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]], catIds=[self.person_category_id]))
        if not annotations and not self.include_negatives:
            return None
        path = Path(self.data_root) / self.img_dir / image["file_name"]
        if not path.is_file():
            raise VideoDataError(f"{path}: image {image['id']!r} of {self.ann_path} not found")
        people, void = [], []
        for annotation in sorted(annotations, key=lambda a: a["id"]):
            rle = self._rle(coco, annotation)
            small = float(mask_utils.area(rle)) < self.min_person_area
            (void if annotation.get("iscrowd") or small else people).append((annotation["id"], rle))
        return dict(
            video_id=path.stem,
            frame_paths=[str(path)],
            num_video_frames=1,
            fps=None,
            label_mode="instance",
            mask_rles=[[[k, rle] for k, (_, rle) in enumerate(people, start=1)]],
            void_rles=[[rle for _, rle in void]],
            ann_file=str(self.ann_path),
            ann_image_id=image["id"],
            instance_annotation_ids=[annotation_id for annotation_id, _ in people],
        )

    def load_video_infos(self) -> list[dict]:
        coco = self._read_coco()
        infos = {}
        for image in coco.dataset["images"]:
            info = self._image_info(coco, image)
            if info is None:
                continue
            if info["video_id"] in infos:
                raise VideoDataError(f"{self.ann_path}: two images named {info['video_id']!r}")
            infos[info["video_id"]] = info
        return [infos[name] for name in self.select_sequences(list(infos), self.ann_path)]
