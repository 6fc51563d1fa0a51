import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from steadyseg.flow import (
    check_flow_source,
    compose_backward_flow,
    dis_flow,
    occlusion_mask,
    pool_to_stride,
    resize_flow,
    warp,
)


def grid_sample_reference(tensor, flow, mode):
    """``F.grid_sample`` at ``x + flow(x)`` with align_corners=True: what ``warp`` must match."""
    _, _, height, width = tensor.shape
    ys, xs = torch.meshgrid(torch.arange(height).float(), torch.arange(width).float(), indexing="ij")
    grid = torch.stack(
        [2 * (xs + flow[:, 0]) / (width - 1) - 1, 2 * (ys + flow[:, 1]) / (height - 1) - 1], dim=-1
    )
    return F.grid_sample(tensor, grid, mode=mode, align_corners=True, padding_mode="zeros")


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_warp_matches_grid_sample_with_align_corners(mode):
    torch.manual_seed(0)
    tensor = torch.randn(2, 3, 7, 9)
    flow = torch.randn(2, 2, 7, 9) * 3
    warped, _ = warp(tensor, flow, mode)
    torch.testing.assert_close(warped, grid_sample_reference(tensor, flow, mode), atol=1e-5, rtol=0)


def test_warp_gradients_match_grid_sample():
    torch.manual_seed(1)
    tensor = torch.randn(1, 2, 6, 8, requires_grad=True)
    flow = (torch.rand(1, 2, 6, 8) * 4 - 2).requires_grad_()
    warp(tensor, flow)[0].pow(2).sum().backward()
    ours = tensor.grad.clone(), flow.grad.clone()
    tensor.grad, flow.grad = None, None
    grid_sample_reference(tensor, flow, "bilinear").pow(2).sum().backward()
    torch.testing.assert_close(ours[0], tensor.grad, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours[1], flow.grad, atol=1e-4, rtol=0)


def test_integer_shift_is_exact_with_out_of_frame_pixels_invalid():
    image = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0], flow[:, 1] = -2, 1  # frame_t(x, y) = frame_{t-1}(x - 2, y + 1)
    for mode in ("bilinear", "nearest"):
        warped, valid = warp(image, flow, mode)
        expected_valid = torch.zeros(4, 5, dtype=torch.bool)
        expected_valid[:3, 2:] = True
        assert torch.equal(valid[0, 0], expected_valid)
        assert torch.equal(warped[0, 0, :3, 2:], image[0, 0, 1:, :3])  # bit-exact, not merely close
        assert torch.equal(warped[0, 0][~expected_valid], torch.zeros(11))


def test_warp_round_trip_returns_the_original_where_both_warps_are_valid():
    torch.manual_seed(2)
    image = torch.rand(2, 3, 10, 12)
    flow = torch.randint(-3, 4, (2, 2, 1, 1)).float().expand(2, 2, 10, 12)
    there, valid_there = warp(image, flow)
    back, valid_back = warp(there, -flow)
    valid_chain, _ = warp(valid_there.float(), -flow, mode="nearest")
    keep = (valid_back & (valid_chain > 0)).expand_as(image)
    assert keep.any()
    assert torch.equal(back[keep], image[keep])


def test_warp_keeps_integer_labels_and_marks_nan_flow_invalid():
    labels = torch.tensor([[[[3, 1], [7, 2]]]])
    flow = torch.zeros(1, 2, 2, 2)
    flow[0, 0, 0, 0] = 1.4  # rounds to the right neighbour
    flow[0, :, 1, 1] = float("nan")
    warped, valid = warp(labels, flow, mode="nearest")
    assert warped.dtype == torch.int64
    assert warped[0, 0].tolist() == [[1, 1], [7, 0]]
    assert valid[0, 0].tolist() == [[False, True], [True, False]]


def test_warp_rejects_bad_shapes_and_modes():
    with pytest.raises(ValueError, match=r"warp: expected tensor \[N, C, H, W\] and flow \[N, 2, H, W\]"):
        warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="differ in N, H or W"):
        warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="bilinear sampling needs a floating-point tensor, got torch.int64"):
        warp(torch.zeros(1, 1, 4, 4, dtype=torch.long), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="mode must be"):
        warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 4), mode="bicubic")


def test_occlusion_mask_is_lai_et_al_visibility():
    image = torch.zeros(1, 3, 1, 2)
    warped = image.clone()
    warped[0, :, 0, 1] = torch.tensor([0.1, 0.2, 0.0])
    mask = occlusion_mask(image, warped)
    assert mask.shape == (1, 1, 1, 2)
    torch.testing.assert_close(mask[0, 0, 0], torch.tensor([1.0, np.exp(-50 * 0.05)], dtype=torch.float32))
    torch.testing.assert_close(
        occlusion_mask(image, warped, alpha=10.0)[0, 0, 0, 1], torch.tensor(np.exp(-0.5), dtype=torch.float32)
    )
    with pytest.raises(ValueError, match="occlusion_mask"):
        occlusion_mask(image, torch.zeros(1, 3, 2, 2))


