"""Polytope families by structure: hand-built members with random free parameters, random rotations into
larger hidden spaces, permutations and scales; tegum factors split by the subspaces they span."""

import numpy as np
import pytest
from polytope_helpers import antiprism, ngon, random_rotation, tetrahedron

from tms import analysis as geo
from tms.analysis import families


def triangular_antiprism(h):
    """``(3, 6)`` unit vectors: a triangle at height h and one at −h turned by 60° (octahedron at h = 1/√3)."""
    rho = np.sqrt(1 - h * h)
    a = np.pi / 3 * np.arange(6)
    return np.stack([rho * np.cos(a), rho * np.sin(a), np.where(np.arange(6) % 2 == 0, h, -h)])


def cube():
    return np.array([[x, y, z] for x in (1, -1) for y in (1, -1) for z in (1, -1)], float).T / np.sqrt(3)


def icosahedron():
    g = (1 + np.sqrt(5)) / 2
    v = []
    for s1 in (1, -1):
        for s2 in (1, -1):
            v += [(0, s1, s2 * g), (s1, s2 * g, 0), (s2 * g, 0, s1)]
    v = np.array(v, float).T
    return v / np.linalg.norm(v, axis=0)


def simplex(r):
    """``(r, r + 1)``: the regular simplex, pairwise cosines −1/r (an equal-norm tight frame)."""
    E = np.eye(r + 1) - 1.0 / (r + 1)
    U = np.linalg.svd(E)[0][:, :r]
    V = U.T @ E
    return V / np.linalg.norm(V, axis=0)


def embed(P, m, rng, scale=1.0):
    """Rotate ``P: (r, k)`` into a random r-dimensional subspace of R^m and permute its features."""
    r, k = P.shape
    Q = random_rotation(m, rng)[:, :r]
    return scale * (Q @ P)[:, rng.permutation(k)]


@pytest.mark.parametrize("seed", range(4))
def test_families_with_random_free_parameters_and_rotations(seed):
    rng = np.random.default_rng(seed)
    m = 3 + int(rng.integers(0, 4))
    cases = [
        (antiprism(rng.uniform(0.2, 0.85)), "square_antiprism", 8, 3),
        (triangular_antiprism(rng.uniform(0.1, 0.5)), "triangular_antiprism", 6, 3),  # 1/√3 = 0.577 excluded
        (tetrahedron(), "tetrahedron", 4, 3),
        (cube(), "cube", 8, 3),
        (icosahedron(), "icosahedron", 12, 3),
        (ngon(3, offset=rng.uniform(0, 6)), "triangle", 3, 2),
        (ngon(5, offset=rng.uniform(0, 6)), "pentagon", 5, 2),
        (ngon(7, offset=rng.uniform(0, 6)), "kgon", 7, 2),
        (np.array([[1.0, -1.0]]), "digon", 2, 1),
    ]
    for P, name, k, r in cases:
        W = embed(P, max(m, r), rng, scale=rng.uniform(0.7, 1.3))
        (f,) = geo.classify(W)
        assert (f.name, f.k, f.r, f.regular) == (name, k, r, True), name


def test_uniform_tight_frame_of_no_named_type():
    rng = np.random.default_rng(5)
    for r in (4, 5):
        W = embed(simplex(r), r + 2, rng)
        (f,) = geo.classify(W)
        assert (f.name, f.k, f.r) == ("tight_frame", r + 1, r)
        np.testing.assert_allclose(geo.feature_dimensionality(W), r / (r + 1), rtol=1e-9)
        np.testing.assert_allclose(f.max_dim_deviation, 0.0, atol=1e-9)
        assert geo.polytope_census(W).iloc[0].label == f"uniform tight frame ({r + 1} in {r})"
    # the same number of equal-norm vectors without the symmetry is irregular
    V = rng.normal(size=(4, 5))
    (f,) = geo.classify(V / np.linalg.norm(V, axis=0))
    assert (f.name, f.regular) == ("irregular", False)


