"""Data-point dimensionality D_{X_t} and the strong-item summaries, against float64 NumPy and hand-built cases."""

import numpy as np
import pytest

from tms.analysis import measures
from tms.errors import TmsError


def direct(H):
    """D_t = ‖h_t‖² / Σ_s (ĥ_t·h_s)², written out with a T × T matrix (float64)."""
    H = np.asarray(H, np.float64)
    sq = np.sum(H * H, axis=1)
    out = np.zeros(len(H))
    for t in range(len(H)):
        if sq[t] == 0:
            continue
        ht = H[t] / np.sqrt(sq[t])
        out[t] = sq[t] / np.sum((H @ ht) ** 2)
    return out


@pytest.mark.parametrize("T", [3, 4, 5, 7, 10])
def test_a_regular_T_gon_gives_m_over_T(T):
    angle = 0.37 + 2 * np.pi * np.arange(T) / T
    H = 1.7 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    np.testing.assert_allclose(measures.datapoint_dimensionality(H), 2 / T, rtol=1e-12)


def test_hand_built_cases():
    octahedron = np.vstack([np.eye(3), -np.eye(3)])  # 6 points in 3 dimensions: antipodal pairs, D = 1/2
    np.testing.assert_allclose(measures.datapoint_dimensionality(octahedron), 0.5, rtol=1e-12)
    dedicated = np.array([[2.0, 0.0], [0.0, 0.5]])  # orthogonal points each own a dimension
    np.testing.assert_allclose(measures.datapoint_dimensionality(dedicated), 1.0, rtol=1e-12)
    with_zero = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]])  # a zero point has D = 0, changes nothing
    np.testing.assert_allclose(measures.datapoint_dimensionality(with_zero), [0.5, 0.0, 0.5], atol=1e-15)


def test_against_float64_numpy_and_feature_dimensionality():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(4, 30, 3)) * rng.uniform(0.1, 2, size=(4, 30, 1))
    H[1, 5] = 0.0
    D = measures.datapoint_dimensionality(H)
    for k in range(4):
        np.testing.assert_allclose(D[k], direct(H[k]), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(D, measures.feature_dimensionality(np.swapaxes(H, -1, -2)), rtol=1e-10, atol=1e-15)
    padded = np.concatenate([H, np.zeros((4, 10, 3))], axis=1)  # padding rows (t >= T) change nothing
    np.testing.assert_allclose(measures.datapoint_dimensionality(padded)[:, :30], D, rtol=1e-12, atol=1e-15)
    # a random frame already sums to about m: the sums cannot tell the regimes apart
    np.testing.assert_allclose(D.sum(axis=1), 3.0, rtol=0.5)


def test_strong_items():
    norms = np.array([[1.0, 0.9, 0.2, 0.5], [0.0, 0.0, 0.0, 0.0]])
    dims = np.array([[0.4, 0.2, 0.9, 0.7], [0.0, 0.0, 0.0, 0.0]])
    count, mean = measures.strong_items(norms, dims)
    np.testing.assert_array_equal(count, [2, 0])  # 0.5 is not above half of 1.0
    np.testing.assert_allclose(mean[0], 0.3, rtol=1e-12)
    assert np.isnan(mean[1])
    with pytest.raises(ValueError, match="fraction"):
        measures.strong_items(norms, dims, fraction=1.0)


def test_interior_peaks_need_a_rise_and_a_fall():
    # rises from 1.0 to 2.0 at index 3, falls to 0.99: one interior peak
    assert measures.interior_peaks([1.0, 1.0, 1.4, 2.0, 0.99]) == [2, 3]
    assert measures.peak_index([1.0, 1.0, 1.4, 2.0, 0.99]) == 3
    # highest at the first T and falling: no interior peak (the first and last entries never count)
    assert measures.interior_peaks([3.0, 2.0, 1.5, 1.0]) == []
    assert measures.peak_index([3.0, 2.0, 1.5, 1.0]) is None
    # still rising at the largest T: no peak (it has not fallen)
    assert measures.interior_peaks([1.0, 1.2, 1.5, 2.0]) == []
    # a bump smaller than the rise threshold is not a peak; a larger threshold drops a real one
    assert measures.interior_peaks([1.0, 1.004, 1.0]) == []
    assert measures.interior_peaks([1.0, 1.1, 1.0], rise=0.2) == []
    # the rise is measured from the lowest loss before j, not from the first one
    assert measures.interior_peaks([1.2, 0.9, 1.0, 0.9]) == [2]


def test_interior_peaks_reject_a_negative_rise():
    with pytest.raises(TmsError, match="rise"):
        measures.interior_peaks([1.0, 2.0, 1.0], rise=-0.1)
