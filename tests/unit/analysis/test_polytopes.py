"""Polytopes: hand-built shapes with known geometry, tegum products, invariance under rotations and
permutations, grids of models, thresholds, k-gon labels and bad input."""

import numpy as np
import pandas as pd
import pytest
from polytope_helpers import antiprism, ngon, random_rotation, tetrahedron

from tms import analysis as geo

# ------------------------------------------------------------------------------------ hand-built shapes


def block(*parts):
    """Direct sum: each ``(m_k, n_k)`` block in its own hidden dims and its own features."""
    m, n = sum(p.shape[0] for p in parts), sum(p.shape[1] for p in parts)
    W, i, j = np.zeros((m, n)), 0, 0
    for p in parts:
        W[i:i + p.shape[0], j:j + p.shape[1]] = p
        i, j = i + p.shape[0], j + p.shape[1]
    return W


def test_square_antiprism_is_named_at_every_height_and_tight_only_at_one():
    tight = antiprism(1 / np.sqrt(3))
    np.testing.assert_allclose(tight @ tight.T, 8 / 3 * np.eye(3), atol=1e-12)  # frame operator (k/r) I
    np.testing.assert_allclose(np.linalg.norm(tight, axis=0), 1.0, rtol=1e-12)
    # equal-edge antiprism: square edge ρ√2 equals the lateral edge; h² = √2ρ²/4
    rho2 = 1 / (1 + np.sqrt(2) / 4)
    equal = antiprism(np.sqrt(np.sqrt(2) * rho2 / 4))
    d = np.linalg.norm(equal[:, :, None] - equal[:, None, :], axis=0)
    np.testing.assert_allclose(d[0, 1], d[0, 4], rtol=1e-12)
    frame = equal @ equal.T
    assert abs(frame[2, 2] - 8 / 3) > 0.5  # not tight
    D = geo.feature_dimensionality(equal)
    np.testing.assert_allclose(D, 1 / (4 * rho2 ** 2 + 8 * (1 - rho2) ** 2), rtol=1e-12)
    assert abs(D[0] - 3 / 8) > 5e-3
    (f,) = geo.classify(equal)  # the family, by structure; its D_i tell it from the tight one
    assert (f.k, f.r, f.name, f.regular) == (8, 3, "square_antiprism", True)
    np.testing.assert_allclose(f.max_dim_deviation, abs(D[0] - 3 / 8), rtol=1e-9)
    (f,) = geo.classify(tight)
    assert (f.k, f.r, f.name, f.regular) == (8, 3, "square_antiprism", True)
    np.testing.assert_allclose(f.max_dim_deviation, 0.0, atol=1e-12)
    np.testing.assert_allclose(geo.polytope_vectors("square_antiprism") @ geo.polytope_vectors(
        "square_antiprism").T, 8 / 3 * np.eye(3), atol=1e-12)


# --------------------------------------------------------------------------------------- classification
@pytest.mark.parametrize("W, name, k, r", [
    (np.array([[1.3]]), "dedicated", 1, 1),
    (np.array([[0.9, -0.9]]), "digon", 2, 1),
    (ngon(3), "triangle", 3, 2),
    (tetrahedron(), "tetrahedron", 4, 3),
    (ngon(5), "pentagon", 5, 2),
    (ngon(6), "kgon", 6, 2),
    (ngon(9), "kgon", 9, 2),
    (antiprism(1 / np.sqrt(3)), "square_antiprism", 8, 3),
])
def test_single_polytopes_classify(W, name, k, r):
    (f,) = geo.classify(W)
    assert (f.name, f.k, f.r, f.regular, f.features) == (name, k, r, True, tuple(range(k)))
    np.testing.assert_allclose(f.max_dim_deviation, 0.0, atol=1e-12)


def test_square_is_two_orthogonal_digons():
    census = geo.polytope_census(ngon(4))
    assert census["factors_digon"].iloc[0] == 2 and census["n_digon"].iloc[0] == 4
    assert census["label"].iloc[0] == "2×digon"


