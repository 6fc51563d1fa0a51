"""RVM's matting losses on hand-computed cases, called with the matting model's full set of keywords."""

import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from steadyseg.models.losses import (
    AlphaCoherenceLoss,
    AlphaL1Loss,
    AlphaLaplacianLoss,
    ForegroundCoherenceLoss,
    ForegroundL1Loss,
    SegmentationBCELoss,
)
from steadyseg.registry import MODELS

B, T, H, W = 2, 4, 6, 7

# Each loss, its default name, the predictions it trains and the ground truths it reads.
LOSSES = [
    (AlphaL1Loss, "loss_alpha_l1", ["alpha"], ["gt_alpha"]),
    (AlphaLaplacianLoss, "loss_alpha_laplacian", ["alpha"], ["gt_alpha"]),
    (AlphaCoherenceLoss, "loss_alpha_coherence", ["alpha"], ["gt_alpha"]),
    (ForegroundL1Loss, "loss_fgr_l1", ["fgr"], ["gt_fgr", "gt_alpha"]),
    (ForegroundCoherenceLoss, "loss_fgr_coherence", ["fgr"], ["gt_fgr", "gt_alpha"]),
    (SegmentationBCELoss, "loss_seg_bce", ["seg_logits"], ["gt_sem_seg"]),
]


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def dyadic(shape, low, high, denominator, seed):
    """Random multiples of ``1 / denominator`` in ``[low, high]``: sums and differences of them are exact in
    float32, so "exactly zero" below is exact arithmetic, not luck."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(low, high + 1, shape, generator=generator).float() / denominator


def full_batch(size=(H, W), seed=0):
    """Every keyword the matting model passes; a person (alpha > 0) covers part of each frame and moves."""
    height, width = size
    gt_alpha = dyadic((B, T, 1, height, width), 0, 16, 16, seed)
    gt_alpha[..., : height // 3, :] = 0  # background rows: foreground colour undefined there
    generator = torch.Generator().manual_seed(seed + 1)
    return dict(
        alpha=torch.rand(B, T, 1, height, width, generator=generator),
        fgr=torch.rand(B, T, 3, height, width, generator=generator),
        gt_alpha=gt_alpha,
        gt_fgr=torch.rand(B, T, 3, height, width, generator=generator),
        seg_logits=torch.randn(B, T, 1, height, width, generator=generator),
        gt_sem_seg=torch.randint(0, 2, (B, T, height, width), generator=generator),
    )


def batch_for(loss_type, seed=0):
    return full_batch(size=(64, 66) if loss_type is AlphaLaplacianLoss else (H, W), seed=seed)


# ----------------------------------------------------------------------------------------------------------
# Hand-computed values
# ----------------------------------------------------------------------------------------------------------


def test_alpha_l1_hand_computed():
    alpha = torch.tensor([[0.25, 0.875], [0.5, 0.0]]).view(1, 2, 1, 1, 2)  # [B=1, T=2, 1, H=1, W=2]
    gt_alpha = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).view(1, 2, 1, 1, 2)
    # |0.25| + |-0.125| + |-0.5| + 0 = 0.875 over 4 pixels = 0.21875; times the weight 2.
    assert AlphaL1Loss(loss_weight=2.0)(alpha=alpha, gt_alpha=gt_alpha).item() == pytest.approx(2 * 0.21875)


def test_alpha_laplacian_one_level_hand_computed():
    """A 4x4 difference constant down each column, ``[1, 0, 0, 0]`` along each row: the vertical blurs keep
    it, so the level is 1-D along x. Binomial taps w = [1, 4, 6, 4, 1] / 16, reflect padding ``f2 f1 | f ... |``.

    blur of [1, 0, 0, 0] (padded 0 0 1 0 0 0 0 0): [6, 4, 1, 0] / 16; keep every other: down = [6, 1] / 16.
    Zero insertion [6, 0, 1, 0] / 16 (padded 1 0 6 0 1 0 1 0 / 16), blurred with 2 w (the x4 of 2-D split
    over both axes; the vertical pass of the zero-inserted rows gives the other factor 2 back exactly):
    up = [(6*6 + 2*1) / 128, (4*6 + 4*1) / 128, (6 + 6 + 1) / 128, (4 + 4) / 128] = [38, 28, 13, 8] / 128.
    Band = [1, 0, 0, 0] - up = [90, -28, -13, -8] / 128; L1 mean = 139 / 512; level weight 2^0, divided by 1.
    """
    difference = torch.zeros(1, 1, 1, 4, 4)
    difference[..., 0] = 1.0
    gt_alpha = torch.full((1, 1, 1, 4, 4), 0.25)
    value = AlphaLaplacianLoss(levels=1)(alpha=gt_alpha + difference, gt_alpha=gt_alpha)
    assert value.item() == pytest.approx(139 / 512, rel=1e-6)


def reflect_blur_matrix(size: int) -> np.ndarray:
    """The 1-D binomial blur with reflected borders as a ``[size, size]`` matrix (float64)."""
    taps = np.array([1, 4, 6, 4, 1]) / 16
    matrix = np.zeros((size, size))
    for row in range(size):
        for offset, tap in zip(range(-2, 3), taps):
            column = abs(row + offset)
            column = 2 * (size - 1) - column if column > size - 1 else column
            matrix[row, column] += tap
    return matrix


def independent_laplacian_loss(difference: np.ndarray, levels: int) -> float:
    """The loss of one 2-D difference built from separable operator matrices: blur ``K``, decimation = the even
    rows of ``K``, zero insertion ``Z`` (``Z[2i, i] = 1``) and blur times 2 per axis."""
    total = 0.0
    current = difference
    for level in range(levels):
        height, width = current.shape[0] // 2 * 2, current.shape[1] // 2 * 2
        current = current[:height, :width]
        blur_rows, blur_columns = reflect_blur_matrix(height), reflect_blur_matrix(width)
        down = blur_rows[::2] @ current @ blur_columns[::2].T
        insert_rows, insert_columns = np.eye(height)[:, ::2], np.eye(width)[:, ::2]
        up = (2 * blur_rows @ insert_rows) @ down @ (2 * blur_columns @ insert_columns).T
        total += 2**level * np.abs(current - up).mean()
        current = down
    return total / levels


def test_alpha_laplacian_matches_an_independent_construction_on_odd_sizes():
    # 70 x 67: odd widths on several levels exercise the even crop; 5 levels need at least 64 px.
    generator = torch.Generator().manual_seed(3)
    alpha, gt_alpha = torch.rand(2, 1, 1, 70, 67, generator=generator).unbind(0)
    alpha, gt_alpha = alpha.unsqueeze(0), gt_alpha.unsqueeze(0)
    value = AlphaLaplacianLoss(loss_weight=3.0)(alpha=alpha, gt_alpha=gt_alpha)
    expected = independent_laplacian_loss((alpha - gt_alpha)[0, 0, 0].double().numpy(), levels=5)
    assert value.item() == pytest.approx(3.0 * expected, rel=1e-5)


def test_alpha_laplacian_is_zero_for_equal_inputs_and_for_a_constant_offset():
    batch = full_batch(size=(64, 64))
    gt_alpha = batch["gt_alpha"]
    loss = AlphaLaplacianLoss()
    assert loss(alpha=gt_alpha.clone(), gt_alpha=gt_alpha).item() == 0
    # Every band of a constant is 0 (the blurs keep it, reflected borders included): only structure counts.
    assert loss(alpha=gt_alpha + 0.25, gt_alpha=gt_alpha).item() == pytest.approx(0, abs=1e-7)
    assert loss(alpha=batch["alpha"], gt_alpha=gt_alpha).item() > 0.01


def test_alpha_laplacian_rejects_frames_too_small_for_its_levels():
    small = torch.zeros(1, 2, 1, 63, 80)
    with pytest.raises(
        ValueError, match=r"AlphaLaplacianLoss: a 5-level pyramid needs frames of at least 64 x 64"
    ):
        AlphaLaplacianLoss()(alpha=small, gt_alpha=small)
    assert AlphaLaplacianLoss(levels=4)(alpha=small, gt_alpha=small).item() == 0
    with pytest.raises(ValueError, match="levels must be a positive int"):
        AlphaLaplacianLoss(levels=0)


def test_alpha_coherence_hand_computed():
    # One row of 2 pixels over 3 frames.
    alpha = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0]]).view(1, 3, 1, 1, 2)
    gt_alpha = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]]).view(1, 3, 1, 1, 2)
    # Pair (0, 1): predicted change [0.5, 0], true [0, 0] -> [0.5, 0]. Pair (1, 2): [0, 1] - [0, 1] = [0, 0].
    # Squares 0.25, 0, 0, 0: mean 0.0625; RVM's weight 5 -> 0.3125.
    assert AlphaCoherenceLoss(loss_weight=5.0)(alpha=alpha, gt_alpha=gt_alpha).item() == pytest.approx(0.3125)


def test_foreground_l1_hand_computed():
    # One frame, one row of 2 pixels; only pixel 0 has a positive true alpha.
    gt_alpha = torch.tensor([0.5, 0.0]).view(1, 1, 1, 1, 2)
    fgr = torch.tensor([[0.5, 1.0], [0.5, 1.0], [0.5, 1.0]]).view(1, 1, 3, 1, 2)  # channel-major
    gt_fgr = torch.tensor([[0.25, 0.0], [0.5, 0.0], [1.0, 0.0]]).view(1, 1, 3, 1, 2)
    # Pixel 0: |0.25| + 0 + |-0.5| = 0.75 over its 3 channels = 0.25; pixel 1 (alpha 0) is left out.
    assert ForegroundL1Loss()(fgr=fgr, gt_fgr=gt_fgr, gt_alpha=gt_alpha).item() == pytest.approx(0.25)


def test_foreground_coherence_hand_computed():
    # Two frames, one row of 3 pixels: pixel 0 is foreground in both frames, pixel 1 only in frame 0,
    # pixel 2 only in frame 1, so only pixel 0 has a defined change.
    gt_alpha = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.5]]).view(1, 2, 1, 1, 3)
    gt_fgr = torch.zeros(1, 2, 3, 1, 3)
    fgr = torch.zeros(1, 2, 3, 1, 3)
    fgr[0, 1, 0, 0] = torch.tensor([0.5, 1.0, 1.0])  # red channel of frame 1: pixel 0 changes by 0.5
    fgr[0, 1, 1:, 0, 1:] = 1.0  # large changes at pixels 1 and 2, whose change is undefined
    # Pixel 0: squares (0.5^2, 0, 0) over 3 channel entries = 0.25 / 3; weight 5.
    value = ForegroundCoherenceLoss(loss_weight=5.0)(fgr=fgr, gt_fgr=gt_fgr, gt_alpha=gt_alpha)
    assert value.item() == pytest.approx(5.0 * 0.25 / 3)


def test_segmentation_bce_hand_computed_and_ignores_255():
    seg_logits = torch.tensor([0.0, math.log(3.0), 5.0]).view(1, 1, 1, 1, 3)
    gt_sem_seg = torch.tensor([1, 0, 255]).view(1, 1, 1, 3)
    # Pixel 0: -log(sigmoid(0)) = ln 2. Pixel 1: -log(1 - sigmoid(ln 3)) = -log(1 - 3/4) = ln 4. Pixel 2 ignored.
    # Mean over the 2 labelled pixels: 1.5 ln 2.
    value = SegmentationBCELoss()(seg_logits=seg_logits, gt_sem_seg=gt_sem_seg)
    assert value.item() == pytest.approx(1.5 * math.log(2.0), rel=1e-6)


def test_segmentation_bce_equals_mmsegs_sigmoid_cross_entropy():
    from mmseg.models.losses import CrossEntropyLoss

    batch = full_batch()
    labels = batch["gt_sem_seg"].clone()
    labels[:, :, 0] = 255
    ours = SegmentationBCELoss(loss_weight=0.5)(seg_logits=batch["seg_logits"], gt_sem_seg=labels)
    mmseg_bce = CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True, loss_weight=0.5)
    theirs = mmseg_bce(batch["seg_logits"].flatten(0, 1), labels.flatten(0, 1), ignore_index=255)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_segmentation_bce_of_an_unlabelled_clip_is_zero_with_a_graph():
    seg_logits = torch.randn(1, 2, 1, 3, 3, requires_grad=True)
    value = SegmentationBCELoss()(seg_logits=seg_logits, gt_sem_seg=torch.full((1, 2, 3, 3), 255))
    value.backward()
    assert value.item() == 0 and seg_logits.grad is not None


def test_segmentation_bce_rejects_labels_other_than_0_and_1():
    batch = full_batch()
    with pytest.raises(
        ValueError, match=r"SegmentationBCELoss: gt_sem_seg has label 2; person labels must be 0 or 1"
    ):
        SegmentationBCELoss()(seg_logits=batch["seg_logits"], gt_sem_seg=batch["gt_sem_seg"] * 2)


# ----------------------------------------------------------------------------------------------------------
# Temporal terms: zero when the prediction changes as the ground truth does, positive when it flickers
# ----------------------------------------------------------------------------------------------------------


def coherent_and_flickering(gt: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``gt`` plus a per-pixel offset constant over time, and ``gt`` plus that offset with its sign flipping
    every frame (the same per-frame error, so an L1 term cannot tell them apart)."""
    offset = dyadic((gt.shape[0], 1, *gt.shape[2:]), -4, 4, 64, seed)
    signs = torch.tensor([(-1.0) ** t for t in range(gt.shape[1])]).view(1, -1, 1, 1, 1)
    return gt + offset, gt + offset * signs


