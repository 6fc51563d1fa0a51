"""Pseudo alpha: trimaps from masks, closed-form matting and foreground colours, on hand-made images."""

import numpy as np
import pytest

from steadyseg.pseudo_alpha import closed_form_alpha, foreground_colour, pseudo_alpha, trimap_from_mask

FOREGROUND_RGB = np.array([0.9, 0.3, 0.1])
BACKGROUND_RGB = np.array([0.1, 0.4, 0.8])


def composite(alpha: np.ndarray) -> np.ndarray:
    """alpha * F + (1 - alpha) * B over two flat colours: a colour line in every window, exactly the closed-form
    model, whose solution is then the true alpha up to the solver's tolerance."""
    return alpha[..., None] * FOREGROUND_RGB + (1 - alpha[..., None]) * BACKGROUND_RGB


def soft_disk(size: int = 48, radius: float = 15, softness: float = 6) -> np.ndarray:
    """A disk whose alpha falls linearly from 1 to 0 over ``softness`` px around ``radius``."""
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(yy - (size - 1) / 2, xx - (size - 1) / 2)
    return np.clip((radius - distance) / softness + 0.5, 0, 1)


def distance_to_box(shape, y0, y1, x0, x1) -> np.ndarray:
    """Euclidean distance from each pixel centre to the nearest pixel of rows y0..y1-1, columns x0..x1-1."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    dy = np.maximum.reduce([y0 - yy, np.zeros(shape), yy - (y1 - 1)])
    dx = np.maximum.reduce([x0 - xx, np.zeros(shape), xx - (x1 - 1)])
    return np.hypot(dy, dx)


@pytest.mark.parametrize("band", [3, 5, 10])
def test_square_trimap_is_the_mask_eroded_and_dilated_by_a_disk_of_radius_band(band):
    mask = np.zeros((80, 90), bool)
    mask[20:60, 25:65] = True
    trimap = trimap_from_mask(mask, band)

    expected = np.full(mask.shape, 0.5, np.float32)
    expected[20 + band : 60 - band, 25 + band : 65 - band] = 1
    expected[distance_to_box(mask.shape, 20, 60, 25, 65) > band] = 0
    assert trimap.dtype == np.float32
    np.testing.assert_array_equal(trimap, expected)
    # The band is `band` px wide on each side of the edge along a straight stretch.
    assert (trimap[40, 25 - band - 1 : 25 + band + 1] == [0] + [0.5] * (2 * band) + [1]).all()


def test_the_frame_border_is_not_an_edge():
    mask = np.zeros((60, 70), bool)
    mask[:40, :30] = True  # a person cut by the top-left corner of the frame
    trimap = trimap_from_mask(mask, band=5)

    expected = np.full(mask.shape, 0.5, np.float32)
    expected[:35, :25] = 1
    expected[distance_to_box(mask.shape, 0, 40, 0, 30) > 5] = 0
    np.testing.assert_array_equal(trimap, expected)


def test_a_limb_thinner_than_two_bands_keeps_its_core_and_a_rope_fades():
    band = 10
    mask = np.zeros((120, 220), bool)
    mask[20:100, 10:70] = True  # torso, 60 px wide
    mask[44:56, 70:200] = True  # arm, 12 px thick: plain erosion by 10 px would leave nothing of it
    mask[80, 70:200] = True  # rope, 1 px thick
    trimap = trimap_from_mask(mask, band)

    # Far from the torso the arm's depth across rows 44..55 is 1..6..1: its core (depth 6, above band / 2 and
    # above half its greatest depth) is foreground, the rest of it and 10 px around it unknown.
    across_the_arm = np.array([0.5] * 5 + [1, 1] + [0.5] * 5)[:, None]
    assert (trimap[44:56, 110:180] == across_the_arm).all()
    assert (trimap[56:66, 110:180] == 0.5).all() and (trimap[66, 110:180] == 0).all()
    # The rope is thinner than the band: no foreground, so matting is free to fade it out.
    assert (trimap[75:86, 110:180] == 0.5).all()
    # The torso is the plain erosion.
    assert (trimap[30:90, 20:60] == 1).all()
    assert (trimap[30:90, 10:20] == 0.5).all()


def test_a_small_part_far_from_the_others_keeps_the_masks_hard_alpha_and_a_near_one_fades():
    mask = np.zeros((60, 120), bool)
    mask[10:50, 10:50] = True
    mask[28:32, 56:60] = True  # 4x4, 7 px from the square: a piece of it cut off by the annotation
    mask[28:32, 95:99] = True  # 4x4, far from everything: a distant person
    trimap = trimap_from_mask(mask, band=8)

    expected = np.full(mask.shape, 0.5, np.float32)
    expected[18:42, 18:42] = 1
    far = (distance_to_box(mask.shape, 10, 50, 10, 50) > 8) & (
        distance_to_box(mask.shape, 28, 32, 56, 60) > 8
    )
    expected[far] = 0
    expected[28:32, 95:99] = 1
    np.testing.assert_array_equal(trimap, expected)
    image = composite(mask.astype(float))
    np.testing.assert_array_equal(pseudo_alpha(image, mask, band=8).alpha[:, 80:], mask[:, 80:])


def composite_cases():
    ramp = np.clip((np.arange(64)[None, :].repeat(40, 0) - 26.5) / 10, 0, 1)  # a straight edge 10 px soft
    return [pytest.param(ramp, 8, id="straight edge"), pytest.param(soft_disk(), 6, id="round edge")]


@pytest.mark.parametrize("true_alpha, band", composite_cases())
def test_closed_form_matting_recovers_the_alpha_of_an_exact_composite(true_alpha, band):
    trimap = trimap_from_mask(true_alpha >= 0.5, band)
    unknown = trimap == 0.5
    # The band covers all of the soft edge, so the trimap's known pixels are true.
    assert (true_alpha[trimap == 1] == 1).all() and (true_alpha[trimap == 0] == 0).all()
    assert ((true_alpha > 0) & (true_alpha < 1) & ~unknown).sum() == 0

    alpha = closed_form_alpha(composite(true_alpha), trimap)

    # Measured here: worst error 6.1e-6 (edge) and 5.3e-6 (disk), the conjugate-gradient tolerance and the
    # Laplacian's epsilon regularisation.
    assert np.abs(alpha - true_alpha)[unknown].max() < 1e-4
    np.testing.assert_array_equal(alpha[~unknown], trimap[~unknown])
    assert alpha.shape == true_alpha.shape and alpha.dtype == np.float64


def test_an_eight_bit_composite_is_recovered_to_a_few_thousandths():
    true_alpha = soft_disk()
    image = np.round(composite(true_alpha) * 255).astype(np.uint8)
    trimap = trimap_from_mask(true_alpha >= 0.5, 6)
    alpha = closed_form_alpha(image, trimap)
    # Measured: 2.9e-3, the rounding of the colours to 1/255 (the two colours differ by at most 0.8).
    assert np.abs(alpha - true_alpha)[trimap == 0.5].max() < 6e-3


def test_solving_at_half_scale_keeps_known_pixels_exact_and_the_band_close():
    true_alpha = soft_disk()
    trimap = trimap_from_mask(true_alpha >= 0.5, 6)
    alpha = closed_form_alpha(composite(true_alpha), trimap, scale=0.5)

    np.testing.assert_array_equal(alpha[trimap != 0.5], trimap[trimap != 0.5])
    # Measured: 0.068 (bilinear upsampling of the half-size solution across a 6 px soft edge).
    assert np.abs(alpha - true_alpha)[trimap == 0.5].max() < 0.1


def test_a_band_narrower_than_a_low_resolution_pixel_is_filled_by_upsampling():
    square = np.pad(np.ones((8, 8)), 8)
    trimap = trimap_from_mask(square, 1)
    # At a quarter of the size no pixel of the 2 px band is left unknown: nothing to solve.
    alpha = closed_form_alpha(composite(square), trimap, scale=0.25)

    np.testing.assert_array_equal(alpha[trimap != 0.5], trimap[trimap != 0.5])
    across_the_edge = alpha[12, 4:12]
    assert (np.diff(across_the_edge) >= 0).all() and across_the_edge[0] == 0 and across_the_edge[-1] == 1


def test_foreground_colour_of_an_exact_composite_is_the_foreground():
    true_alpha = soft_disk()
    fgr = foreground_colour(composite(true_alpha), true_alpha)
    # Measured: 3.7e-6 wherever any of the foreground shows.
    assert np.abs(fgr - FOREGROUND_RGB)[true_alpha > 0].max() < 1e-4
    assert fgr.shape == (48, 48, 3)


def test_pseudo_alpha_of_an_exact_composite():
    true_alpha = soft_disk()
    result = pseudo_alpha(composite(true_alpha), true_alpha >= 0.5, band=6)
    assert result.method == "matted"
    assert np.abs(result.alpha - true_alpha).max() < 1e-4
    assert np.abs(result.fgr - FOREGROUND_RGB)[true_alpha > 0].max() < 1e-4


def test_empty_mask_gives_zero_alpha():
    image = np.full((20, 30, 3), 128, np.uint8)
    result = pseudo_alpha(image, np.zeros((20, 30), bool))
    assert result.method == "empty"
    np.testing.assert_array_equal(result.alpha, np.zeros((20, 30)))
    np.testing.assert_array_equal(trimap_from_mask(np.zeros((20, 30), bool)), np.zeros((20, 30)))


def test_a_mask_whose_band_covers_the_frame_keeps_its_hard_alpha():
    mask = np.ones((20, 30), bool)
    mask[8:12, 12:18] = False  # a hole, less than a band from everything: no known background
    result = pseudo_alpha(composite(mask.astype(float)), mask, band=10)
    assert result.method == "binary"
    np.testing.assert_array_equal(result.alpha, mask.astype(float))


SQUARE = np.pad(np.ones((8, 8)), 8)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: trimap_from_mask(np.ones((4, 4)), band=0), "band must be a whole number"),
        (lambda: trimap_from_mask(np.ones((4, 4, 1))), "mask must be H x W"),
        (lambda: closed_form_alpha(np.zeros((4, 4, 3)), np.full((4, 4), 0.5)), "no known foreground"),
        (lambda: closed_form_alpha(np.zeros((4, 4, 3)), np.full((4, 4), 0.3)), "values must be 0"),
        (lambda: closed_form_alpha(np.full((4, 4, 3), 2.0), np.zeros((4, 4))), "must lie in"),
        (lambda: pseudo_alpha(np.zeros((4, 4, 3)), np.ones((4, 5))), "mask shape"),
        (lambda: closed_form_alpha(composite(SQUARE), trimap_from_mask(SQUARE, 1), scale=0.1), "too narrow"),
    ],
)
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
