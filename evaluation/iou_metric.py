"""``VideoIoUMetric``: dataset-level mIoU over every frame of every clip."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from steadyseg.registry import METRICS

from .functional import group_clips, intersect_and_union, unpack_clip


@METRICS.register_module()
class VideoIoUMetric(BaseMetric):
    """Per-class intersection and union summed over all frames, then ``IoU_c = I_c / U_c``.

    Produces ``mIoU`` (mean over classes that occur in the ground truth or the prediction somewhere; a class
    absent from both is NaN and skipped), ``aAcc`` (accuracy over non-ignored pixels) and ``IoU.<class>``,
    all as fractions in [0, 1]. Class names come from ``class_names``, else from the dataset's
    ``metainfo['classes']``, else the class index.

    Each clip is reduced to three ``[num_classes]`` count vectors at once. Counts are integers, so the result
    does not depend on how videos are cut into clips or in which order clips arrive.
    """

    undefined_when = {
        "mIoU": "no class occurs in the ground truth or the prediction of any frame",
        "aAcc": "every ground-truth pixel is ignored",
        "IoU.*": "the class occurs in neither the ground truth nor the prediction of any frame",
    }

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        class_names: Sequence[str] | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(prefix=prefix)
        if num_classes < 1:
            raise ValueError(f"VideoIoUMetric: num_classes must be >= 1, got {num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"VideoIoUMetric: class_names has {len(class_names)} names for num_classes={num_classes}"
            )
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = None if class_names is None else list(class_names)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            clip = unpack_clip(data_sample, type(self).__name__, ("gt_sem_seg", "pred_sem_seg"))
            video_id, frame_indices = clip.video_id, clip.frame_indices
            gt, pred = clip.arrays["gt_sem_seg"], clip.arrays["pred_sem_seg"]
            try:
                intersection, union, gt_area = intersect_and_union(
                    pred, gt, self.num_classes, self.ignore_index
                )
            except ValueError as error:
                raise ValueError(f"VideoIoUMetric: video {video_id!r}: {error}") from None
            self.results.append(
                dict(
                    video_id=video_id,
                    frame_indices=frame_indices,
                    intersection=intersection,
                    union=union,
                    gt_area=gt_area,
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        clips = [clip for video in group_clips(results, type(self).__name__).values() for clip in video]
        zeros = np.zeros(self.num_classes, dtype=np.int64)
        intersection = sum((clip["intersection"] for clip in clips), zeros)
        union = sum((clip["union"] for clip in clips), zeros)
        gt_area = sum((clip["gt_area"] for clip in clips), zeros)
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = intersection / union
        seen = ~np.isnan(iou)
        metrics = {
            "mIoU": float(iou[seen].mean()) if seen.any() else float("nan"),
            "aAcc": float(intersection.sum() / gt_area.sum()) if gt_area.sum() else float("nan"),
        }
        for name, value in zip(self._names(), iou):
            metrics[f"IoU.{name}"] = float(value)
        return metrics

    def _names(self) -> list[str]:
        if self.class_names is not None:
            return self.class_names
        classes = (self.dataset_meta or {}).get("classes")
        if classes is not None and len(classes) == self.num_classes:
            return [str(name) for name in classes]
        return [str(index) for index in range(self.num_classes)]
