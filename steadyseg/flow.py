"""Optical-flow utilities shared by models, losses and metrics: warping, occlusion masks, DIS flow.

Convention (project-wide): the backward flow of frame ``t`` is ``flow_t [2, H, W] = (dx, dy)`` with
``frame_t(x) ~ frame_{t-1}(x + flow_t(x))``. Pixel centres sit at integer coordinates ``0 .. W-1`` and
``0 .. H-1`` (what ``grid_sample`` means by ``align_corners=True``). A clip's ``gt_flow [T-1, 2, H, W]`` holds
the backward flows of frames ``1 .. T-1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

FLOW_SOURCES = ("auto", "data", "dis")


def check_flow_source(flow_source: str, owner: str) -> str:
    """``flow_source`` itself, or a ValueError naming ``owner`` when it is not one of :data:`FLOW_SOURCES`."""
    if flow_source not in FLOW_SOURCES:
        raise ValueError(f"{owner}: flow_source must be one of {FLOW_SOURCES}, got {flow_source!r}")
    return flow_source


def _check_pair(tensor: torch.Tensor, flow: torch.Tensor) -> None:
    if tensor.ndim != 4 or flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"warp: expected tensor [N, C, H, W] and flow [N, 2, H, W], got {tuple(tensor.shape)} and "
            f"{tuple(flow.shape)}"
        )
    if tensor.shape[0] != flow.shape[0] or tensor.shape[-2:] != flow.shape[-2:]:
        raise ValueError(
            f"warp: tensor {tuple(tensor.shape)} and flow {tuple(flow.shape)} differ in N, H or W"
        )


def _inside(x: torch.Tensor, y: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def _gather(tensor: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``tensor [N, C, H, W]`` read at integer pixels ``x, y [N, H, W]`` (clamped into the frame)."""
    n, c, height, width = tensor.shape
    index = (y.clamp(0, height - 1) * width + x.clamp(0, width - 1)).long()
    index = index.view(n, 1, height * width).expand(n, c, height * width)
    return tensor.reshape(n, c, height * width).gather(2, index).view(n, c, height, width)