def test_alpha_coherence_is_zero_for_a_coherent_clip_and_positive_for_a_flickering_one():
    gt_alpha = dyadic((B, T, 1, H, W), 4, 12, 16, seed=0)
    coherent, flickering = coherent_and_flickering(gt_alpha, seed=1)
    loss = AlphaCoherenceLoss()
    assert loss(alpha=coherent, gt_alpha=gt_alpha).item() == 0
    # Each pair's change is off by 2 * offset: mean(4 * offset^2).
    offset = coherent - gt_alpha
    assert loss(alpha=flickering, gt_alpha=gt_alpha).item() == pytest.approx((4 * offset**2).mean().item())
    assert loss(alpha=flickering, gt_alpha=gt_alpha).item() > 0
    l1 = AlphaL1Loss()
    assert l1(alpha=flickering, gt_alpha=gt_alpha).item() == l1(alpha=coherent, gt_alpha=gt_alpha).item()


def test_foreground_coherence_is_zero_for_a_coherent_clip_and_positive_for_a_flickering_one():
    batch = full_batch()
    gt_fgr = dyadic((B, T, 3, H, W), 4, 12, 16, seed=2)
    coherent, flickering = coherent_and_flickering(gt_fgr, seed=3)
    loss = ForegroundCoherenceLoss()
    assert loss(fgr=coherent, gt_fgr=gt_fgr, gt_alpha=batch["gt_alpha"]).item() == 0
    assert loss(fgr=flickering, gt_fgr=gt_fgr, gt_alpha=batch["gt_alpha"]).item() > 0


