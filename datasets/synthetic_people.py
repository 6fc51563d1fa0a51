"""``SyntheticPeopleDataset``: the layout ``tools/make_synthetic.py`` writes.

```
<root>/meta.json                             {"seed", "size": [H, W], "fps", "num_frames", "classes",
                                              "format": "frames"|"mp4", "splits": {"train": [...], ...}}
<root>/<split>/JPEGImages/<video>/00000.jpg  frames (format "frames")
<root>/<split>/videos/<video>.mp4            frames (format "mp4")
<root>/<split>/Annotations/<video>/00000.png palette PNG of instance ids (0 background, k > 0 track k)
<root>/<split>/alpha/<video>/00000.png       uint8 alpha of all people
<root>/<split>/fgr/<video>/00000.jpg         foreground colours
<root>/<split>/flow/<video>/00001.npy        float32 [2, H, W] backward flow of frame t >= 1
<root>/<split>/instances.json                YouTube-VIS 2019 style (the same tracks as the id maps)
```
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset, check_per_frame_files, list_frame_files
from .errors import VideoDataError
from .video_io import open_video


def read_meta(root: Path) -> dict:
    path = root / "meta.json"
    if not path.is_file():
        raise VideoDataError(f"{path}: meta.json not found (is {root} a synthetic dataset root?)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise VideoDataError(f"{path}: invalid JSON ({error})") from error
    for key in ("splits", "format", "fps"):
        if key not in meta:
            raise VideoDataError(f"{path}: missing key {key!r}")
    if meta["format"] not in ("frames", "mp4"):
        raise VideoDataError(f"{path}: 'format' must be 'frames' or 'mp4', got {meta['format']!r}")
    return meta


@DATASETS.register_module()
class SyntheticPeopleDataset(BaseVideoDataset):
    """Synthetic people videos with instance ids, alpha, foreground and exact flow.

    Args:
        data_root: the generator's output root (holding ``meta.json``).
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        split: a key of ``meta.json``'s ``splits``.
        with_alpha, with_fgr, with_flow: also list alpha / foreground / flow files (and check they exist).
    """

    def __init__(
        self,
        data_root: str | Path,
        pipeline: Sequence[dict | Callable] = (),
        split: str = "train",
        with_alpha: bool = False,
        with_fgr: bool = False,
        with_flow: bool = False,
        sequences: Sequence[str] | None = None,
        test_mode: bool = False,
        clip_len: int | None = None,
        **kwargs,
    ):
        self.meta = read_meta(Path(data_root))
        if split not in self.meta["splits"]:
            raise VideoDataError(
                f"{Path(data_root) / 'meta.json'}: split {split!r} not in 'splits' "
                f"{list(self.meta['splits'])}"
            )
        self.split = split
        self.with_alpha = with_alpha
        self.with_fgr = with_fgr
        self.with_flow = with_flow
        if "classes" in self.meta and "metainfo" not in kwargs:
            kwargs["metainfo"] = dict(classes=tuple(self.meta["classes"]))
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _video_frames(self, split_root: Path, video: str) -> dict:
        if self.meta["format"] == "mp4":
            path = split_root / "videos" / f"{video}.mp4"
            return dict(video_path=str(path), num_video_frames=len(open_video(path)))
        frames = list_frame_files(split_root / "JPEGImages" / video)
        return dict(frame_paths=frames, num_video_frames=len(frames))

    def load_video_infos(self) -> list[dict]:
        split_root = Path(self.data_root) / self.split
        videos = self.select_sequences(
            list(self.meta["splits"][self.split]), Path(self.data_root) / "meta.json"
        )
        infos = []
        for video in videos:
            info = dict(video_id=video, fps=self.meta["fps"], label_mode="instance")
            info.update(self._video_frames(split_root, video))
            num_frames = info["num_video_frames"]
            if "frame_paths" in info:
                stems = [Path(p).stem for p in info["frame_paths"]]
            else:
                stems = [f"{i:05d}" for i in range(num_frames)]
            per_frame = [("mask_paths", "Annotations", "mask", (".png",), stems)]
            if self.with_alpha:
                per_frame.append(("alpha_paths", "alpha", "alpha", (".png",), stems))
            if self.with_fgr:
                per_frame.append(("fgr_paths", "fgr", "foreground", (".jpg", ".png"), stems))
            if self.with_flow:
                # A one-frame video has no flow files, so there is no folder to require.
                info["flow_paths"] = []
                if num_frames > 1:
                    per_frame.append(("flow_paths", "flow", "flow", (".npy",), stems[1:]))
            for key, folder_name, what, extensions, expected in per_frame:
                folder = split_root / folder_name / video
                paths = list_frame_files(folder, extensions)
                check_per_frame_files(paths, folder, what, len(expected), expected)
                info[key] = paths
            infos.append(info)
        return infos
