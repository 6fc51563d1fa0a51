"""The matting functions of ``steadyseg.evaluation.functional`` on hand-computed frames, and Grad and Conn
against the straightforward loops of ``benchmarks/matting.py`` (the definitions written out pixel by pixel and
threshold by threshold, which the benchmark times the vectorized versions against)."""

import math

import cv2
import numpy as np
import pytest

from steadyseg.evaluation import functional
from tests.helpers import load_script

_benchmark = load_script("benchmarks/matting.py")
reference_gradient_filter = _benchmark.loop_gradient_filter
reference_grad = _benchmark.loop_grad
reference_conn = _benchmark.loop_conn


def random_alphas(rng, shape, kind):
    """A pair of alpha maps: white noise (many small components and ties), or a smooth matte (solid 0 and 1
    regions with soft edges) and a perturbed copy of it."""
    if kind == "noise":
        return rng.random(shape), rng.random(shape)
    field = cv2.GaussianBlur(rng.random(shape), (0, 0), 2)
    gt = np.clip((field - field.mean()) / field.std() * 0.6 + 0.5, 0, 1)
    pred = np.clip(gt + cv2.GaussianBlur(rng.normal(0, 0.6, shape), (0, 0), 1), 0, 1)
    return pred, gt


# --- MAD, MSE, dtSSD, foreground MSE --------------------------------------------------------------------


def test_mad_and_mse_of_a_two_by_two_frame():
    pred = np.array([[0.0, 0.5], [1.0, 0.25]])
    gt = np.array([[0.0, 1.0], [0.5, 0.25]])
    # |pred - gt| = 0, 0.5, 0.5, 0: mean 0.25, x 1e3 = 250; squares 0, 0.25, 0.25, 0: mean 0.125 -> 125.
    assert functional.mad(pred, gt) == pytest.approx(250.0)
    assert functional.mse(pred, gt) == pytest.approx(125.0)
    assert functional.mad(gt, gt) == functional.mse(gt, gt) == 0.0


def test_dtssd_of_a_two_by_two_pair():
    pred_prev, gt_prev = np.zeros((2, 2)), np.zeros((2, 2))
    pred = np.array([[0.5, 0.0], [0.0, 0.0]])
    gt = np.array([[0.1, 0.0], [0.0, 0.3]])
    # (pred - pred_prev) - (gt - gt_prev) = 0.4, 0, 0, -0.3: squares 0.16 + 0.09 = 0.25 over N = 4 pixels,
    # sqrt(0.0625) = 0.25, x 1e2 = 25.
    assert functional.dtssd(pred, pred_prev, gt, gt_prev) == pytest.approx(25.0)
    # A prediction that changes exactly as the truth does is perfectly coherent, whatever its error.
    assert functional.dtssd(gt + 0.2, gt_prev + 0.2, gt, gt_prev) == pytest.approx(0.0)


def test_foreground_mse_counts_only_pixels_with_true_alpha():
    gt_alpha = np.array([[0.0, 0.5]])
    pred_fgr = np.array([[[1.0, 0.2]], [[1.0, 0.4]], [[1.0, 0.6]]])  # [3, 1, 2]
    gt_fgr = np.array([[[0.0, 0.3]], [[0.0, 0.4]], [[0.0, 0.4]]])
    # Only the second pixel has alpha > 0: channel differences -0.1, 0, 0.2; squares 0.01 + 0 + 0.04 = 0.05
    # over 3 values = 0.016667, x 1e3 = 16.667. The first pixel's differences of 1 do not count.
    assert functional.foreground_mse(pred_fgr, gt_fgr, gt_alpha) == pytest.approx(50.0 / 3)
    assert math.isnan(functional.foreground_mse(pred_fgr, gt_fgr, np.zeros((1, 2))))


# --- Grad ---------------------------------------------------------------------------------------------


def test_gradient_kernels_follow_the_formula():
    smoothing, derivative = functional.gaussian_derivative_kernels(1.4)
    # sqrt(2 pi) * 1.4 * 0.01 = 0.035093, ln = -3.349759, sqrt(-2 ln) = 2.588343, x 1.4 = 3.6237: half-size 4.
    assert smoothing.shape == derivative.shape == (9,)
    np.testing.assert_allclose(np.outer(smoothing, derivative), reference_gradient_filter(), atol=1e-15)
    assert np.linalg.norm(np.outer(smoothing, derivative)) == pytest.approx(1.0)


