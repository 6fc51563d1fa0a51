"""``LoadVideoClip``: decode exactly the frames at ``frame_indices``."""

from __future__ import annotations

import os

from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from ..errors import VideoDataError
from ..video_io import read_image_rgb, read_video_frames


@TRANSFORMS.register_module()
class LoadVideoClip(BaseTransform):
    """Read the clip's frames from ``video_path`` (decord, only the requested frames are decoded) or from
    ``frame_paths`` (one image per frame).

    Needs ``frame_indices`` (from ``SampleClipFrames`` or a test chunk). Adds ``imgs`` (list of RGB uint8
    H x W x 3), ``ori_shape`` and ``img_shape`` (H, W).
    """

    def transform(self, results: dict) -> dict:
        indices = [int(i) for i in results["frame_indices"]]
        if "video_path" in results:
            imgs = read_video_frames(results["video_path"], indices)
        else:
            frame_paths = results["frame_paths"]
            bad = [i for i in indices if not 0 <= i < len(frame_paths)]
            if bad:
                folder = os.path.dirname(frame_paths[0]) if frame_paths else results.get("video_id")
                raise VideoDataError(
                    f"{folder}: frame indices {bad} beyond the folder's {len(frame_paths)} frames"
                )
            imgs = [read_image_rgb(frame_paths[i]) for i in indices]
            for i, img in zip(indices, imgs):
                if img.shape != imgs[0].shape:
                    raise VideoDataError(
                        f"{frame_paths[i]}: frame size {img.shape[:2]} differs from the clip's "
                        f"{imgs[0].shape[:2]}"
                    )
        results["imgs"] = imgs
        results["ori_shape"] = imgs[0].shape[:2]
        results["img_shape"] = imgs[0].shape[:2]
        return results
