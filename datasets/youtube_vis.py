"""``YouTubeVISPeopleDataset``: the person tracks of YouTube-VIS 2019 / 2021 or OVIS as people segmentation.

```
<data_root>/<img_dir>/<file_name>   frames, ``file_name`` from the JSON ("<video>/00000.jpg"); img_dir is
                                    "JPEGImages" for YouTube-VIS (<ytvis>/train/JPEGImages/...) and "" for OVIS
                                    (<ovis>/train/<video>/img_0000001.jpg)
<ann_file>                          {"videos": [{"id", "file_names", "length", "height", "width"}],
                                     "annotations": [{"id", "video_id", "category_id", "iscrowd",
                                                      "segmentations": [RLE or null per frame]}],
                                     "categories": [{"id", "name"}]}
```
Relative ``ann_file`` paths are under ``data_root`` (YouTube-VIS 2019: ``../train.json``, 2021:
``instances.json``, OVIS: ``../annotations/annotations_train.json``). Without ``annotations`` (valid / test
JSON) the videos are unlabelled.

Masks stay RLEs (compressed strings or count lists) until ``LoadClipAnnotations`` decodes the clip's frames
(``mask_rles`` and ``void_rles``, ``label_mode='instance'``): person tracks become tubes with track ids 1..N
of the video in annotation id order (``track_annotation_ids[k - 1]`` is the annotation id of track k, so
ids stay small and alike across datasets), each keeping its whole mask where tracks overlap. Semantic person
is the union of the person masks; crowd person regions outside them are void (255, ignored).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset
from .errors import VideoDataError

PERSON_CATEGORY_IDS = {2019: 1, 2021: 26, "ovis": 1}
IMG_DIRS = {2019: "JPEGImages", 2021: "JPEGImages", "ovis": ""}
# YouTube-VIS frames are every 5th frame of 30 fps videos; OVIS does not give the source frame rate.
FPS = {2019: 6, 2021: 6, "ovis": None}


@DATASETS.register_module()
class YouTubeVISPeopleDataset(BaseVideoDataset):
    """Binary people segmentation (and person instances with tracks) from YouTube-VIS style JSON.

    Args:
        data_root: folder of the split's frames (e.g. ``ytvis_2021/train``, ``ovis/train``).
        ann_file: the JSON, absolute or relative to ``data_root``.
        version: 2019, 2021 or ``'ovis'``; selects the person category id (1, 26, 1), ``img_dir`` and fps.
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`; ``sequences``
            are video folder names (the directory part of ``file_names``).
        person_category_id: overrides the version's person category; its name must be "person".
        img_dir: overrides the version's frame folder under ``data_root``.
        skip_videos_without_people: leave out videos with no person annotation.
    """

    def __init__(
        self,
        data_root: str | Path,
        ann_file: str | Path,
        version: int | str = 2019,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        person_category_id: int | None = None,
        img_dir: str | None = None,
        skip_videos_without_people: bool = False,
        **kwargs,
    ):
        if version not in PERSON_CATEGORY_IDS:
            raise ValueError(
                f"YouTubeVISPeopleDataset: version must be one of {list(PERSON_CATEGORY_IDS)}, got {version!r}"
            )
        self.version = version
        self.ann_path = Path(data_root) / ann_file
        self.person_category_id = (
            PERSON_CATEGORY_IDS[version] if person_category_id is None else person_category_id
        )
        self.img_dir = IMG_DIRS[version] if img_dir is None else img_dir
        self.skip_videos_without_people = skip_videos_without_people
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _read_json(self) -> dict:
        if not self.ann_path.is_file():
            raise VideoDataError(f"{self.ann_path}: annotation file not found")
        try:
            content = json.loads(self.ann_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise VideoDataError(f"{self.ann_path}: invalid JSON ({error})") from error
        if not isinstance(content, dict) or not isinstance(content.get("videos"), list):
            raise VideoDataError(f"{self.ann_path}: no 'videos' list (not a YouTube-VIS annotation file)")
        return content

    def _check_person_category(self, categories: list | None) -> None:
        by_id = {c.get("id"): c.get("name") for c in categories or [] if isinstance(c, dict)}
        if self.person_category_id not in by_id:
            raise VideoDataError(
                f"{self.ann_path}: person category id {self.person_category_id} (version {self.version!r}) "
                f"not in 'categories' {sorted(by_id, key=str)}"
            )
        name = by_id[self.person_category_id]
        if str(name).lower() != "person":
            raise VideoDataError(
                f"{self.ann_path}: category {self.person_category_id} is {name!r}, not 'person' "
                f"(wrong version {self.version!r}? set person_category_id)"
            )

    def _video(self, video: dict) -> tuple[dict, list[int]]:
        """The info of one JSON video (without annotations) and its [height, width]."""
        missing = [key for key in ("id", "file_names", "height", "width") if key not in video]
        if missing:
            raise VideoDataError(f"{self.ann_path}: video {video.get('id')!r} lacks {missing}")
        file_names = video["file_names"]
        if not file_names:
            raise VideoDataError(f"{self.ann_path}: video {video['id']!r} has no 'file_names'")
        name = Path(file_names[0]).parent.as_posix()
        length = video.get("length", len(file_names))
        if length != len(file_names):
            raise VideoDataError(
                f"{self.ann_path}: video {name!r} has length {length} but {len(file_names)} file_names"
            )
        img_root = Path(self.data_root) / self.img_dir
        info = dict(
            video_id=name,
            frame_paths=[str(img_root / f) for f in file_names],
            num_video_frames=len(file_names),
            fps=FPS[self.version],
            label_mode=None,
            ann_file=str(self.ann_path),
            ann_video_id=video["id"],
        )
        return info, [video["height"], video["width"]]

    def _check_track(self, annotation: dict, info: dict, size: list[int]) -> list:
        segmentations = annotation.get("segmentations")
        where = f"{self.ann_path}: annotation {annotation.get('id')!r} of video {info['video_id']!r}"
        if not isinstance(segmentations, list) or len(segmentations) != info["num_video_frames"]:
            count = len(segmentations) if isinstance(segmentations, list) else segmentations
            raise VideoDataError(f"{where} has {count} segmentations for {info['num_video_frames']} frames")
        for t, rle in enumerate(segmentations):
            if rle is None:
                continue
            rle_size = rle.get("size") if isinstance(rle, dict) else None
            if rle_size is None or list(rle_size) != size:
                raise VideoDataError(
                    f"{where}, frame {t}: RLE size {rle_size} differs from the video's [height, width] {size}"
                )
        return segmentations

    def _add_people(self, info: dict, size: list[int], annotations: list[dict]) -> dict:
        """``info`` with the RLEs of its person tracks and crowds (``annotations``, in id order) per frame."""
        tracks = [a for a in annotations if not a.get("iscrowd")]
        mask_rles = [[] for _ in range(info["num_video_frames"])]
        for track_id, annotation in enumerate(tracks, start=1):
            for t, rle in enumerate(self._check_track(annotation, info, size)):
                if rle is not None:
                    mask_rles[t].append([track_id, rle])
        void_rles = [[] for _ in range(info["num_video_frames"])]
        for annotation in annotations:
            if annotation.get("iscrowd"):
                for t, rle in enumerate(self._check_track(annotation, info, size)):
                    if rle is not None:
                        void_rles[t].append(rle)
        return dict(
            info,
            label_mode="instance",
            mask_rles=mask_rles,
            void_rles=void_rles,
            track_annotation_ids=[a["id"] for a in tracks],
        )

    def load_video_infos(self) -> list[dict]:
        content = self._read_json()
        infos, sizes, json_ids = {}, {}, {}
        for video in content["videos"]:
            info, size = self._video(video)
            name = info["video_id"]
            if name in infos:
                raise VideoDataError(f"{self.ann_path}: two videos in folder {name!r}")
            infos[name], sizes[name], json_ids[video["id"]] = info, size, name
        names = self.select_sequences(list(infos), self.ann_path)
        annotations = content.get("annotations")
        if annotations is not None:
            self._check_person_category(content.get("categories"))
            people = {name: [] for name in names}
            for annotation in sorted(annotations, key=lambda a: a.get("id", 0)):
                if annotation.get("category_id") != self.person_category_id:
                    continue
                if annotation.get("video_id") not in json_ids:
                    raise VideoDataError(
                        f"{self.ann_path}: annotation {annotation.get('id')!r} refers to unknown video id "
                        f"{annotation.get('video_id')!r}"
                    )
                name = json_ids[annotation["video_id"]]
                if name in people:
                    people[name].append(annotation)
            if self.skip_videos_without_people:
                names = [name for name in names if people[name]]
            for name in names:
                infos[name] = self._add_people(infos[name], sizes[name], people[name])
        for name in names:
            folder = Path(infos[name]["frame_paths"][0]).parent
            if not folder.is_dir():
                raise VideoDataError(
                    f"{folder}: frame folder of video {name!r} (in {self.ann_path}) not found"
                )
        return [infos[name] for name in names]
