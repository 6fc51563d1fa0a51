"""``VideoMatteDataset``: foreground and alpha clips in the VideoMatte240K layout, for compositing.

```
<data_root>/fgr/<clip>/<frame>.jpg|png   foreground colours (frame names sort in time order)
<data_root>/pha/<clip>/<frame>.jpg|png   alpha, single channel, one per foreground frame (same name)
```
VideoMatte240K ships each split in this layout (``VideoMatte240K_JPEG_SD/train``, ``.../test``); the same
layout with PNG files reads the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .alpha_pairs import pair_alpha_files
from .base_video_dataset import BaseVideoDataset, list_frame_files
from .errors import VideoDataError


@DATASETS.register_module()
class VideoMatteDataset(BaseVideoDataset):
    """Foreground + alpha video clips, one entry per clip (``video_id`` = the clip folder's name).

    A clip's frames are its foreground images: ``frame_paths`` and ``fgr_paths`` both list them and
    ``alpha_paths`` the matching alpha files. In training, ``LoadVideoClip`` reads the foreground as ``imgs``,
    ``LoadClipAnnotations(with_sem_seg=False, with_alpha=True)`` the alpha, and
    ``ClipComposite(frames_are_foreground=True)`` puts the foreground over a background and makes it ``gt_fgr``
    (each file is decoded once). ``with_fgr=True`` loads ``gt_fgr`` from the same files where nothing composites.
    There are no masks (``label_mode`` None): ``SemSegFromAlpha`` makes the person mask ``alpha >= 0.5``.

    Args:
        data_root: the folder holding ``fgr_dir`` and ``pha_dir``.
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        fgr_dir, pha_dir: the foreground and alpha folders under ``data_root``.
        fps: frame rate reported for the clips (the layout stores none).
    """

    def __init__(
        self,
        data_root: str | Path,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        fgr_dir: str = "fgr",
        pha_dir: str = "pha",
        fps: float | None = None,
        **kwargs,
    ):
        self.fgr_dir = fgr_dir
        self.pha_dir = pha_dir
        self.fps = fps
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def load_video_infos(self) -> list[dict]:
        fgr_root = Path(self.data_root) / self.fgr_dir
        if not fgr_root.is_dir():
            raise VideoDataError(
                f"{fgr_root}: foreground folder not found (a VideoMatte layout has {self.fgr_dir}/)"
            )
        clips = sorted(p.name for p in fgr_root.iterdir() if p.is_dir())
        if not clips:
            raise VideoDataError(f"{fgr_root}: no clip folders")
        infos = []
        for clip in self.select_sequences(clips, fgr_root):
            foregrounds = list_frame_files(fgr_root / clip)
            infos.append(
                dict(
                    video_id=clip,
                    frame_paths=foregrounds,
                    fgr_paths=foregrounds,
                    alpha_paths=pair_alpha_files(foregrounds, Path(self.data_root) / self.pha_dir / clip),
                    num_video_frames=len(foregrounds),
                    fps=self.fps,
                    label_mode=None,
                )
            )
        return infos
