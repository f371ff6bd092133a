"""H&H's resampling variants on a model that is exactly the α/β AND hypothesis (every variant keeps 100%),
and on one that also reads a third direction (only the variants that resample it lose)."""

import numpy as np
import pytest

from tms.challenge.diagnostics import resampling as Rs
from tms.challenge.diagnostics.directions import AndRule, pca
from tms.challenge.diagnostics.grid import tail_logit_diff

D_MODEL, N = 5, 6000


def _data(seed=0):
    """resid_mid with exactly uncorrelated centred columns of decreasing spread: PCs are the axes."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(N, D_MODEL))
    Q, _ = np.linalg.qr(Z - Z.mean(0))
    return 0.3 + Q * np.sqrt(N) * np.array([2.0, 1.5, 0.6, 0.3, 0.1])


def _and_model(alpha, beta, ta, tb, third=0.0):
    """Params whose tail is min(α·r − t_α, β·r − t_β) + third · r_2 exactly: [logit > 0] = the AND."""
    p = {"W_in": np.zeros((D_MODEL, 8)), "b_in": np.full(8, -1.0), "W_out": np.zeros((8, D_MODEL)),
         "b_out": np.zeros(D_MODEL), "W_U": np.zeros((D_MODEL, 2))}
    u = alpha + third * np.eye(D_MODEL)[2]  # the logit direction (α, plus the third direction)
    p["W_U"][:, 1] = u
    p["W_in"][:, 0], p["b_in"][0] = alpha - beta, tb - ta
    p["W_out"][0] = -alpha / (alpha @ u)  # W_out[0]·u = −1
    p["b_out"] = -ta * alpha / (alpha @ u)
    return p


def _setup(third=0.0):
    X = _data()
    alpha = np.eye(D_MODEL)[0]
    beta = (np.eye(D_MODEL)[0] + np.eye(D_MODEL)[1]) / np.sqrt(2)  # not orthogonal to α, in the PC1–PC2 plane
    ta, tb = np.quantile(X @ alpha, 0.3), np.quantile(X @ beta, 0.4)
    params = _and_model(alpha, beta, ta, tb, third)
    rule = AndRule(np.stack([alpha, beta]), np.array([ta, tb]), 1.0)
    return X, params, rule


def test_the_hand_built_model_is_the_and():
    X, params, rule = _setup()
    ld = tail_logit_diff(params, X)
    np.testing.assert_allclose(ld, np.minimum(X @ rule.directions[0] - rule.thresholds[0],
                                              X @ rule.directions[1] - rule.thresholds[1]), atol=1e-5)


def test_basis_round_trip_and_filter_values():
    X, _, rule = _setup()
    b = Rs.Basis(pca(X), rule)
    f, rest = b.split(X)
    np.testing.assert_allclose(f, X @ rule.directions.T, atol=1e-9)
    np.testing.assert_allclose(b.join(f, rest), X, atol=1e-9)
    with pytest.raises(ValueError, match="first two principal components"):
        Rs.Basis(pca(X), AndRule(np.eye(D_MODEL)[[0, 2]], np.zeros(2), 1.0))


def test_every_variant_keeps_an_exact_and_hypothesis():
    X, params, rule = _setup()
    truth = (tail_logit_diff(params, X) > 0)
    t = Rs.resample_ablation(params, X, pca(X), rule, truth, repeats=2).set_index("variant")
    assert list(t.index) == ["clean", *Rs.VARIANTS]
    np.testing.assert_allclose(t["agreement"], 1.0)
    np.testing.assert_allclose(t["accuracy"], 1.0)


def test_a_third_direction_shows_in_variant_1_but_not_1star():
    X, params, rule = _setup(third=0.5)
    truth = (tail_logit_diff(params, X) > 0)
    t = Rs.resample_ablation(params, X, pca(X), rule, truth, repeats=1).set_index("variant")
    assert t.loc["[1]", "agreement"] < 0.97 and t.loc["all", "agreement"] < 0.97
    np.testing.assert_allclose(t.loc["[1*]", "agreement"], 1.0)  # PC3 (the third direction) is kept
    with pytest.raises(ValueError, match="variants"):
        Rs.resample_ablation(params, X, pca(X), rule, truth, variants=("[4]",))


def test_resampling_keeps_groups():
    rng = np.random.default_rng(6)
    g = rng.integers(0, 4, 500)
    np.testing.assert_array_equal(g[Rs._within(g, rng)], g)
