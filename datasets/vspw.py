"""``VSPWDataset``: VSPW (video scene parsing, 124 classes) in its original layout.

```
<root>/data/<video>/origin/<frame>.jpg   frames (annotated at 15 fps)
<root>/data/<video>/mask/<frame>.png     uint8 labels: 1..124 = classes, 0 ("others") and 255 = void
<root>/{train,val,test}.txt              one video name per line (the test split has no masks)
```
Labels are read with ``label_mode='semantic_reduce_zero'``: class k is stored as k + 1, so ``gt_sem_seg``
holds 0..123 and 255 (ignore); the transform needs ``LoadClipAnnotations(num_classes=124)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from steadyseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset, check_per_frame_files, list_frame_files
from .errors import VideoDataError

VSPW_FPS = 15
UNLABELLED_SPLITS = ("test",)

VSPW_CLASSES = (
    "wall", "ceiling", "door", "stair", "ladder", "escalator", "Playground_slide", "handrail_or_fence",
    "window", "rail", "goal", "pillar", "pole", "floor", "ground", "grass", "sand", "athletic_field", "road",
    "path", "crosswalk", "building", "house", "bridge", "tower", "windmill", "well_or_well_lid",
    "other_construction", "sky", "mountain", "stone", "wood", "ice", "snowfield", "grandstand", "sea", "river",
    "lake", "waterfall", "water", "billboard_or_Bulletin_Board", "sculpture", "pipeline", "flag",
    "parasol_or_umbrella", "cushion_or_carpet", "tent", "roadblock", "car", "bus", "truck", "bicycle",
    "motorcycle", "wheeled_machine", "ship_or_boat", "raft", "airplane", "tyre", "traffic_light", "lamp",
    "person", "cat", "dog", "horse", "cattle", "other_animal", "tree", "flower", "other_plant", "toy",
    "ball_net", "backboard", "skateboard", "bat", "ball", "cupboard_or_showcase_or_storage_rack", "box",
    "traveling_case_or_trolley_case", "basket", "bag_or_package", "trash_can", "cage", "plate",
    "tub_or_bowl_or_pot", "bottle_or_cup", "barrel", "fishbowl", "bed", "pillow", "table_or_desk",
    "chair_or_seat", "bench", "sofa", "shelf", "bathtub", "gun", "commode", "roaster", "other_machine",
    "refrigerator", "washing_machine", "Microwave_oven", "fan", "curtain", "textiles", "clothes",
    "painting_or_poster", "mirror", "flower_pot_or_vase", "clock", "book", "tool", "blackboard", "tissue",
    "screen_or_television", "computer", "printer", "Mobile_phone", "keyboard", "other_electronic_product",
    "fruit", "food", "instrument", "train",
)  # fmt: skip


@DATASETS.register_module()
class VSPWDataset(BaseVideoDataset):
    """VSPW videos of one split; ``metainfo['classes']`` are the 124 class names (index = class id).

    Args:
        data_root: the VSPW root (holding ``data/`` and the split files), e.g. ``VSPW_480p``.
        split: reads ``<data_root>/<split>.txt``; ``'test'`` has no masks (``label_mode`` None).
        pipeline, test_mode, clip_len, sequences, **kwargs: see :class:`BaseVideoDataset`.
    """

    METAINFO = dict(classes=VSPW_CLASSES)

    def __init__(
        self,
        data_root: str | Path,
        split: str = "train",
        pipeline: Sequence[dict | Callable] = (),
        test_mode: bool = False,
        clip_len: int | None = None,
        sequences: Sequence[str] | None = None,
        **kwargs,
    ):
        self.split = split
        super().__init__(data_root, pipeline, test_mode, clip_len, sequences, **kwargs)

    def _split_videos(self) -> tuple[list[str], Path]:
        path = Path(self.data_root) / f"{self.split}.txt"
        if not path.is_file():
            raise VideoDataError(f"{path}: split file not found (expected the VSPW layout)")
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return self.select_sequences(names, path), path

    def load_video_infos(self) -> list[dict]:
        names, split_file = self._split_videos()
        labelled = self.split not in UNLABELLED_SPLITS
        infos = []
        for name in names:
            video_root = Path(self.data_root) / "data" / name
            if not video_root.is_dir():
                raise VideoDataError(
                    f"{video_root}: video folder of {name!r} (listed in {split_file}) not found"
                )
            frames = list_frame_files(video_root / "origin", (".jpg", ".jpeg", ".png"))
            info = dict(
                video_id=name,
                frame_paths=frames,
                num_video_frames=len(frames),
                fps=VSPW_FPS,
                label_mode="semantic_reduce_zero" if labelled else None,
            )
            if labelled:
                masks = list_frame_files(video_root / "mask", (".png",))
                check_per_frame_files(
                    masks, video_root / "mask", "mask", len(frames), [Path(p).stem for p in frames]
                )
                info["mask_paths"] = masks
            infos.append(info)
        return infos