def test_the_trained_antiprism_of_another_height_is_named():
    """A square antiprism whose cosine rows read like the trained n=8, m=3 model at S=0.97:
    [1, .28, .27, .24, .23, −.45, −.79, −.79] (the tight ideal's is [1, .33, .33, .14, .14, −.33, −.8, −.8])."""
    P = antiprism(np.sqrt(0.275))  # row {1, h², h², h² − ρ², ρ²/√2 − h² (×2), −ρ²/√2 − h² (×2)}, ρ² = 1 − h²
    rng = np.random.default_rng(0)
    W = embed(P, 3, rng) + 0.01 * rng.normal(size=(3, 8))
    row = np.sort(geo.cosines(W)[0])[::-1]
    np.testing.assert_allclose(row, [1, .28, .27, .24, .23, -.45, -.79, -.79], atol=0.06)
    (f,) = geo.classify(W)
    assert (f.name, f.k, f.r) == ("square_antiprism", 8, 3)
    assert geo.polytope_census(W).iloc[0].label == "square_antiprism"


def test_octahedron_is_three_orthogonal_digons_and_bipyramid_is_triangle_plus_digon():
    rng = np.random.default_rng(1)
    W = embed(triangular_antiprism(1 / np.sqrt(3)), 4, rng)
    assert [f.name for f in geo.classify(W)] == ["digon"] * 3
    bipyramid = np.concatenate([np.vstack([ngon(3), np.zeros((1, 3))]), np.array([[0, 0], [0, 0], [1.0, -1]])], 1)
    W = embed(bipyramid, 3, rng)
    assert sorted(f.name for f in geo.classify(W)) == ["digon", "triangle"]


def test_factors_split_by_subspaces_despite_stray_cosines():
    """Three polytopes whose subspaces are tilted by up to 0.25 towards each other: the cosine threshold
    (0.2) joins them into one frame; the subspace split recovers the three factors."""
    m = 7
    W = np.zeros((m, 16))
    W[:3, :8] = antiprism(0.45)
    W[3:5, 8:13] = ngon(5)
    d = np.zeros(m)
    d[5], d[0] = np.sqrt(1 - 0.25 ** 2), 0.25  # the digon leans towards the antiprism's first axis
    W[:, 13], W[:, 14] = d, -d
    p = np.zeros(m)
    p[6], p[3] = np.sqrt(1 - 0.22 ** 2), 0.22  # the dedicated feature leans towards the pentagon's plane
    W[:, 15] = p
    rng = np.random.default_rng(3)
    perm = rng.permutation(16)
    W = random_rotation(m, rng) @ W[:, perm]
    joined = np.abs(geo.cosines(W)) > 0.2
    np.fill_diagonal(joined, False)
    assert len(families.components(joined | np.eye(16, dtype=bool))) < 4  # the threshold alone welds them
    names = sorted((f.name, f.k) for f in geo.classify(W))
    assert names == [("dedicated", 1), ("digon", 2), ("pentagon", 5), ("square_antiprism", 8)]
    # and a genuinely irregular frame stays one factor
    V = rng.normal(size=(3, 6))
    assert [(f.name, f.k) for f in geo.classify(V / np.linalg.norm(V, axis=0))] == [("irregular", 6)]


def test_span_coupling_against_principal_angles():
    rng = np.random.default_rng(4)
    a = np.deg2rad(rng.uniform(5, 80))
    A = np.array([[1.0, 0], [0, 1], [0, 0], [0, 0]])
    B = np.array([[np.cos(a)], [0], [np.sin(a)], [0]])
    np.testing.assert_allclose(families.span_coupling(A, B, 0.1), np.cos(a), rtol=1e-12)
    np.testing.assert_allclose(families.span_coupling(A, np.eye(4)[:, 3:], 0.1), 0.0, atol=1e-12)


def test_bad_thresholds_name_the_field():
    with pytest.raises(ValueError, match="span_tol"):
        geo.classify(ngon(5), span_tol=1.5)
    with pytest.raises(ValueError, match="face_tol_deg"):
        geo.classify(ngon(5), face_tol_deg=0)