def test_one_frame_clips_have_zero_coherence_with_a_graph():
    alpha = torch.rand(B, 1, 1, H, W, requires_grad=True)
    fgr = torch.rand(B, 1, 3, H, W, requires_grad=True)
    gt_alpha = torch.ones(B, 1, 1, H, W)
    values = [
        AlphaCoherenceLoss()(alpha=alpha, gt_alpha=gt_alpha.clone()),
        ForegroundCoherenceLoss()(fgr=fgr, gt_fgr=fgr.detach() + 0.5, gt_alpha=gt_alpha),
    ]
    sum(values).backward()
    assert [value.item() for value in values] == [0, 0]
    assert alpha.grad is not None and fgr.grad is not None


# ----------------------------------------------------------------------------------------------------------
# Foreground terms read only the pixels with a positive true alpha
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_type", [ForegroundL1Loss, ForegroundCoherenceLoss])
def test_foreground_terms_ignore_pixels_with_true_alpha_zero(loss_type):
    batch = full_batch()
    background = batch["gt_alpha"] == 0
    assert background.any() and (~background).any()
    changed = dict(batch)
    noise = torch.rand(B, T, 3, H, W, generator=torch.Generator().manual_seed(9)) * 100
    changed["fgr"] = torch.where(background, batch["fgr"] + noise, batch["fgr"])
    changed["gt_fgr"] = torch.where(background, -noise, batch["gt_fgr"])
    loss = loss_type()
    assert loss(**changed).item() == loss(**batch).item() > 0
    # The same change on a foreground pixel does count.
    moved = dict(batch, fgr=batch["fgr"].clone())
    foreground_index = tuple(
        index[0] for index in torch.nonzero(~background.expand(-1, -1, 3, -1, -1), as_tuple=True)
    )
    moved["fgr"][foreground_index] += 10
    assert loss(**moved).item() != loss(**batch).item()