def test_resize_flow_scales_vectors():
    flow = torch.zeros(1, 2, 4, 6)
    flow[:, 0], flow[:, 1] = 2.0, -1.0
    resized = resize_flow(flow, (8, 3))
    assert resized.shape == (1, 2, 8, 3)
    assert torch.equal(resized[0, 0], torch.full((8, 3), 1.0))
    assert torch.equal(resized[0, 1], torch.full((8, 3), -2.0))
    assert resize_flow(flow, (4, 6)) is flow
    with pytest.raises(ValueError, match="resize_flow"):
        resize_flow(torch.zeros(2, 4, 6), (8, 12))


@pytest.mark.parametrize("cells", [(3, 4), (2, 3)])  # ceil (padded convolutions) and floor (patch embedding)
def test_flow_on_a_stride_grid_moves_features_by_whole_cells(cells):
    """56 x 40 pixels are 4 x 3 (or 3 x 2) stride-16 cells, not 56 / 4 = 14 pixels a cell: a constant flow of
    (16 k, 16 m) pixels warps the feature map by exactly (k, m) cells."""
    stride, k, m = 16, 2, 1
    flow = torch.empty(1, 2, 40, 56)
    flow[:, 0], flow[:, 1] = -stride * k, -stride * m
    resized = resize_flow(flow, cells, stride=stride)
    assert torch.equal(resized[0, 0], torch.full(cells, -float(k)))
    assert torch.equal(resized[0, 1], torch.full(cells, -float(m)))
    features = torch.randn(1, 5, *cells)
    warped, valid = warp(features, resized)
    torch.testing.assert_close(warped[..., m:, k:], features[..., :-m, :-k], rtol=0, atol=0)
    assert valid[..., m:, k:].all() and not valid[..., :m, :].any() and not valid[..., :, :k].any()


def test_flow_on_a_stride_grid_is_read_at_each_cell_centre():
    """Cell ``i`` of stride 16 is centred on pixel ``16 i + 7.5``; past the image (the last ceil cell of a
    56-pixel row is centred on 55.5) it takes the edge pixel's flow."""
    flow = torch.arange(56.0).view(1, 1, 1, 56).expand(1, 2, 40, 56)  # dx = dy = x
    ceil_grid = resize_flow(flow, (3, 4), stride=16)
    assert torch.equal(ceil_grid[0, 0, 0], torch.tensor([7.5, 23.5, 39.5, 55.0]) / 16)
    floor_grid = resize_flow(flow, (2, 3), stride=16)
    assert torch.equal(floor_grid[0, 1, 1], torch.tensor([7.5, 23.5, 39.5]) / 16)
    assert torch.equal(resize_flow(flow, (40, 56), stride=1), flow)


def test_pool_to_stride_averages_the_pixels_of_each_cell():
    values = torch.arange(56.0).view(1, 1, 1, 56).expand(2, 1, 40, 56)
    # Cells [0, 16), [16, 32), [32, 48) and the overhanging [48, 56), averaged over its 8 pixels inside.
    torch.testing.assert_close(
        pool_to_stride(values, (3, 4), 16)[:, 0], torch.tensor([7.5, 23.5, 39.5, 51.5]).expand(2, 3, 4)
    )
    torch.testing.assert_close(
        pool_to_stride(values, (2, 3), 16)[:, 0], torch.tensor([7.5, 23.5, 39.5]).expand(2, 2, 3)
    )


def test_stride_grid_of_the_wrong_size_is_an_error():
    flow = torch.zeros(1, 2, 40, 56)
    with pytest.raises(
        ValueError, match="resize_flow: a stride-16 feature map of an image 56 pixels wide is 4"
    ):
        resize_flow(flow, (3, 5), stride=16)
    with pytest.raises(ValueError, match="pool_to_stride: a stride-8 feature map of an image 40 pixels high"):
        pool_to_stride(flow, (3, 7), 8)
    with pytest.raises(ValueError, match="resize_flow: stride must be a positive integer, got 0"):
        resize_flow(flow, (3, 4), stride=0)


