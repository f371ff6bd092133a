"""The AND-of-two-thresholds search and PCA on synthetic data with planted answers."""

import itertools

import jax
import numpy as np
import pytest

from tms.challenge.diagnostics import directions as Dr


def test_best_thresholds_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 8, 60).astype(float), rng.integers(0, 8, 60).astype(float)
    y = rng.integers(0, 2, 60)
    ta, tb, agree = Dr.best_thresholds(a, b, y)
    cand = np.arange(-1, 8) + 0.5
    brute = max((((a > s) & (b > t)) == y).mean() for s, t in itertools.product(cand, cand))
    np.testing.assert_allclose(agree, brute)
    np.testing.assert_allclose((((a > ta) & (b > tb)) == y).mean(), agree)


def test_and_search_recovers_planted_directions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 10)) * np.linspace(2, 0.5, 10)[None, :]
    u = rng.normal(size=(2, 10))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    p = X @ u.T
    y = ((p[:, 0] > 0.4) & (p[:, 1] > -0.3)).astype(np.uint8)
    rule = Dr.fit_and_rule(X, y, jax.random.PRNGKey(0), n_components=10, restarts=4, steps=300)
    cos = np.abs(rule.directions @ u.T)
    np.testing.assert_allclose(np.sort(cos.max(1)), [1.0, 1.0], atol=0.02)
    np.testing.assert_allclose(rule.agreement, 1.0, atol=0.01)
    np.testing.assert_allclose((Dr.and_predict(rule, X) == y).mean(), rule.agreement)
    neg = Dr.fit_and_rule(X, 1 - y, jax.random.PRNGKey(1), n_components=10, restarts=4, steps=300,
                          polarity="both")
    assert not neg.positive
    np.testing.assert_allclose(neg.agreement, 1.0, atol=0.01)
    np.testing.assert_allclose((Dr.and_predict(neg, X) == 1 - y).mean(), neg.agreement)
    with pytest.raises(ValueError, match="labels"):
        Dr.fit_and_rule(X, y[:10], jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="polarity"):
        Dr.fit_and_rule(X, y, jax.random.PRNGKey(0), polarity="up")


def test_pca_matches_covariance_eigendecomposition():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))
    pc = Dr.pca(X)
    w, v = np.linalg.eigh(np.cov(X.T))
    np.testing.assert_allclose(pc.variance, w[::-1], rtol=1e-8)
    np.testing.assert_allclose(np.abs(pc.components @ v[:, ::-1]), np.eye(5), atol=1e-6)
    np.testing.assert_allclose(pc.explained.sum(), 1.0)


def test_pc1_pc2_rule_recovers_two_planted_directions():
    """resid_mid built from two known directions (plus small noise elsewhere): the published PC1–PC2 fit,
    refined in the plane, finds them (up to their order) and reproduces the AND labels."""
    rng = np.random.default_rng(11)
    d, n = 12, 6000
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a, b = rng.normal(size=n) * 2.0, rng.normal(size=n) * 1.5
    X = 1.0 + np.outer(a, Q[0]) + np.outer(b, Q[1]) + 0.05 * rng.normal(size=(n, d))
    alpha, beta = Q[0], (Q[0] + 2 * Q[1]) / np.sqrt(5)  # not orthogonal, both in the plane
    ta, tb = np.quantile(X @ alpha, 0.3), np.quantile(X @ beta, 0.35)
    y = ((X @ alpha > ta) & (X @ beta > tb)).astype(np.uint8)
    pc = Dr.pca(X)
    rule = Dr.fit_and_rule(X, y, jax.random.PRNGKey(0), n_components=Dr.PUBLISHED_COMPONENTS, restarts=4, steps=200)
    rule = Dr.refine_in_plane(X, y, rule, pc.components[:2])
    assert rule.agreement > 0.995
    cos = np.abs(rule.directions @ np.stack([alpha, beta]).T)  # (found, planted)
    assert max(min(cos[0, 0], cos[1, 1]), min(cos[0, 1], cos[1, 0])) > 0.995
    np.testing.assert_allclose(np.linalg.norm(rule.directions @ pc.components[:2].T, axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose((Dr.and_predict(rule, X) == y).mean(), rule.agreement, atol=1e-12)
