"""Measures of weights against explicit float64 loops and hand-built polytopes with known D_i: norms,
interference, superposition, dimensionality, Frobenius count, D*."""

import numpy as np
import pytest
from polytope_helpers import antiprism, ngon, tetrahedron

from tms import analysis as geo

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------------ hand-built shapes


def loop_measures(W):
    """Independent reference: explicit loops over features, float64."""
    m, n = W.shape
    norms, sup, dim = np.zeros(n), np.zeros(n), np.zeros(n)
    inter = np.zeros((n, n))
    for i in range(n):
        norms[i] = np.sqrt(sum(W[a, i] ** 2 for a in range(m)))
        for j in range(n):
            dot = sum(W[a, i] * W[a, j] for a in range(m))
            inter[i, j] = dot / norms[i] if norms[i] > 0 else 0.0
        sup[i] = sum(inter[i, j] ** 2 for j in range(n) if j != i)
        total = sum(inter[i, j] ** 2 for j in range(n))
        dim[i] = norms[i] ** 2 / total if total > 0 else 0.0
    return norms, inter, sup, dim


# --------------------------------------------------------------------------------------------- measures
def test_measures_match_explicit_loops_on_a_grid():
    W = RNG.normal(size=(2, 3, 4, 6))
    W[1, 2, :, 3] = 0.0  # a zero column: row of interference is zero, D = 0, no warnings
    with np.errstate(all="raise"):
        norms, inter = geo.feature_norms(W), geo.interference(W)
        sup, dim = geo.superposition(W), geo.feature_dimensionality(W)
        fro, dstar = geo.frobenius_count(W), geo.dims_per_feature(W)
    assert norms.shape == (2, 3, 6) and inter.shape == (2, 3, 6, 6) and fro.shape == (2, 3)
    for idx in np.ndindex(2, 3):
        rn, ri, rs, rd = loop_measures(W[idx])
        np.testing.assert_allclose(norms[idx], rn, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(inter[idx], ri, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sup[idx], rs, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dim[idx], rd, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fro[idx], np.sum(rn ** 2), rtol=1e-12)
        np.testing.assert_allclose(dstar[idx], 4 / np.sum(rn ** 2), rtol=1e-12)
    np.testing.assert_array_equal(inter[1, 2, 3], 0.0)
    assert dim[1, 2, 3] == 0.0 and norms[1, 2, 3] == 0.0


def test_all_zero_weights_give_zeros_and_infinite_dims_per_feature():
    W = np.zeros((3, 4))
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(geo.feature_dimensionality(W), 0.0)
        np.testing.assert_array_equal(geo.superposition(W), 0.0)
        assert geo.dims_per_feature(W) == np.inf
    assert geo.polytope_census(W)["label"].iloc[0] == "4 dropped"


@pytest.mark.parametrize("W, expected_D", [
    (np.eye(4), 1.0),
    (np.array([[1.0, -1.0]]), 0.5),
    (ngon(3), 2 / 3),
    (ngon(5), 2 / 5),
    (ngon(7, radius=0.8), 2 / 7),
    (tetrahedron(), 3 / 4),
    (antiprism(1 / np.sqrt(3)), 3 / 8),
])
def test_dimensionality_of_polytopes(W, expected_D):
    np.testing.assert_allclose(geo.feature_dimensionality(W), expected_D, rtol=1e-12)
    # D_i = r/k sums to the rank: the features share the dimensions exactly
    np.testing.assert_allclose(geo.feature_dimensionality(W).sum(), np.linalg.matrix_rank(W), rtol=1e-12)


def test_empty_grid_gives_empty_feature_frame():
    W = np.zeros((0, 2, 3))
    assert geo.feature_frame(W).empty and "dimensionality" in geo.feature_frame(W).columns


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="ndim >= 2"):
        geo.feature_norms(np.ones(3))