def test_compose_backward_flow_chains_to_the_first_frame():
    torch.manual_seed(3)
    height, width = 9, 11
    frames = [torch.rand(1, 1, height, width)]
    flows = torch.randint(-1, 2, (3, 2, height, width)).float()  # spatially varying integer flows
    for flow in flows:
        frames.append(warp(frames[-1], flow[None], mode="nearest")[0])
    to_first, valid = compose_backward_flow(flows)
    assert to_first.shape == (3, 2, height, width) and valid.shape == (3, 1, height, width)
    assert torch.equal(to_first[0], flows[0])
    for step in range(3):
        warped, _ = warp(frames[0], to_first[step : step + 1])
        keep = valid[step : step + 1]
        assert keep.sum() > height * width // 3
        assert torch.equal(warped[keep], frames[step + 1][keep])


def test_compose_backward_flow_of_constant_flows_and_batched():
    flows = torch.zeros(2, 2, 2, 5, 6)  # [B, T-1, 2, H, W]
    flows[:, 0, 0] = 1
    flows[:, 1, 0], flows[:, 1, 1] = 2, 1
    to_first, valid = compose_backward_flow(flows)
    assert to_first.shape == (2, 2, 2, 5, 6)
    expected = torch.zeros(5, 6, dtype=torch.bool)
    expected[:4, :3] = True  # x + 2 <= 5 then x + 3 <= 5, and y + 1 <= 4
    assert torch.equal(valid[:, 1, 0], expected.expand(2, 5, 6))
    assert torch.equal(to_first[:, 1, 0][valid[:, 1, 0]], torch.full((24,), 3.0))
    assert torch.equal(to_first[:, 1, 1][valid[:, 1, 0]], torch.full((24,), 1.0))
    with pytest.raises(ValueError, match="compose_backward_flow"):
        compose_backward_flow(torch.zeros(3, 5, 6))


def shifted_davis_clip(shared_data):
    """Frame 0 of DAVIS 'hike' and the same frame with its content moved right by 3 px and down by 2 px."""
    path = shared_data / "davis_people/JPEGImages/480p/hike/00000.jpg"
    frame = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return np.stack([frame, np.roll(frame, (2, 3), axis=(0, 1))])


def textured_interior(frame, margin=16):
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    keep = gradient > np.percentile(gradient, 75)
    keep[:margin], keep[-margin:], keep[:, :margin], keep[:, -margin:] = False, False, False, False
    return keep


def test_dis_flow_recovers_a_known_shift_on_a_real_frame(shared_data):
    clip = shifted_davis_clip(shared_data)
    flow = dis_flow(clip)
    assert flow.shape == (1, 2, 480, 854) and flow.dtype == torch.float32
    keep = textured_interior(clip[0])
    # Content moved by (+3, +2), so frame 1 at x shows frame 0 at x + (-3, -2).
    error = np.hypot(flow[0, 0].numpy() - -3, flow[0, 1].numpy() - -2)[keep]
    assert np.median(error) < 0.5
    assert np.mean(error < 0.5) > 0.9
    # Torch [T, 3, H, W] float input in [0, 1] gives the same flow as uint8 numpy.
    as_torch = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255
    assert torch.equal(dis_flow(as_torch), flow)


def test_dis_flow_to_first_frame(shared_data):
    first, shifted = shifted_davis_clip(shared_data)
    clip = np.stack([first, shifted, np.roll(shifted, (2, 3), axis=(0, 1))])[:, :240, :320]
    to_first = dis_flow(clip, to_first=True)
    assert to_first.shape == (2, 2, 240, 320)
    keep = textured_interior(clip[0])
    assert np.median(to_first[1, 0].numpy()[keep]) == pytest.approx(-6, abs=0.5)
    assert np.median(to_first[1, 1].numpy()[keep]) == pytest.approx(-4, abs=0.5)


def test_dis_flow_of_a_pair_does_not_depend_on_the_pairs_before_it():
    rng = np.random.default_rng(0)
    clip = np.stack(
        [cv2.GaussianBlur((rng.random((32, 40, 3)) * 255).astype(np.uint8), (0, 0), 2) for _ in range(3)]
    )
    assert torch.equal(dis_flow(clip)[1], dis_flow(clip[1:])[0])


def test_dis_flow_shapes_and_errors():
    assert dis_flow(np.zeros((1, 16, 16, 3), np.uint8)).shape == (0, 2, 16, 16)
    with pytest.raises(ValueError, match=r"numpy frames must be RGB \[T, H, W, 3\]"):
        dis_flow(np.zeros((2, 3, 16, 16), np.uint8))
    with pytest.raises(ValueError, match=r"torch frames must be RGB \[T, 3, H, W\]"):
        dis_flow(torch.zeros(2, 16, 16, 3))
    with pytest.raises(ValueError, match="DIS cannot run on 8x8 frames"):
        dis_flow(np.zeros((2, 8, 8, 3), np.uint8))


def test_check_flow_source():
    assert check_flow_source("dis", "Owner") == "dis"
    with pytest.raises(ValueError, match="Owner: flow_source must be one of"):
        check_flow_source("raft", "Owner")