def test_grad_of_a_vertical_step():
    step = np.zeros((3, 12))
    step[:, 6:] = 1.0
    # The prediction is flat (gradient 0) and the truth a 0 -> 1 step between columns 5 and 6; along y the
    # frame is constant (replicated borders keep it so), and the derivative taps sum to 0: no y gradient.
    # Taps at x = 0..4: e = exp(-x^2 / 3.92) = 1, 0.774837, 0.360448, 0.100669, 0.016880.
    # Smoothing G / |G|: |G| ~ sqrt(1 + 2 (0.600373 + 0.129923 + 0.010134 + 0.000285)) = 1.575255;
    #   sum of its taps S = (1 + 2 x 1.252834) / 1.575255 = 2.225460.
    # Derivative x e / |x e|: |x e| = sqrt(2 (0.600373 + 0.519690 + 0.091208 + 0.004559)) = 1.559378;
    #   taps at x = 1..4: -0.496889, -0.462297, -0.193671, -0.043299 (antisymmetric).
    # A column m = 1..4 columns left of the step sees the taps x >= m on the 1s: T = -1.196156, -0.699267,
    # -0.236970, -0.043299, and the column m - 1 right of it the same sum by symmetry; farther columns see
    # all taps (sum 0) or none. Gradient = S |T|: per row 2 S^2 (T1^2 + T2^2 + T3^2 + T4^2)
    # = 2 x 4.952672 x 1.977792 = 19.590716; 3 rows = 58.772148; / 1e3 = 0.0587721. (Zero padding instead
    # of replicated borders would add a second step at the right edge and a gradient along the top and bottom.)
    assert functional.grad(np.zeros((3, 12)), step) == pytest.approx(0.0587721480, rel=1e-6)
    assert reference_grad(np.zeros((3, 12)), step) == pytest.approx(0.0587721480, rel=1e-9)


def test_grad_normalizes_each_map_to_the_unit_range_first():
    step = np.zeros((3, 12))
    step[:, 6:] = 1.0
    # 0.2 + 0.5 step min-max normalizes to the step itself.
    assert functional.grad(0.2 + 0.5 * step, step) == pytest.approx(0.0, abs=1e-9)
    # A constant map becomes all zeros whatever its value, as OpenCV's NORM_MINMAX makes it.
    assert functional.grad(np.full((3, 12), 0.3), np.full((3, 12), 0.9)) == 0.0


@pytest.mark.parametrize(
    "seed, shape, kind", [(0, (9, 11), "noise"), (1, (14, 17), "smooth"), (2, (1, 7), "noise")]
)
def test_grad_equals_the_per_pixel_reference(seed, shape, kind):
    pred, gt = random_alphas(np.random.default_rng(seed), shape, kind)
    # Filtered in float32 as Robust Video Matting did: equal to the float64 loops to float32 precision.
    assert functional.grad(pred, gt) == pytest.approx(reference_grad(pred, gt), rel=1e-5)


# --- Conn ---------------------------------------------------------------------------------------------


def test_conn_of_a_three_by_three_frame():
    gt = np.array([[1.0, 1.0, 0.0], [1.0, 0.8, 0.0], [0.0, 0.1, 0.6]])
    pred = np.array([[1.0, 0.9, 0.0], [1.0, 0.3, 0.0], [0.0, 0.2, 0.9]])
    # Pixels a b c / d e f / g h i. Largest 4-connected component where both are >= t:
    #   t = 0.1: {a, b, d, e, h, i} (h links e to i);  c, f, g leave at once: level 0.
    #   t = 0.2, 0.3: h drops out (gt 0.1), cutting i off: {a, b, d, e};  h, i: level 0.1.
    #   t = 0.4 .. 0.9: e drops out (pred 0.3): {a, b, d};  e: level 0.3.
    #   t = 1.0: b drops out (pred 0.9): {a, d};  b: level 0.9;  a, d never leave: level 1.
    # d = alpha - level and phi = 1 - d [d >= 0.15], |phi_pred - phi_gt| per pixel:
    #   b: gt d 0.1 < 0.15, pred d 0 -> phi 1 and 1 -> 0
    #   e: gt d 0.5 -> 0.5, pred d 0 -> 1 -> 0.5
    #   h: gt d 0, pred d 0.1 < 0.15 -> 1 and 1 -> 0 (a difference under 0.15 does not count)
    #   i: gt d 0.5 -> 0.5, pred d 0.8 -> 0.2 -> 0.3
    #   a, d (alpha 1 = level) and c, f, g (alpha 0) -> 0.
    # Sum 0.8, / 1e3 = 0.0008.
    assert functional.conn(pred, gt) == pytest.approx(0.0008)
    assert reference_conn(pred, gt) == pytest.approx(0.0008)


