"""``LoadClipAnnotations``: masks, instance tubes, alpha, foreground and flow of the clip's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS
from steadyseg.rle import decode_rle

from ..errors import VideoDataError
from ..video_io import read_flow, read_image_rgb, read_single_channel_png

IGNORE_INDEX = 255
PERSON = 1


@TRANSFORMS.register_module()
class LoadClipAnnotations(BaseTransform):
    """Read the annotations of the frames at ``frame_indices`` (after ``LoadVideoClip``).

    Masks come from PNG files (``mask_paths``) or from COCO RLEs (YouTube-VIS, COCO: ``mask_rles``, per frame
    a list of ``[track_id, rle]`` person masks, which may overlap, and optional ``void_rles``, per frame a
    list of RLEs of regions to ignore, such as crowds, where no person mask lies), and are read according to
    the dataset's ``label_mode``:

    * ``'binary'`` (DAVIS 2016): values 0 / 255 -> background 0 / person 1 (track 1); any other value is an
      error.
    * ``'instance'`` (DAVIS 2017, synthetic, RLEs): PNG instance ids, 0 background, 255 void (ignored), any
      other id a person whose id is its track id; or the RLEs above. Person is the union of the people.
    * ``'semantic'``: class ids 0..num_classes-1, 255 ignored; any other value is an error.
    * ``'semantic_reduce_zero'`` (VSPW): class k stored as k + 1, 0 and 255 void -> classes 0..num_classes-1,
      255 ignored (mmseg's ``reduce_zero_label``); any other value is an error.
    * ``None`` (unlabelled videos: ``UnlabelledVideoDataset``, ``VideoFolderDataset``): with ``with_sem_seg``
      every pixel is 255 (ignored) at the frame's size, so unlabelled clips batch with labelled ones and teach
      only through losses that need no labels (distillation); ``with_instances`` is an error, since an empty
      instance map would teach "no people".

    Args:
        with_sem_seg: add ``gt_seg_maps`` (list of H x W uint8 class ids, 255 = ignore).
        with_raw_sem_seg: add ``gt_seg_maps_raw`` (list of H x W uint8), the mask PNGs' labels as stored, before
            the ``label_mode`` mapping merges any (VSPW's two voids 0 and 255 both become 255 in
            ``gt_seg_maps``; its video consistency tells them apart); all 255 for unlabelled videos, as
            ``gt_seg_maps``. RLE masks store no label map, so they refuse it. Only test pipelines need it: no
            geometric transform moves it, so a pipeline that moves annotations after loading must not ask
            for it (``PackVideoInputs`` refuses raw labels whose size differs from ``gt_seg_maps``).
        with_instances: add the people of the clip as tubes (needs a binary or instance ``label_mode``):
            ``gt_instance_masks`` (list of T H x W x N bool, one channel per track seen in any clip frame),
            ``gt_instance_track_ids`` (int64 [N], ascending) and ``gt_instance_labels`` (int64 [N], person);
            ``PackVideoInputs`` turns them into ``gt_instances``.
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
        with_raw_sem_seg: bool = False,
        with_instances: bool = False,
        with_alpha: bool = False,
        with_fgr: bool = False,
        with_flow: bool = False,
        num_classes: int = 2,
    ):
        self.with_sem_seg = with_sem_seg
        self.with_raw_sem_seg = with_raw_sem_seg
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

    def _labels(self, path: str, raw: np.ndarray, mode: str | None) -> tuple[np.ndarray, dict]:
        """(semantic map, {track id: H x W bool mask}) of one PNG mask."""
        if mode == "binary":
            bad = np.setdiff1d(raw, (0, 255))
            if bad.size:
                raise VideoDataError(
                    f"{path}: values {bad.tolist()} in a binary mask (only 0 and 255 allowed)"
                )
            person = raw == 255
            return person.astype(np.uint8), {PERSON: person} if person.any() else {}
        if mode == "instance":
            semantic = np.where(raw == IGNORE_INDEX, IGNORE_INDEX, (raw > 0) * PERSON).astype(np.uint8)
            ids = np.setdiff1d(raw, (0, IGNORE_INDEX)).tolist()
            return semantic, {track_id: raw == track_id for track_id in ids}
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
            return raw, {}
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
        elif self.with_sem_seg or self.with_raw_sem_seg or self.with_instances:
            if "mask_rles" in results:
                if self.with_raw_sem_seg:
                    raise VideoDataError(
                        f"{results.get('ann_file', 'mask_rles')} (video {results.get('video_id')!r}): RLE "
                        "masks store no label map (with_raw_sem_seg=True)"
                    )
                frames = self._rle_frames(results, indices, shape)
            else:
                paths = self._paths(results, "mask_paths", num_frames)
                stored = [self._read_sized(paths[i], read_single_channel_png, shape) for i in indices]
                frames = [
                    self._labels(paths[i], raw, results.get("label_mode")) for i, raw in zip(indices, stored)
                ]
                if self.with_raw_sem_seg:
                    results["gt_seg_maps_raw"] = stored
            if self.with_sem_seg:
                results["gt_seg_maps"] = [semantic for semantic, _ in frames]
            if self.with_instances:
                self._add_tubes(results, [people for _, people in frames], shape)
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

    @staticmethod
    def _add_tubes(results: dict, people: list[dict], shape: tuple[int, int]) -> None:
        """The clip's people ({track id: mask} per frame) as one H x W x N stack per frame, N the tracks seen
        in any frame (absent from a frame = an empty mask there)."""
        track_ids = sorted(set().union(*people))
        stacks = [np.zeros((*shape, len(track_ids)), bool) for _ in people]
        for frame, stack in zip(people, stacks):
            for channel, track_id in enumerate(track_ids):
                if track_id in frame:
                    stack[..., channel] = frame[track_id]
        results["gt_instance_masks"] = stacks
        results["gt_instance_track_ids"] = np.array(track_ids, np.int64)
        results["gt_instance_labels"] = np.full(len(track_ids), PERSON, np.int64)

    def _unlabelled(self, results: dict, num_frames: int, shape: tuple[int, int]) -> None:
        if self.with_instances:
            video = results.get("video_path") or results.get("video_id")
            raise VideoDataError(
                f"{video}: an unlabelled video (label_mode None) has no instances (with_instances=True)"
            )
        for key, wanted in (("gt_seg_maps", self.with_sem_seg), ("gt_seg_maps_raw", self.with_raw_sem_seg)):
            if wanted:
                results[key] = [np.full(shape, IGNORE_INDEX, np.uint8) for _ in range(num_frames)]

    def _rle_frames(
        self, results: dict, indices: list[int], shape: tuple[int, int]
    ) -> list[tuple[np.ndarray, dict]]:
        """(semantic map, {track id: mask}) of each clip frame from its person and void RLEs."""
        ann_file, video = results.get("ann_file", "mask_rles"), results.get("video_id")
        num_frames = results["num_video_frames"]
        per_frame = {
            key: results[key] if key in results else [[] for _ in range(num_frames)]
            for key in ("mask_rles", "void_rles")
        }
        for key, rles in per_frame.items():
            if len(rles) != num_frames:
                raise VideoDataError(
                    f"{ann_file} (video {video!r}): {len(rles)} frames in {key!r} for {num_frames} expected"
                )
        frames = []
        for i in indices:
            where = f"{ann_file} (video {video!r}, frame {i})"
            people = {}
            for track_id, rle in per_frame["mask_rles"][i]:
                people[track_id] = people.get(track_id, False) | self._decode(
                    rle, where, f"track {track_id}", shape
                )
            semantic = np.zeros(shape, np.uint8)
            for rle in per_frame["void_rles"][i]:
                semantic[self._decode(rle, where, "a void region", shape)] = IGNORE_INDEX
            # A person drawn over a void region (a crowd) is still a person.
            for mask in people.values():
                semantic[mask] = PERSON
            frames.append((semantic, people))
        return frames

    @staticmethod
    def _decode(rle: dict, where: str, what: str, shape: tuple[int, int]) -> np.ndarray:
        try:
            mask = decode_rle(rle)
        except ValueError as error:
            raise VideoDataError(f"{where}: bad RLE of {what} ({error})") from error
        if mask.shape != tuple(shape):
            raise VideoDataError(
                f"{where}: RLE size {mask.shape} of {what} differs from its frame's {tuple(shape)}"
            )
        return mask

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