# ----------------------------------------------------------------------------------------------------------
# The calling convention: every keyword of the model; gradients; names; errors
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_type, _name, predictions, _gts", LOSSES)
def test_gradients_reach_the_predictions(loss_type, _name, predictions, _gts):
    batch = batch_for(loss_type)
    for name in predictions:
        batch[name] = batch[name].clone().requires_grad_()
    value = loss_type()(**batch)
    value.backward()
    assert value.item() > 0
    for name in predictions:
        assert batch[name].grad is not None and batch[name].grad.abs().sum() > 0


@pytest.mark.parametrize("loss_type, name, _predictions, _gts", LOSSES)
def test_losses_build_from_config_with_their_names_and_weights(loss_type, name, _predictions, _gts):
    loss = MODELS.build(dict(type=loss_type.__name__, loss_weight=5.0))
    assert isinstance(loss, loss_type) and loss.loss_name == name and loss.loss_weight == 5.0
    # The matting model calls a loss only on batches of its batch_kind.
    assert loss.batch_kind == ("segmentation" if loss_type is SegmentationBCELoss else "matting")
    assert MODELS.build(dict(type=loss_type.__name__, loss_name="loss_x")).loss_name == "loss_x"
    batch = batch_for(loss_type)
    assert loss(**batch).item() == pytest.approx(5.0 * loss_type()(**batch).item(), rel=1e-6)