def test_conn_takes_the_first_of_two_equally_large_components():
    pred, gt = np.array([[0.5, 0.0, 0.9]]), np.array([[1.0, 0.0, 1.0]])
    # Up to t = 0.5 both ends are components of one pixel: omega is the left one (first in row-major order),
    # so the right pixel leaves at once (level 0); from t = 0.6 the left drops out (pred 0.5; level 0.5) and
    # omega is the right one until t = 1.0. Left: gt d 0.5 -> phi 0.5, pred d 0 -> 1: 0.5. Right: gt d 1 -> 0,
    # pred d 0.9 -> 0.1: 0.1. Sum 0.6 / 1e3. (Taking the right one first: 0.5 + 0 = 0.5.)
    assert functional.conn(pred, gt) == pytest.approx(0.0006)
    assert reference_conn(pred, gt) == pytest.approx(0.0006)


def test_conn_thresholds_float32_maps_in_float32():
    # One pixel, pred 0.7 and gt 1 in float32: both reach every threshold up to 0.7 (float32(0.7) counts as
    # 0.7), so the pixel's level is 0.7: gt d 0.3 -> phi 0.7, pred d 0 -> phi 1: error 0.3 / 1e3. Compared in
    # float64, float32(0.7) = 0.69999999 would miss 0.7: level 0.6 and error 0.4 / 1e3.
    pred, gt = np.array([[0.7]], dtype=np.float32), np.array([[1.0]], dtype=np.float32)
    assert functional.conn(pred, gt) == pytest.approx(0.0003, rel=1e-6)


@pytest.mark.parametrize(
    "seed, shape, kind",
    [(0, (12, 14), "noise"), (1, (8, 9), "noise"), (2, (24, 30), "smooth"), (3, (1, 15), "smooth")],
)
def test_conn_equals_the_per_threshold_reference(seed, shape, kind):
    pred, gt = random_alphas(np.random.default_rng(seed), shape, kind)
    assert functional.conn(pred, gt) == pytest.approx(reference_conn(pred, gt), rel=1e-9)


def test_conn_equals_the_reference_on_float32_mattes_read_from_8_bit_files():
    pred, gt = random_alphas(np.random.default_rng(4), (20, 26), "smooth")
    # Alpha as Robust Video Matting reads its PNGs: k / 255 in float32.
    pred, gt = (np.round(alpha * 255).astype(np.float32) / 255 for alpha in (pred, gt))
    assert functional.conn(pred, gt) == pytest.approx(reference_conn(pred, gt), rel=1e-6)


# --- Bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [functional.mad, functional.mse, functional.grad, functional.conn])
def test_alpha_scores_name_the_bad_argument(score):
    name = score.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: gt must be a non-empty 2-D array .* pred \(2, 2\), gt \(2, 3\)"
    ):
        score(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}: pred must hold values in \[0, 1\], got min 0.0, max 1.5"):
        score(np.array([[0.0, 1.5]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=rf"{name}: gt must hold values in \[0, 1\]"):
        score(np.zeros((1, 2)), np.array([[0.0, math.nan]]))


def test_dtssd_and_foreground_mse_name_the_bad_argument():
    frame = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"dtssd: gt_prev must hold values in \[0, 1\], got min -0.5"):
        functional.dtssd(frame, frame, frame, frame - 0.5)
    with pytest.raises(ValueError, match=r"dtssd: pred_prev must be a non-empty 2-D array"):
        functional.dtssd(frame, np.zeros((2, 1)), frame, frame)
    fgr = np.zeros((3, 2, 2))
    with pytest.raises(ValueError, match=r"foreground_mse: gt_fgr must hold values in \[0, 1\]"):
        functional.foreground_mse(fgr, fgr + 2, frame)
    with pytest.raises(
        ValueError, match=r"foreground_mse: gt_alpha \(2, 3\) must have the frame size of pred_fgr"
    ):
        functional.foreground_mse(fgr, fgr, np.zeros((2, 3)))


# --- Averaging ----------------------------------------------------------------------------------------


def test_frame_index_mean_averages_per_index_then_over_indices():
    # Index 0: (0 + 300) / 2 = 150; index 1: only the first video, 600; NaN (a frame not scored) is left out
    # of its index. Mean of 150 and 600: 375 (a mean per video, 300 and 300, would give 300).
    assert functional.frame_index_mean([np.array([0.0, 600.0]), np.array([300.0])]) == pytest.approx(375.0)
    assert functional.frame_index_mean([np.array([0.0, math.nan]), np.array([300.0])]) == pytest.approx(150.0)
    assert math.isnan(functional.frame_index_mean([]))
    assert math.isnan(functional.frame_index_mean([np.array([math.nan])]))
