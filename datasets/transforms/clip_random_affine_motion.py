"""``ClipRandomAffineMotion``: a still frame -> a pseudo-clip under smooth random motion, with exact flow."""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from steadyseg.registry import TRANSFORMS

from .clip_geometry import FLOW_KEY, INSTANCE_KEY, LABEL_KEYS, PER_FRAME_KEYS, resample_masks
from .load_clip_annotations import IGNORE_INDEX


def _homogeneous(affine: np.ndarray) -> np.ndarray:
    return np.vstack([affine, [0.0, 0.0, 1.0]])


@TRANSFORMS.register_module()
class ClipRandomAffineMotion(BaseTransform):
    """Animate a one-frame clip into ``num_frames`` frames by a smooth random similarity motion.

    Frame ``t`` shows the source content moved by ``T_t(y) = c + z_t R(theta_t) (y - c) + d_t`` (``c`` the
    image centre; shift ``d_t``, rotation ``theta_t``, zoom ``z_t``), i.e. ``frame_t(x) = source(T_t^-1 x)``.
    Each of the four parameters (x / y shift as fractions of the width / height, angle in degrees, log zoom)
    follows ``p(tau) = v tau + a tau^2 / 2`` with ``tau = t - (num_frames - 1) / 2``: a constant acceleration
    path, identity at the clip's middle so the frames stray from the source symmetrically. Per parameter the
    velocity ``v`` is uniform in ``[-max, max]`` of its ``max_*`` (per frame) and the acceleration ``a``
    uniform in ``[-max_acceleration * max, max_acceleration * max]`` (per frame^2). Draws come from numpy's
    global RNG (seeded by mmengine).

    Every per-frame array of ``clip_geometry`` is resampled with the frame's map (images, foreground and
    alpha bilinear, label maps and instance masks nearest). Where a frame shows points outside the source
    image, images, foreground and alpha continue by border reflection (so
    ``image = alpha * fgr + (1 - alpha) * bg`` keeps holding there), ``gt_seg_maps`` is void (255) so no loss
    is taught on invented content, and ``gt_instance_masks`` are empty: no instance is invented there.
    ``gt_flow`` (T - 1 H x W x 2 float32) is the exact backward flow of the motion,
    ``flow_t(x) = T_{t-1}(T_t^-1 x) - x``, pixel centres at integer coordinates, replacing any input flow.

    Only one-frame clips are accepted (e.g. ``SampleClipFrames(clip_len=1)``): a clip that already moves
    would need its own flow composed with the motion's, which unknown or inexact input flow cannot give.
    The result is a new ``num_frames``-frame video: ``frame_indices`` become ``0 .. num_frames - 1`` and
    ``num_video_frames`` ``num_frames``; the source's index is kept as ``source_frame_index`` and the
    source-to-frame maps ``T_t`` as ``motion_matrices`` (float64 [num_frames, 2, 3]).

    Args:
        num_frames: frames of the pseudo-clip.
        max_translation: largest shift speed per axis, as a fraction of the frame's width / height per frame.
        max_rotation: largest rotation speed, degrees per frame.
        max_scale: largest zoom speed, change of log zoom per frame (0.02 ~ 2% per frame).
        max_acceleration: acceleration range relative to each speed range (0 = constant velocity).
    """

    def __init__(
        self,
        num_frames: int,
        max_translation: float = 0.02,
        max_rotation: float = 1.0,
        max_scale: float = 0.02,
        max_acceleration: float = 0.5,
    ):
        limits = dict(
            max_translation=max_translation,
            max_rotation=max_rotation,
            max_scale=max_scale,
            max_acceleration=max_acceleration,
        )
        if num_frames < 1 or any(value < 0 for value in limits.values()):
            raise ValueError(
                f"ClipRandomAffineMotion: need num_frames >= 1 and non-negative ranges, got "
                f"num_frames={num_frames}, {limits}"
            )
        self.num_frames = num_frames
        self.max_translation = max_translation
        self.max_rotation = max_rotation
        self.max_scale = max_scale
        self.max_acceleration = max_acceleration

    def sample_matrices(self, height: int, width: int) -> np.ndarray:
        """The source-to-frame maps ``T_t`` (float64 [num_frames, 3, 3]) of one random path."""
        speeds = np.array(
            [self.max_translation * width, self.max_translation * height, self.max_rotation, self.max_scale]
        )
        velocity = np.random.uniform(-1.0, 1.0, size=4) * speeds
        acceleration = np.random.uniform(-1.0, 1.0, size=4) * speeds * self.max_acceleration
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        matrices = []
        for t in range(self.num_frames):
            tau = t - (self.num_frames - 1) / 2
            shift_x, shift_y, degrees, log_zoom = velocity * tau + acceleration * tau**2 / 2
            angle = np.deg2rad(degrees)
            linear = np.exp(log_zoom) * np.array(
                [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
            )
            offset = centre - linear @ centre + np.array([shift_x, shift_y])
            matrices.append(_homogeneous(np.hstack([linear, offset[:, None]])))
        return np.stack(matrices)

    @staticmethod
    def backward_flow(previous: np.ndarray, current: np.ndarray, height: int, width: int) -> np.ndarray:
        """``T_prev(T_cur^-1 x) - x`` (H x W x 2 float32) for the 3 x 3 maps ``previous`` and ``current``."""
        relative = previous @ np.linalg.inv(current)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        flow_x = (relative[0, 0] - 1) * xs + relative[0, 1] * ys + relative[0, 2]
        flow_y = relative[1, 0] * xs + (relative[1, 1] - 1) * ys + relative[1, 2]
        return np.stack([flow_x, flow_y], axis=-1).astype(np.float32)

    def transform(self, results: dict) -> dict:
        num_source = len(results["imgs"])
        if num_source != 1:
            raise ValueError(
                f"ClipRandomAffineMotion: video {results.get('video_id')!r} gives a {num_source}-frame clip; "
                "it animates one frame (sample with SampleClipFrames(clip_len=1))"
            )
        height, width = results["imgs"][0].shape[:2]
        matrices = self.sample_matrices(height, width)
        # cv2 reads the source at M x for output pixel x (pixel centres at integers), so M = T_t^-1.
        inverse = [np.linalg.inv(m)[:2] for m in matrices]
        reflect = dict(flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101)
        nearest = dict(flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        for key in PER_FRAME_KEYS:
            if key not in results:
                continue
            source = results[key][0]
            if key == INSTANCE_KEY:
                warps = [partial(cv2.warpAffine, M=m, dsize=(width, height), **nearest) for m in inverse]
                results[key] = [resample_masks(source, warp) for warp in warps]
            else:
                options = dict(nearest, borderValue=IGNORE_INDEX) if key in LABEL_KEYS else reflect
                results[key] = [cv2.warpAffine(source, m, (width, height), **options) for m in inverse]
        results[FLOW_KEY] = [
            self.backward_flow(previous, current, height, width)
            for previous, current in zip(matrices[:-1], matrices[1:])
        ]
        results["source_frame_index"] = int(results["frame_indices"][0])
        results["frame_indices"] = list(range(self.num_frames))
        results["num_video_frames"] = self.num_frames
        results["motion_matrices"] = matrices[:, :2]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_frames={self.num_frames}, max_translation={self.max_translation}, "
            f"max_rotation={self.max_rotation}, max_scale={self.max_scale}, "
            f"max_acceleration={self.max_acceleration})"
        )
