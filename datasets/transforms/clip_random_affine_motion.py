"""``ClipRandomAffineMotion``: a still frame -> a pseudo-clip under smooth random motion, with exact flow; or
the same kind of motion added to a clip (matting foregrounds, backgrounds)."""

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


def smooth_similarity_path(
    num_frames: int,
    height: int,
    width: int,
    max_translation: float,
    max_rotation: float,
    max_scale: float,
    max_acceleration: float,
) -> np.ndarray:
    """Random source-to-frame maps ``T_t`` (float64 [num_frames, 3, 3]) of a ``height`` x ``width`` frame: the
    constant-acceleration similarity path that :class:`ClipRandomAffineMotion` describes, identity at the clip's
    middle. Draws come from numpy's global RNG."""
    speeds = np.array([max_translation * width, max_translation * height, max_rotation, max_scale])
    velocity = np.random.uniform(-1.0, 1.0, size=4) * speeds
    acceleration = np.random.uniform(-1.0, 1.0, size=4) * speeds * max_acceleration
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    matrices = []
    for t in range(num_frames):
        tau = t - (num_frames - 1) / 2
        shift_x, shift_y, degrees, log_zoom = velocity * tau + acceleration * tau**2 / 2
        angle = np.deg2rad(degrees)
        linear = np.exp(log_zoom) * np.array(
            [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        )
        offset = centre - linear @ centre + np.array([shift_x, shift_y])
        matrices.append(_homogeneous(np.hstack([linear, offset[:, None]])))
    return np.stack(matrices)


@TRANSFORMS.register_module()
class ClipRandomAffineMotion(BaseTransform):
    """Animate a one-frame clip into ``num_frames`` frames by a smooth random similarity motion, or add such a
    motion to every frame of a clip.

    Frame ``t`` shows the source content moved by ``T_t(y) = c + z_t R(theta_t) (y - c) + d_t`` (``c`` the
    image centre; shift ``d_t``, rotation ``theta_t``, zoom ``z_t``), i.e. ``frame_t(x) = source_t(T_t^-1 x)``,
    where ``source_t`` is the one source frame, or frame ``t`` of a clip being moved. Each of the four parameters
    (x / y shift as fractions of the width / height, angle in degrees, log zoom) follows
    ``p(tau) = v tau + a tau^2 / 2`` with ``tau = t - (num_frames - 1) / 2``: a constant acceleration path,
    identity at the clip's middle so the frames stray from the source symmetrically. Per parameter the
    velocity ``v`` is uniform in ``[-max, max]`` of its ``max_*`` (per frame) and the acceleration ``a``
    uniform in ``[-max_acceleration * max, max_acceleration * max]`` (per frame^2). Draws come from numpy's
    global RNG (seeded by mmengine); :func:`smooth_similarity_path` draws the path.

    Every per-frame array of ``clip_geometry`` is resampled with the frame's map (images, foreground and
    alpha bilinear, label maps and instance masks nearest). Where a frame shows points outside the source
    image, images, foreground and alpha continue by border reflection (so
    ``image = alpha * fgr + (1 - alpha) * bg`` keeps holding there), ``gt_seg_maps`` is void (255) so no loss
    is taught on invented content, and ``gt_instance_masks`` are empty: no instance is invented there.
    With ``with_flow``, ``gt_flow`` (T - 1 H x W x 2 float32) is the exact backward flow of the motion,
    ``flow_t(x) = T_{t-1}(T_t^-1 x) - x``, pixel centres at integer coordinates, replacing any input flow.

    A one-frame clip (e.g. ``SampleClipFrames(clip_len=1)``) becomes a new ``num_frames``-frame video:
    ``frame_indices`` become ``0 .. num_frames - 1`` and ``num_video_frames`` ``num_frames``; the source's index
    is kept as ``source_frame_index``. A clip of more frames is moved frame by frame when ``num_frames`` is None
    and ``with_flow`` False (a matting foreground or background gets motion of its own): its flow would be its
    own motion composed with the added one, which unknown or inexact input flow cannot give, so such a clip
    with ``with_flow`` or with a ``gt_flow`` is refused. The source-to-frame maps ``T_t`` are kept as
    ``motion_matrices`` (float64 [T, 2, 3]).

    Args:
        num_frames: frames of the pseudo-clip made of a one-frame clip; None keeps the clip's length (the only
            choice for clips of more frames).
        max_translation: largest shift speed per axis, as a fraction of the frame's width / height per frame.
        max_rotation: largest rotation speed, degrees per frame.
        max_scale: largest zoom speed, change of log zoom per frame (0.02 ~ 2% per frame).
        max_acceleration: acceleration range relative to each speed range (0 = constant velocity).
        with_flow: write the motion's ``gt_flow``. Without it any ``gt_flow`` of a one-frame clip (an empty list)
            is dropped, so later transforms that refuse flow (``TemporalReverse``, geometric
            ``ClipAlbumentations``, ``ClipComposite``) accept the clip.
    """

    def __init__(
        self,
        num_frames: int | None = None,
        max_translation: float = 0.02,
        max_rotation: float = 1.0,
        max_scale: float = 0.02,
        max_acceleration: float = 0.5,
        with_flow: bool = True,
    ):
        limits = dict(
            max_translation=max_translation,
            max_rotation=max_rotation,
            max_scale=max_scale,
            max_acceleration=max_acceleration,
        )
        if (num_frames is not None and num_frames < 1) or any(value < 0 for value in limits.values()):
            raise ValueError(
                f"ClipRandomAffineMotion: need num_frames >= 1 and non-negative ranges, got "
                f"num_frames={num_frames}, {limits} (num_frames=None keeps the clip's length)"
            )
        self.num_frames = num_frames
        self.max_translation = max_translation
        self.max_rotation = max_rotation
        self.max_scale = max_scale
        self.max_acceleration = max_acceleration
        self.with_flow = with_flow

    @staticmethod
    def backward_flow(previous: np.ndarray, current: np.ndarray, height: int, width: int) -> np.ndarray:
        """``T_prev(T_cur^-1 x) - x`` (H x W x 2 float32) for the 3 x 3 maps ``previous`` and ``current``."""
        relative = previous @ np.linalg.inv(current)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        flow_x = (relative[0, 0] - 1) * xs + relative[0, 1] * ys + relative[0, 2]
        flow_y = relative[1, 0] * xs + (relative[1, 1] - 1) * ys + relative[1, 2]
        return np.stack([flow_x, flow_y], axis=-1).astype(np.float32)

    def _clip_length(self, results: dict) -> int:
        """Frames of the result; refuses what the motion cannot keep exact."""
        num_source = len(results["imgs"])
        where = f"ClipRandomAffineMotion: video {results.get('video_id')!r} gives a {num_source}-frame clip"
        if num_source == 1:
            return self.num_frames or 1
        if self.num_frames is not None:
            raise ValueError(
                f"{where}; it animates one frame (sample with SampleClipFrames(clip_len=1)) into "
                f"num_frames={self.num_frames}, or moves every frame of a clip with num_frames=None and "
                "with_flow=False"
            )
        if self.with_flow or results.get(FLOW_KEY):
            raise ValueError(
                f"{where}: the flow of a clip that already moves cannot follow the added motion; move it with "
                "with_flow=False and without loading gt_flow"
            )
        return num_source

    def transform(self, results: dict) -> dict:
        num_frames = self._clip_length(results)
        animate = len(results["imgs"]) == 1
        height, width = results["imgs"][0].shape[:2]
        matrices = smooth_similarity_path(
            num_frames,
            height,
            width,
            self.max_translation,
            self.max_rotation,
            self.max_scale,
            self.max_acceleration,
        )
        # cv2 reads the source at M x for output pixel x (pixel centres at integers), so M = T_t^-1.
        inverse = [np.linalg.inv(m)[:2] for m in matrices]
        reflect = dict(flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101)
        nearest = dict(flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        for key in PER_FRAME_KEYS:
            if key not in results:
                continue
            sources = results[key] * num_frames if animate else results[key]
            if key == INSTANCE_KEY:
                warps = [partial(cv2.warpAffine, M=m, dsize=(width, height), **nearest) for m in inverse]
                results[key] = [resample_masks(source, warp) for source, warp in zip(sources, warps)]
            else:
                options = dict(nearest, borderValue=IGNORE_INDEX) if key in LABEL_KEYS else reflect
                results[key] = [
                    cv2.warpAffine(source, m, (width, height), **options)
                    for source, m in zip(sources, inverse)
                ]
        if self.with_flow:
            results[FLOW_KEY] = [
                self.backward_flow(previous, current, height, width)
                for previous, current in zip(matrices[:-1], matrices[1:])
            ]
        else:
            results.pop(FLOW_KEY, None)
        if animate:
            results["source_frame_index"] = int(results["frame_indices"][0])
            results["frame_indices"] = list(range(num_frames))
            results["num_video_frames"] = num_frames
        results["motion_matrices"] = matrices[:, :2]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_frames={self.num_frames}, max_translation={self.max_translation}, "
            f"max_rotation={self.max_rotation}, max_scale={self.max_scale}, "
            f"max_acceleration={self.max_acceleration}, with_flow={self.with_flow})"
        )
