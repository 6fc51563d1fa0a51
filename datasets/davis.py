"""``DAVISDataset``: DAVIS 2016 / 2017 in the original layout.

```
<root>/JPEGImages/<resolution>/<sequence>/00000.jpg
<root>/Annotations/<resolution>/<sequence>/00000.png   2016: binary 0/255; 2017: palette instance ids
<root>/ImageSets/<year>/<split>.txt                     one sequence per line (read only when split is given)
```
Person segmentation treats every annotated object as person (2017: any id > 0; ids become track ids).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset, check_per_frame_files, list_frame_files
from .errors import VideoDataError
from .video_io import read_single_channel_png

DAVIS_FPS = 24


@DATASETS.register_module()
class DAVISDataset(BaseVideoDataset):
    """DAVIS 2016 (binary masks) or 2017 (instance ids).

    Args:
        data_root: the DAVIS root (holding ``JPEGImages/`` and ``Annotations/``).
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        resolution: ``'480p'`` or ``'Full-Resolution'`` (the sub-folder name).
        year: 2016 or 2017; selects the mask format and the ``ImageSets/<year>`` folder.
        split: read the sequence list from ``ImageSets/<year>/<split>.txt``; None = every sequence folder.
    """

    def __init__(
        self,
        data_root: str | Path,
        pipeline: Sequence[dict | Callable] = (),
        resolution: str = "480p",
        year: int = 2016,
        split: str | None = None,
        sequences: Sequence[str] | None = None,
        test_mode: bool = False,
        clip_len: int | None = None,
        **kwargs,
    ):
        if year not in (2016, 2017):
            raise ValueError(f"DAVISDataset: year must be 2016 or 2017, got {year!r}")
        self.resolution = resolution
        self.year = year
        self.split = split
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _split_sequences(self, root: Path) -> list[str]:
        path = root / "ImageSets" / str(self.year) / f"{self.split}.txt"
        if not path.is_file():
            raise VideoDataError(f"{path}: split file not found")
        names = []
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            # The 2016 release lists frame paths ("/JPEGImages/480p/bear/00000.jpg ..."), later ones names.
            first = line.split()[0]
            name = Path(first).parent.name if "/" in first else first
            if name not in names:
                names.append(name)
        return names

    def load_video_infos(self) -> list[dict]:
        root = Path(self.data_root)
        frame_root = root / "JPEGImages" / self.resolution
        mask_root = root / "Annotations" / self.resolution
        for folder in (frame_root, mask_root):
            if not folder.is_dir():
                raise VideoDataError(f"{folder}: folder not found (expected the DAVIS layout)")
        if self.split is None:
            names = self.select_sequences(
                sorted(p.name for p in frame_root.iterdir() if p.is_dir()), frame_root
            )
        else:
            names = self.select_sequences(self._split_sequences(root), root / "ImageSets" / str(self.year))
        infos = []
        for name in names:
            frames = list_frame_files(frame_root / name, (".jpg", ".jpeg"))
            masks = list_frame_files(mask_root / name, (".png",))
            check_per_frame_files(
                masks, mask_root / name, "mask", len(frames), [Path(p).stem for p in frames]
            )
            if self.year == 2016:
                _check_binary_mask(Path(masks[0]))
            infos.append(
                dict(
                    video_id=name,
                    frame_paths=frames,
                    num_video_frames=len(frames),
                    mask_paths=masks,
                    fps=DAVIS_FPS,
                    label_mode="binary" if self.year == 2016 else "instance",
                )
            )
        return infos


def _check_binary_mask(path: Path) -> None:
    """DAVIS 2016 masks hold 0 / 255; instance ids (1, 2, ...) mean a DAVIS 2017 set, read with year=2017.

    Reading one mask per sequence at load time turns the mix-up into one clear error instead of a "values
    [1, 2] in a binary mask" failure in the middle of a run.
    """
    ids = np.setdiff1d(read_single_channel_png(path), (0, 255)).tolist()
    if ids:
        raise VideoDataError(
            f"{path}: values {ids} in a DAVIS 2016 (binary 0/255) mask look like DAVIS 2017 instance ids: "
            "use DAVISDataset(year=2017)"
        )
