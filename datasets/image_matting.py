"""``ImageMattingDataset``: foreground + alpha photos in the common ``fg/`` + ``alpha/`` layout (AIM, Distinctions-646,
P3M), each a one-frame clip for ``ClipRandomAffineMotion`` to animate.

```
<data_root>/<fg_dir>/<name>.jpg|png      foreground colours
<data_root>/<alpha_dir>/<name>.jpg|png   alpha, single channel, the same name
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .alpha_pairs import pair_alpha_files
from .base_video_dataset import BaseVideoDataset, list_frame_files


@DATASETS.register_module()
class ImageMattingDataset(BaseVideoDataset):
    """Image matting sets as one-frame videos (``video_id`` = the file's stem).

    As in :class:`~steadyseg.datasets.VideoMatteDataset`, the frame is the foreground (``frame_paths`` and
    ``fgr_paths``), ``alpha_paths`` its matte and ``label_mode`` None. A training pipeline turns each photo into
    a clip: ``SampleClipFrames(clip_len=1)``, ``LoadVideoClip``, ``LoadClipAnnotations(with_sem_seg=False,
    with_alpha=True)``, ``ClipRandomAffineMotion(num_frames=T, with_flow=False)``, then the compositing steps.

    Args:
        data_root: the folder holding ``fg_dir`` and ``alpha_dir``.
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
        fg_dir, alpha_dir: the foreground and alpha folders under ``data_root`` (Distinctions-646: ``FG``,
            ``GT``).
    """

    def __init__(
        self,
        data_root: str | Path,
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        fg_dir: str = "fg",
        alpha_dir: str = "alpha",
        **kwargs,
    ):
        self.fg_dir = fg_dir
        self.alpha_dir = alpha_dir
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def load_video_infos(self) -> list[dict]:
        foregrounds = list_frame_files(Path(self.data_root) / self.fg_dir)
        alphas = pair_alpha_files(foregrounds, Path(self.data_root) / self.alpha_dir)
        infos = {
            Path(foreground).stem: dict(
                video_id=Path(foreground).stem,
                frame_paths=[foreground],
                fgr_paths=[foreground],
                alpha_paths=[alpha],
                num_video_frames=1,
                fps=None,
                label_mode=None,
            )
            for foreground, alpha in zip(foregrounds, alphas)
        }
        return [
            infos[name] for name in self.select_sequences(list(infos), Path(self.data_root) / self.fg_dir)
        ]
