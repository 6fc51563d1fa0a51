"""``LoadClipAnnotations``: masks, instance ids, alpha, foreground and flow of the clip's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from ..errors import VideoDataError
from ..rle import decode_rle
from ..video_io import read_flow, read_image_rgb, read_single_channel_png

IGNORE_INDEX = 255
PERSON = 1


@TRANSFORMS.register_module()
class LoadClipAnnotations(BaseTransform):
    """Read the annotations of the frames at ``frame_indices`` (after ``LoadVideoClip``).

    Masks come from PNG files (``mask_paths``) or from COCO RLEs (``mask_rles``: per frame a list of
    ``[id, rle]`` pairs painted in order into an id map, so later ids win where masks overlap; YouTube-VIS),
    and are read according to the dataset's ``label_mode``:

    * ``'binary'`` (DAVIS 2016): values 0 / 255 -> background 0 / person 1; any other value is an error.
    * ``'instance'`` (DAVIS 2017, synthetic, YouTube-VIS): instance ids, 0 background, 255 void (ignored),
      any other id a person whose id is its track id.
    * ``'semantic'``: class ids 0..num_classes-1, 255 ignored; any other value is an error.
    * ``'semantic_reduce_zero'`` (VSPW): class k stored as k + 1, 0 and 255 void -> classes 0..num_classes-1,
      255 ignored (mmseg's ``reduce_zero_label``); any other value is an error.
    * ``None`` (unlabelled videos: ``UnlabelledVideoDataset``, ``VideoFolderDataset``): with ``with_sem_seg``
      every pixel is 255 (ignored) at the frame's size, so unlabelled clips batch with labelled ones and teach
      only through losses that need no labels (distillation); ``with_instances`` is an error, since an empty
      instance map would teach "no people".

    Args:
        with_sem_seg: add ``gt_seg_maps`` (list of H x W uint8 class ids, 255 = ignore).
        with_instances: add ``gt_instance_maps`` (list of H x W uint8 track ids, 0 = none; needs a binary or
            instance ``label_mode``); ``PackVideoInputs`` turns them into ``gt_instances``.
        with_alpha: add ``gt_alpha`` (list of H x W uint8) from ``alpha_paths``.
        with_fgr: add ``gt_fgr`` (list of H x W x 3 uint8 RGB) from ``fgr_paths``.
        with_flow: add ``gt_flow`` (list of T - 1 H x W x 2 float32 backward flows between consecutive clip
            frames) from ``flow_paths``; the clip must step by one frame (or repeat a frame, zero flow),
            since the flow across a larger step cannot be derived exactly from per-frame flows.
        num_classes: classes of the dataset, for the check of ``'semantic'`` / ``'semantic_reduce_zero'``
            masks.
    """

    def __init__(
        self,
        with_sem_seg: bool = True,
        with_instances: bool = False,
        with_alpha: bool = False,
        with_fgr: bool = False,
        with_flow: bool = False,
        num_classes: int = 2,
    ):
        self.with_sem_seg = with_sem_seg
        self.with_instances = with_instances
        self.with_alpha = with_alpha
        self.with_fgr = with_fgr
        self.with_flow = with_flow
        self.num_classes = num_classes

    @staticmethod
    def _paths(results: dict, key: str, num_expected: int) -> list[str]:
        paths = results.get(key)
        video = results.get("video_path") or results.get("video_id")
        if paths is None:
            raise VideoDataError(f"{video}: the dataset gives no {key!r} for this video")
        if len(paths) != num_expected:
            folder = Path(paths[0]).parent if paths else video
            raise VideoDataError(f"{folder}: {len(paths)} files in {key!r} for {num_expected} expected")
        return paths

    @staticmethod
    def _read_sized(path: str, reader, shape: tuple[int, int]) -> np.ndarray:
        array = reader(path)
        if array.shape[:2] != tuple(shape):
            raise VideoDataError(f"{path}: size {array.shape[:2]} differs from its frame's {tuple(shape)}")
        return array

    def _labels(self, path: str, raw: np.ndarray, mode: str | None) -> tuple[np.ndarray, np.ndarray]:
        """(semantic map, instance id map) of one mask."""
        if mode == "binary":
            bad = np.setdiff1d(raw, (0, 255))
            if bad.size:
                raise VideoDataError(
                    f"{path}: values {bad.tolist()} in a binary mask (only 0 and 255 allowed)"
                )
            person = raw == 255
            return person.astype(np.uint8), person.astype(np.uint8)
        if mode == "instance":
            semantic = np.where(raw == IGNORE_INDEX, IGNORE_INDEX, (raw > 0) * PERSON).astype(np.uint8)
            return semantic, np.where(raw == IGNORE_INDEX, 0, raw).astype(np.uint8)
        if mode in ("semantic", "semantic_reduce_zero"):
            shift = int(mode == "semantic_reduce_zero")
            bad = np.setdiff1d(raw, [*range(self.num_classes + shift), IGNORE_INDEX])
            if bad.size:
                void = "(stored as 1..N; 0 and 255 = void)" if shift else "(255 = ignore)"
                raise VideoDataError(
                    f"{path}: labels {bad.tolist()} outside the dataset's {self.num_classes} classes {void}"
                )
            if self.with_instances:
                raise VideoDataError(f"{path}: semantic masks carry no instances (with_instances=True)")
            if shift:
                # uint8 arithmetic wraps the void 0 to 255, the ignore index.
                raw = np.where(raw == IGNORE_INDEX, IGNORE_INDEX, raw - 1).astype(np.uint8)
            return raw, raw
        raise VideoDataError(
            f"{path}: label_mode {mode!r} cannot be read as masks "
            "(binary / instance / semantic / semantic_reduce_zero)"
        )

    def transform(self, results: dict) -> dict:
        indices = [int(i) for i in results["frame_indices"]]
        num_frames = results["num_video_frames"]
        shape = results["ori_shape"]
        if results.get("label_mode", "") is None:
            self._unlabelled(results, len(indices), shape)
        elif self.with_sem_seg or self.with_instances:
            semantic, instances = [], []
            for source, raw in self._raw_masks(results, indices, shape):
                sem, inst = self._labels(source, raw, results.get("label_mode"))
                semantic.append(sem)
                instances.append(inst)
            if self.with_sem_seg:
                results["gt_seg_maps"] = semantic
            if self.with_instances:
                results["gt_instance_maps"] = instances
        if self.with_alpha:
            paths = self._paths(results, "alpha_paths", num_frames)
            results["gt_alpha"] = [
                self._read_sized(paths[i], read_single_channel_png, shape) for i in indices
            ]
        if self.with_fgr:
            paths = self._paths(results, "fgr_paths", num_frames)
            results["gt_fgr"] = [self._read_sized(paths[i], read_image_rgb, shape) for i in indices]
        if self.with_flow:
            results["gt_flow"] = self._flows(results, indices, shape)
        return results

    def _unlabelled(self, results: dict, num_frames: int, shape: tuple[int, int]) -> None:
        if self.with_instances:
            video = results.get("video_path") or results.get("video_id")
            raise VideoDataError(
                f"{video}: an unlabelled video (label_mode None) has no instances (with_instances=True)"
            )
        if self.with_sem_seg:
            results["gt_seg_maps"] = [np.full(shape, IGNORE_INDEX, np.uint8) for _ in range(num_frames)]

    def _raw_masks(
        self, results: dict, indices: list[int], shape: tuple[int, int]
    ) -> list[tuple[str, np.ndarray]]:
        """(name for errors, uint8 H x W map) of each clip frame, from PNG files or from RLEs."""
        if "mask_rles" not in results:
            paths = self._paths(results, "mask_paths", results["num_video_frames"])
            return [(paths[i], self._read_sized(paths[i], read_single_channel_png, shape)) for i in indices]
        per_frame = results["mask_rles"]
        ann_file, video = results.get("ann_file", "mask_rles"), results.get("video_id")
        if len(per_frame) != results["num_video_frames"]:
            raise VideoDataError(
                f"{ann_file} (video {video!r}): {len(per_frame)} frames in 'mask_rles' for "
                f"{results['num_video_frames']} expected"
            )
        maps = []
        for i in indices:
            name = f"{ann_file} (video {video!r}, frame {i})"
            raw = np.zeros(shape, np.uint8)
            for value, rle in per_frame[i]:
                try:
                    mask = decode_rle(rle)
                except ValueError as error:
                    raise VideoDataError(f"{name}: bad RLE of id {value} ({error})") from error
                if mask.shape != tuple(shape):
                    raise VideoDataError(
                        f"{name}: RLE size {mask.shape} differs from its frame's {tuple(shape)}"
                    )
                raw[mask] = value
            maps.append((name, raw))
        return maps

    def _flows(self, results: dict, indices: list[int], shape: tuple[int, int]) -> list[np.ndarray]:
        paths = self._paths(results, "flow_paths", results["num_video_frames"] - 1)
        flows = []
        for previous, current in zip(indices[:-1], indices[1:]):
            if current == previous:
                flows.append(np.zeros((*shape, 2), np.float32))
            elif current == previous + 1:
                flows.append(read_flow(paths[current - 1], shape))
            else:
                video = results.get("video_path") or results.get("video_id")
                raise VideoDataError(
                    f"{video}: with_flow needs consecutive frames (stride 1), got frame_indices {indices}"
                )
        return flows