def test_tegum_product_pentagon_digon_dedicated_plus_dropped():
    W = block(ngon(5), np.array([[1.0, -1.0]]), np.array([[1.0]]), np.zeros((0, 2)))
    b = np.array([-0.1] * 5 + [-0.05, -0.05, 0.0, 0.3, -0.2])
    factors = geo.classify(W, b)
    assert [(f.name, f.features) for f in factors] == [
        ("pentagon", (0, 1, 2, 3, 4)), ("digon", (5, 6)), ("dedicated", (7,))]
    assert factors[1].bias == (-0.05, -0.05)
    row = geo.polytope_census(W, b).iloc[0]
    counts = (row.n_pentagon, row.n_digon, row.n_dedicated, row.n_not_represented, row.n_irregular)
    assert counts == (5, 2, 1, 2, 0)
    assert (row.factors_pentagon, row.factors_digon, row.factors_dedicated) == (1, 1, 1)
    assert row.n_dropped_positive_bias == 1
    assert row.label == "pentagon + digon + dedicated + 2 dropped"
    np.testing.assert_allclose([row.frobenius, row.dims_per_feature], [8.0, 4 / 8], rtol=1e-12)
    D = geo.feature_dimensionality(W)
    np.testing.assert_allclose(D, [0.4] * 5 + [0.5, 0.5, 1.0, 0.0, 0.0], atol=1e-12)
    frame = geo.feature_frame(W, b)
    assert list(frame.columns) == ["feature", "norm", "superposition", "dimensionality", "represented", "bias",
                                   "bias_sign"]
    np.testing.assert_allclose(frame["dimensionality"], D, rtol=1e-12, atol=1e-12)
    assert frame["bias_sign"].tolist() == [-1] * 7 + [0, 1, -1]
    assert frame["represented"].tolist() == [True] * 8 + [False] * 2


def test_classification_invariant_under_rotation_and_permutation():
    rng = np.random.default_rng(1)
    base = block(ngon(5), tetrahedron(), np.array([[1.0, -1.0]]), ngon(3, 1.1), np.ones((1, 1)))
    base = np.concatenate([base, 0.01 * rng.normal(size=(base.shape[0], 2))], axis=1)  # two dropped
    ref = [(f.name, f.k, f.r) for f in geo.classify(base)]
    ref_row = geo.polytope_census(base).drop(columns=["frobenius", "dims_per_feature", "max_dim_deviation"])
    for _ in range(5):
        Q = random_rotation(base.shape[0], rng)
        perm = rng.permutation(base.shape[1])
        W = Q @ base[:, perm]
        factors = geo.classify(W)
        assert sorted((f.name, f.k, f.r) for f in factors) == sorted(ref)
        # the factors hold the same features once the permutation is undone
        assert sorted(tuple(sorted(perm[list(f.features)])) for f in factors) == sorted(
            f.features for f in geo.classify(base))
        pd.testing.assert_frame_equal(geo.polytope_census(W).drop(
            columns=["frobenius", "dims_per_feature", "max_dim_deviation"]), ref_row)
        np.testing.assert_allclose(geo.feature_dimensionality(W), geo.feature_dimensionality(base)[perm],
                                   rtol=1e-10, atol=1e-12)


def test_small_noise_stays_regular_and_distortion_is_irregular():
    rng = np.random.default_rng(2)
    noisy = ngon(5) + 0.01 * rng.normal(size=(2, 5))
    (f,) = geo.classify(noisy)
    assert f.name == "pentagon" and f.regular
    assert 0 < f.max_dim_deviation < 0.05
    t = 2 * np.pi * np.arange(5) / 5
    t[1] += np.deg2rad(20)  # one vertex moved by 20°
    (f,) = geo.classify(np.stack([np.cos(t), np.sin(t)]))
    assert (f.name, f.k, f.r, f.regular) == ("irregular", 5, 2, False)
    # a digon leaking slightly into a second dimension still has numerical rank 1
    (f,) = geo.classify(np.array([[1.0, -1.0], [0.03, 0.01]]))
    assert (f.name, f.k, f.r) == ("digon", 2, 1)
    (f,) = geo.classify(np.array([[1.0, -1.0], [0.03, 0.01]]), rank_tol=1e-3)
    assert (f.name, f.k, f.r) == ("irregular", 2, 2)
    # unequal norms break regularity too
    (f,) = geo.classify(ngon(3) * np.array([[1.0, 1.0, 1.5]]))
    assert (f.name, f.regular) == ("irregular", False)
    # a 5° tilt between two orthogonal digons (cosine 0.087) stays two digons
    a = np.deg2rad(5)
    W = np.array([[1.0, -1.0, np.sin(a), -np.sin(a)], [0.0, 0.0, np.cos(a), -np.cos(a)]])
    assert [f.name for f in geo.classify(W)] == ["digon", "digon"]
    # below that cosine the four join into one factor: a near-regular square, i.e. a 4-gon
    assert [(f.name, f.k, f.r) for f in geo.classify(W, interference_threshold=0.05)] == [("kgon", 4, 2)]
    # not a 4-gon at a tighter gram_tol: the joined set splits back into the two digons, whose spans
    # couple by sin 5° = 0.087 <= span_tol; with span_tol below that it stays one irregular factor
    assert [f.name for f in geo.classify(W, interference_threshold=0.05, gram_tol=0.05)] == ["digon", "digon"]
    assert [f.name for f in geo.classify(W, interference_threshold=0.05, gram_tol=0.05,
                                         span_tol=0.08)] == ["irregular"]


