"""Feature distributions: sparsity, uniform values, correlated and anticorrelated sets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from tms.engine import data as tdata


def test_zero_fraction_and_uniform_values():
    n, B, S = 4, 50_000, np.array([0.0, 0.3, 0.9, 0.99])
    X = np.asarray(tdata.sample(jax.random.PRNGKey(3), B, jnp.asarray(S, jnp.float32)))
    assert X.shape == (B, n)
    for i in range(n):
        zeros = np.mean(X[:, i] == 0)
        sd = np.sqrt(S[i] * (1 - S[i]) / B)
        assert abs(zeros - S[i]) <= 5 * sd + 1e-9, (i, zeros, S[i])
        nz = X[:, i][X[:, i] != 0]
        assert stats.kstest(nz, "uniform").pvalue > 1e-3
        assert nz.min() >= 0 and nz.max() <= 1


def test_correlated_sets_share_zero_pattern_and_anticorrelated_sets_exclusive():
    n, B, S = 7, 40_000, 0.6
    sets = tdata.FeatureSets.make(n, correlated=[(0, 1, 2)], anticorrelated=[(3, 4), (5, 6)])
    X = np.asarray(tdata.sample(jax.random.PRNGKey(1), B, jnp.full((n,), S, jnp.float32), sets))
    nz = X != 0
    assert np.all(nz[:, 0] == nz[:, 1]) and np.all(nz[:, 0] == nz[:, 2])
    assert stats.kstest(X[nz[:, 1], 1], "uniform").pvalue > 1e-3
    assert not np.array_equal(X[:, 0], X[:, 1])  # values are independent
    for s in ((3, 4), (5, 6)):
        active = nz[:, list(s)].sum(axis=1)
        assert active.max() == 1
        sd = np.sqrt(S * (1 - S) / B)
        assert abs(np.mean(active == 0) - S) < 5 * sd
        # each member is the active one half the time
        share = nz[active == 1][:, s[0]].mean()
        assert abs(share - 0.5) < 5 * np.sqrt(0.25 / (active == 1).sum())


def test_bad_feature_sets():
    with pytest.raises(ValueError, match="outside"):
        tdata.FeatureSets.make(3, correlated=[(0, 5)])
    with pytest.raises(ValueError, match="more than one set"):
        tdata.FeatureSets.make(4, correlated=[(0, 1)], anticorrelated=[(1, 2)])


def test_density_and_sparsity_conversion():
    np.testing.assert_allclose(tdata.sparsity_from(density=[1.0, 0.1]), [0.0, 0.9], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"sparsity must lie in \[0, 1\)"):
        tdata.sparsity_from(sparsity=[0.5, 1.2])
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        tdata.sparsity_from(density=[0.0])
    with pytest.raises(ValueError, match="exactly one"):
        tdata.sparsity_from(sparsity=0.1, density=0.9)