def warp(
    tensor: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(warped [N, C, H, W], valid bool [N, 1, H, W])``: ``tensor`` sampled at ``x + flow(x)``.

    With backward flow of frame t this brings frame t-1 (or anything aligned with it) onto frame t.
    ``valid`` marks sample points inside the frame. Sampling matches ``F.grid_sample(...,
    align_corners=True, padding_mode='zeros')`` (corners outside the frame count as zero; ``'nearest'`` rounds
    half to even) but reads pixels by index instead of normalized coordinates: the normalization round-off of
    ``grid_sample`` gives an integer shift ~1e-7 weights on neighbouring pixels, and temporal losses must be
    exactly zero for a prediction that follows an integer flow. ``'nearest'`` also keeps integer label maps
    exact. Differentiable with respect to ``tensor`` and, for ``'bilinear'``, ``flow``. Non-finite flow
    vectors give invalid pixels.
    """
    _check_pair(tensor, flow)
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"warp: mode must be 'bilinear' or 'nearest', got {mode!r}")
    if mode == "bilinear" and not tensor.is_floating_point():
        raise ValueError(
            f"warp: bilinear sampling needs a floating-point tensor, got {tensor.dtype} (use 'nearest')"
        )
    n, _, height, width = tensor.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, device=flow.device, dtype=flow.dtype),
        torch.arange(width, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    x, y = xs + flow[:, 0], ys + flow[:, 1]
    finite = torch.isfinite(x) & torch.isfinite(y)
    # A point two pixels outside the frame has no corner inside it, so it samples zero like grid_sample.
    x, y = torch.where(finite, x, -2.0), torch.where(finite, y, -2.0)
    valid = (_inside(x, y, height, width) & finite).unsqueeze(1)
    if mode == "nearest":
        x_index, y_index = torch.round(x), torch.round(y)
        inside = _inside(x_index, y_index, height, width).unsqueeze(1)
        gathered = _gather(tensor, x_index, y_index)
        return torch.where(inside, gathered, torch.zeros_like(gathered)), valid
    x0, y0 = torch.floor(x), torch.floor(y)
    wx, wy = x - x0, y - y0
    warped = None
    for dx, dy, weight in (
        (0, 0, (1 - wx) * (1 - wy)),
        (1, 0, wx * (1 - wy)),
        (0, 1, (1 - wx) * wy),
        (1, 1, wx * wy),
    ):
        corner_x, corner_y = x0 + dx, y0 + dy
        weight = (weight * _inside(corner_x, corner_y, height, width)).unsqueeze(1).to(tensor.dtype)
        term = _gather(tensor, corner_x, corner_y) * weight
        warped = term if warped is None else warped + term
    return warped, valid


def occlusion_mask(
    image_t: torch.Tensor, warped_image_prev: torch.Tensor, alpha: float = 50.0
) -> torch.Tensor:
    """Visibility weight ``M = exp(-alpha * ||I_t - W(I_{t-1})||_2^2)`` per pixel, ``[N, 1, H, W]``.

    Lai et al., "Learning Blind Video Temporal Consistency" (ECCV 2018), Eq. 2, with their ``alpha = 50`` for
    RGB in [0, 1]; the norm is over the colour channels. Pixels whose colour is not explained by the flow
    (occlusions, flow errors) get a weight near 0. (Lai et al.'s released code squares the channel *sum*
    instead; ETC (Liu et al., ECCV 2020) uses ``exp(-|sum_c diff|)`` on normalized images. We follow the
    paper's formula.)
    """
    if image_t.shape != warped_image_prev.shape or image_t.ndim != 4:
        raise ValueError(
            f"occlusion_mask: expected two [N, 3, H, W] images of one shape, got {tuple(image_t.shape)} "
            f"and {tuple(warped_image_prev.shape)}"
        )
    return torch.exp(-alpha * (image_t - warped_image_prev).pow(2).sum(dim=1, keepdim=True))


def _check_stride_grid(image_size: Sequence[int], size: Sequence[int], stride: int, owner: str) -> None:
    """An error naming ``owner`` unless ``size`` is the grid of a stride-``stride`` feature map of an image of
    ``image_size``.

    Cell ``(i, j)`` of such a map covers image pixels ``[i*s, (i+1)*s) x [j*s, (j+1)*s)``. Padded
    convolutions give ``ceil(H / s)`` cells, the last one overhanging the image; patch embeddings give
    ``floor(H / s)`` and drop the remainder. Both are accepted; any other size means a wrong stride.
    """
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"{owner}: stride must be a positive integer, got {stride!r}")
    for name, pixels, cells in zip(("high", "wide"), image_size, size):
        if cells < 1 or cells not in (pixels // stride, -(-pixels // stride)):
            raise ValueError(
                f"{owner}: a stride-{stride} feature map of an image {pixels} pixels {name} is "
                f"{-(-pixels // stride)} (or {pixels // stride}) cells {name}, got {cells}; check the stride"
            )


def resize_flow(flow: torch.Tensor, size: Sequence[int], *, stride: int | None = None) -> torch.Tensor:
    """``flow [N, 2, H, W]`` in pixels resampled to ``size = (h, w)``.

    Without ``stride``, ``size`` is another resolution of the same frame (an image resize maps the whole frame
    onto the whole frame): vectors scaled by ``w / W`` and ``h / H``, bilinear with pixel-centre alignment
    (``align_corners=False``, as ``cv2.resize`` and the datasets' clip resize).

    With ``stride``, ``size`` is the grid of a stride-``stride`` feature map of the frame
    (:func:`_check_stride_grid`): a cell is ``stride`` pixels, so vectors are divided by ``stride`` (``w / W``
    is wrong when ``W`` is not a multiple of the stride: by 14% at ``W = 56`` and stride 16), and each cell
    takes the flow at its centre ``(i + 1/2) * stride - 1/2``, or the edge pixel's where that centre lies past
    the image. A constant flow field stays exact either way.
    """
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"resize_flow: expected flow [N, 2, H, W], got {tuple(flow.shape)}")
    height, width = (int(s) for s in size)
    if stride is not None:
        _check_stride_grid(flow.shape[-2:], (height, width), stride, "resize_flow")
        grid = flow[..., : height * stride, : width * stride]
        pad_bottom, pad_right = height * stride - grid.shape[-2], width * stride - grid.shape[-1]
        grid = F.pad(grid, (0, pad_right, 0, pad_bottom), mode="replicate")
        # An integer downscale factor puts each output sample exactly on its cell's centre.
        return F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False) / stride
    if tuple(flow.shape[-2:]) == (height, width):
        return flow
    scale = torch.tensor(
        [width / flow.shape[-1], height / flow.shape[-2]], dtype=flow.dtype, device=flow.device
    ).view(1, 2, 1, 1)
    return F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False) * scale


def pool_to_stride(tensor: torch.Tensor, size: Sequence[int], stride: int) -> torch.Tensor:
    """``tensor [N, C, H, W]`` averaged over each cell of the stride-``stride`` grid of ``size = (h, w)``
    cells (:func:`_check_stride_grid`): a per-pixel weight or error brought onto feature cells."""
    if tensor.ndim != 4:
        raise ValueError(f"pool_to_stride: expected [N, C, H, W], got {tuple(tensor.shape)}")
    height, width = (int(s) for s in size)
    _check_stride_grid(tensor.shape[-2:], (height, width), stride, "pool_to_stride")
    inside = tensor[..., : height * stride, : width * stride]
    # ceil_mode averages an overhanging cell over its pixels inside the image only (ONNX Runtime agrees, with
    # both exporters).
    return F.avg_pool2d(inside, stride, stride, ceil_mode=True)


def compose_backward_flow(flows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Long-term flows to the first frame from consecutive backward flows.

    ``flows [..., T-1, 2, H, W]`` (entry ``i`` the backward flow of frame ``i+1``) gives
    ``(to_first [..., T-1, 2, H, W], valid bool [..., T-1, 1, H, W])``: entry ``i`` maps frame ``i+1`` onto
    frame 0 by chaining ``F_{t->0}(x) = F_t(x) + F_{t-1->0}(x + F_t(x))`` (bilinear). A pixel is valid when
    every point of its chain lands inside the frame.
    """
    if flows.ndim < 4 or flows.shape[-3] != 2:
        raise ValueError(
            f"compose_backward_flow: expected flows [..., T-1, 2, H, W], got {tuple(flows.shape)}"
        )
    lead, steps, (height, width) = flows.shape[:-4], flows.shape[-4], flows.shape[-2:]
    per_step = flows.reshape(-1, steps, 2, height, width)
    composed, valids = [], []
    for step in range(steps):
        current = per_step[:, step]
        if step == 0:
            _, valid = warp(current, current)
            total = current
        else:
            invalid_before = (~valids[-1]).to(current.dtype)
            # Bilinear sums of non-negative terms: exactly zero only when no contributing corner is invalid.
            previous, valid = warp(torch.cat([composed[-1], invalid_before], dim=1), current)
            total = current + previous[:, :2]
            valid = valid & (previous[:, 2:] == 0)
        composed.append(total)
        valids.append(valid)
    to_first = torch.stack(composed, dim=1) if steps else per_step
    valid = torch.stack(valids, dim=1) if steps else per_step[:, :, :1].bool()
    return to_first.reshape(*lead, steps, 2, height, width), valid.reshape(*lead, steps, 1, height, width)


def _gray_frames(frames: np.ndarray | torch.Tensor) -> list[np.ndarray]:
    """Grayscale uint8 frames from RGB ``torch [T, 3, H, W]`` or numpy ``[T, H, W, 3]`` (float in [0, 1] or uint8)."""
    if isinstance(frames, torch.Tensor):
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"dis_flow: torch frames must be RGB [T, 3, H, W], got {tuple(frames.shape)}")
        frames = frames.detach().cpu().permute(0, 2, 3, 1).numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"dis_flow: numpy frames must be RGB [T, H, W, 3], got {frames.shape}")
    if frames.dtype != np.uint8:
        frames = np.clip(np.round(frames.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    return [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]


def dis_flow(frames: np.ndarray | torch.Tensor, to_first: bool = False) -> torch.Tensor:
    """Backward flows ``[T-1, 2, H, W]`` (float32, CPU) by OpenCV's DIS optical flow (medium preset).

    ``frames``: RGB clip, ``torch [T, 3, H, W]`` or numpy ``[T, H, W, 3]``, uint8 or float in [0, 1].
    Entry ``i`` is the flow of frame ``i+1`` to frame ``i`` (to frame 0 with ``to_first``), computed on
    grayscale from the later frame to the earlier one, so it follows the backward-flow convention. No gradient.
    """
    gray = _gray_frames(frames)
    height, width = gray[0].shape if gray else (0, 0)
    flows = []
    for index in range(1, len(gray)):
        reference = gray[0] if to_first else gray[index - 1]
        # A fresh instance per pair: a reused one carries state over from its previous call, which would make
        # a pair's flow depend on the pairs before it (and chunked evaluation differ from whole videos).
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        try:
            flows.append(dis.calc(gray[index], reference, None))
        except cv2.error as error:
            raise ValueError(f"dis_flow: DIS cannot run on {height}x{width} frames ({error.err})") from None
    if not flows:
        return torch.zeros(0, 2, height, width)
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()