@pytest.mark.parametrize(
    "loss_type, missing",
    [(loss_type, name) for loss_type, _, predictions, gts in LOSSES for name in predictions + gts],
)
def test_a_missing_input_names_the_loss_and_the_input(loss_type, missing):
    batch = dict(batch_for(loss_type), **{missing: None})
    message = rf"{loss_type.__name__}: needs {missing} \[B, T, .*but got None; it is a loss for {loss_type.batch_kind}"
    with pytest.raises(ValueError, match=message):
        loss_type()(**batch)


@pytest.mark.parametrize(
    "loss_type, wrong, message",
    [
        (AlphaL1Loss, dict(alpha=torch.zeros(B, T, 1, H, W - 1)), "alpha and gt_alpha must both be"),
        (AlphaLaplacianLoss, dict(alpha=torch.zeros(B, T, 3, 64, 66)), "alpha and gt_alpha must both be"),
        (AlphaCoherenceLoss, dict(gt_alpha=torch.zeros(B, T, H, W)), "alpha and gt_alpha must both be"),
        (ForegroundL1Loss, dict(fgr=torch.zeros(B, T, 1, H, W)), "fgr and gt_fgr must both be"),
        (
            ForegroundCoherenceLoss,
            dict(gt_alpha=torch.zeros(B, T, 3, H, W)),
            r"gt_alpha must be \[B, T, 1, H, W\]",
        ),
        (SegmentationBCELoss, dict(seg_logits=torch.zeros(B, T, 2, H, W)), "seg_logits must be"),
        (SegmentationBCELoss, dict(gt_sem_seg=torch.zeros(B, T, 1, H, W)), "seg_logits must be"),
    ],
)
def test_wrong_shapes_name_the_loss_and_the_shapes(loss_type, wrong, message):
    batch = dict(batch_for(loss_type), **wrong)
    ((name, tensor),) = wrong.items()
    with pytest.raises(ValueError, match=rf"{loss_type.__name__}: {message}") as error:
        loss_type()(**batch)
    assert str(tuple(tensor.shape)) in str(error.value)
