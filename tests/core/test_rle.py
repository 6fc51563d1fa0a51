"""The COCO RLE codec: hand-computed masks in both JSON forms, round trips and malformed input."""

import re

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from steadyseg.rle import compress_rle, decode_rle, encode_rle


def hand_mask() -> np.ndarray:
    """10 x 5, column-major: 20 zeros (columns 0-1), 17 ones (column 2, rows 0-6 of column 3), 3 zeros,
    10 ones (column 4): counts [20, 17, 3, 10]."""
    mask = np.zeros((10, 5), bool)
    mask[:, 2] = True
    mask[:7, 3] = True
    mask[:, 4] = True
    return mask


def test_uncompressed_counts_are_column_major_and_start_with_zeros():
    mask = np.array([[0, 1, 1], [0, 1, 0]], bool)  # columns: (0, 0), (1, 1), (1, 0)
    assert encode_rle(mask, compressed=False) == {"size": [2, 3], "counts": [2, 3, 1]}
    assert encode_rle(np.array([[1, 0]], bool), compressed=False)["counts"] == [0, 1, 1]
    np.testing.assert_array_equal(decode_rle(encode_rle(mask, compressed=False)), mask)
    assert encode_rle(hand_mask(), compressed=False) == {"size": [10, 5], "counts": [20, 17, 3, 10]}


def test_compressed_string_of_a_hand_checked_mask():
    # 20 = 0b10100: group 20 has the sign bit 0x10 set, so a 0 group follows: 'd' (48 + 20 + 0x20), '0'.
    # 17 likewise: 'a', '0'. 3: '3'. The fourth count is stored as 10 - 17 = -7: group 25 -> 'I'.
    assert encode_rle(hand_mask()) == {"size": [10, 5], "counts": "d0a03I"}
    np.testing.assert_array_equal(decode_rle({"size": [10, 5], "counts": "d0a03I"}), hand_mask())
    np.testing.assert_array_equal(decode_rle({"size": [10, 5], "counts": b"d0a03I"}), hand_mask())
    assert compress_rle({"size": [10, 5], "counts": [20, 17, 3, 10]}) == {"size": [10, 5], "counts": "d0a03I"}
    # Counts [100, 100]: 100 = 3 * 32 + 4 needs two groups, 'T' (48 + 4 + 0x20), '3'; the first three counts
    # are not deltas. Over 20 x 10 they are the left 5 columns empty, the right 5 full.
    half = np.zeros((20, 10), bool)
    half[:, 5:] = True
    assert encode_rle(half)["counts"] == "T3T3"
    np.testing.assert_array_equal(decode_rle({"size": [20, 10], "counts": "T3T3"}), half)


def test_round_trips_in_both_forms_agree_with_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(50):
        height, width = rng.integers(1, 30, size=2)
        mask = rng.random((height, width)) < rng.random()
        compressed = encode_rle(mask)
        assert isinstance(compressed["counts"], str)
        assert mask_utils.area(compressed) == mask.sum()
        np.testing.assert_array_equal(decode_rle(compressed), mask)
        np.testing.assert_array_equal(decode_rle(encode_rle(mask, compressed=False)), mask)
        assert compress_rle(encode_rle(mask, compressed=False)) == compressed
    assert decode_rle({"size": [0, 0], "counts": ""}).shape == (0, 0)
    assert decode_rle(encode_rle(np.zeros((0, 3), bool))).shape == (0, 3)


@pytest.mark.parametrize(
    ("rle", "message"),
    [
        ({"size": [10, 5], "counts": "d"}, "'d' of size [10, 5] are not a valid pycocotools string"),
        ({"size": [10, 5], "counts": "d0a03I~"}, "are not a valid pycocotools string"),
        ({"size": [3, 3], "counts": "d0a03I"}, "'d0a03I' of size [3, 3] are not a valid pycocotools string"),
        ({"size": [10, 5], "counts": "I"}, "are not a valid pycocotools string"),
        # Runs of 20, 17, 3 stop 10 pixels short: pycocotools would leave them uninitialized.
        ({"size": [10, 5], "counts": "d0a03"}, "'d0a03' of size [10, 5] do not cover exactly 10 x 5 pixels"),
        ({"size": [10, 5], "counts": "d0a03I\u00e9"}, "hold non-ASCII characters"),
        ({"size": [3, 3], "counts": [20, 17, 3, 10]}, "RLE counts sum to 50, expected 3 x 3 = 9"),
        ({"size": [2, 2], "counts": [5, -1]}, "negative run lengths"),
        ({"size": [10], "counts": "d0a03I"}, "RLE 'size' must be [height, width]"),
        ({"size": [10, 5], "counts": 20}, "RLE 'counts' must be a string or a list"),
        ([[1, 2, 3, 4]], "an RLE must be a dict"),
    ],
)
def test_malformed_rles(rle, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        decode_rle(rle)
    with pytest.raises(ValueError, match=re.escape(message)):
        compress_rle(rle)


def test_only_2d_masks_are_encoded():
    with pytest.raises(ValueError, match=re.escape("the mask must be 2-D [H, W], got shape (2, 3, 4)")):
        encode_rle(np.zeros((2, 3, 4), bool))