def test_relative_threshold_handles_any_scale():
    W = block(ngon(5), np.array([[1.0, -1.0]]), np.zeros((0, 1)))
    for scale in (1e-3, 1e3):
        abs_census = geo.polytope_census(scale * W)
        rel = geo.polytope_census(scale * W, relative=True)
        assert rel["label"].iloc[0] == "pentagon + digon + 1 dropped"
        assert abs_census["n_represented"].iloc[0] == (0 if scale < 1 else 7)
    with pytest.raises(ValueError, match="norm_threshold"):
        geo.polytope_census(W, relative=True, norm_threshold=1.5)


def test_grid_census_has_one_row_per_model_matching_classify():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 4, 3, 6)) * 0.7
    W[1, 2] = block(ngon(5), np.ones((1, 1)))
    census = geo.polytope_census(W, axes=["sparsity", "seed"])
    assert len(census) == 12
    assert census[["sparsity", "seed"]].values.tolist() == [[i, j] for i in range(3) for j in range(4)]
    for (i, j), row in zip(np.ndindex(3, 4), census.itertuples()):
        factors = geo.classify(W[i, j])
        assert row.n_represented == sum(f.k for f in factors)
        assert row.n_irregular == sum(f.k for f in factors if f.name == "irregular")
    assert census.loc[6, "label"] == "pentagon + dedicated"
    named = geo.polytope_census(W, axes={"sparsity": [0.1, 0.5, 0.9], "seed": [7, 8, 9, 10]})
    assert named.loc[6, ["sparsity", "seed"]].tolist() == [0.5, 9]
    frame = geo.feature_frame(W, axes=["sparsity", "seed"])
    assert len(frame) == 72 and frame.loc[6 * 6 + 5, ["sparsity", "seed", "feature"]].tolist() == [1, 2, 5]


def test_empty_grid_gives_empty_census_with_columns():
    W = np.zeros((0, 2, 3))
    census = geo.polytope_census(W, np.zeros((0, 3)), axes=["s"])
    assert census.empty and list(census.columns) == geo.census_columns(["s"])
    assert geo.kgon_labels(W, np.zeros((0, 3))).shape == (0,)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        geo.polytope_census(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="b must have shape"):
        geo.classify(np.eye(2), np.zeros(3))
    with pytest.raises(ValueError, match="one model"):
        geo.classify(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="interference_threshold"):
        geo.classify(np.eye(2), interference_threshold=1.2)
    with pytest.raises(ValueError, match="unknown threshold"):
        geo.polytope_census(np.eye(2), norm_treshold=0.3)
    with pytest.raises(ValueError, match="m = 2"):
        geo.kgon_labels(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="axes"):
        geo.polytope_census(np.zeros((2, 2, 2)), axes=["a", "b"])


# ----------------------------------------------------------------------------------------------- k-gons
def test_kgon_labels_and_angles():
    W = np.concatenate([ngon(5, 0.9, offset=0.3), np.zeros((2, 3))], axis=1)
    assert geo.kgon_label(W, np.array([0.0] * 5 + [0.2, -0.1, 0.0])) == "5+"
    W4 = np.concatenate([ngon(4), np.zeros((2, 2))], axis=1)
    assert geo.kgon_label(W4, np.array([-0.1] * 4 + [0.1, 0.3])) == "4++"
    grid = np.stack([W, random_rotation(2, np.random.default_rng(4)) @ W])
    labels = geo.kgon_labels(grid, np.zeros((2, 8)) + np.array([0.0] * 6 + [0.5, 0.5]))
    assert labels.tolist() == ["5++", "5++"]
    np.testing.assert_allclose(geo.kgon_angle_error(grid), 0.0, atol=1e-12)
    t = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(geo.kgon_angle_error(np.stack([np.cos(t), np.sin(t)])),
                               abs((2 * np.pi - 2.0) - 2 * np.pi / 3), rtol=1e-12)


def test_kgon_labels_of_theory_critical_points():
    from tms.analysis import theory
    for k, n_plus in [(5, 1), (4, 2), (6, 0)]:
        W, b = theory.kgon_params(6, k, n_plus, length=1.0, bias=-0.1, bias_plus=0.05)
        assert geo.kgon_label(W, b) == str(k) + "+" * n_plus

