"""The high-sparsity distribution and the exact full-batch loss of a fixed high-sparsity set."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.analysis.theory import high_sparsity_loss, kgon_params
from tms.engine.data import high_sparsity_sample, high_sparsity_set, high_sparsity_set_loss
from tms.engine.models import Params, batch_loss


def test_exactly_one_feature_active_with_uniform_magnitude():
    X = np.asarray(high_sparsity_sample(jax.random.PRNGKey(0), 60_000, 6))
    assert X.shape == (60_000, 6)
    np.testing.assert_array_equal((X > 0).sum(axis=1), 1)
    mu = X.max(axis=1)
    assert mu.min() >= 0 and mu.max() < 1
    np.testing.assert_allclose(mu.mean(), 0.5, atol=0.005)  # U[0, 1]: mean 1/2, s.e. 0.0012
    np.testing.assert_allclose(np.bincount(X.argmax(axis=1), minlength=6) / 60_000, 1 / 6, atol=0.006)


@pytest.mark.parametrize("bad", [dict(batch=0), dict(n_features=0)])
def test_bad_sizes_are_named(bad):
    args = dict(batch=4, n_features=3) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        high_sparsity_sample(jax.random.PRNGKey(0), args["batch"], args["n_features"])


def _dense(W, b, X):
    return batch_loss(Params(W, b), X, jnp.ones(X.shape[1]))


_SET = jax.jit(high_sparsity_set_loss)
_SET_GRAD = jax.jit(jax.grad(high_sparsity_set_loss, argnums=(0, 1)))
_DENSE_GRAD = jax.jit(jax.grad(_dense, argnums=(0, 1)))


@pytest.mark.parametrize("case", range(5))
def test_set_loss_and_gradients_equal_the_dense_batch_loss(case):
    data = high_sparsity_set(jax.random.PRNGKey(1), 2000, 6)
    k1, k2 = jax.random.split(jax.random.PRNGKey(case))
    W, b = jax.random.normal(k1, (2, 6)), 0.5 * jax.random.normal(k2, (6,))
    if case == 3:  # a zero column: G_ij = 0 for that feature, the a = 0 branch (active iff b_j > 0)
        W = W.at[:, 5].set(0.0)
    if case == 4:  # the 6-gon critical point
        W, b = (jnp.asarray(a, jnp.float32) for a in kgon_params(6, 6, 0, 1.3205, -0.618))
    X = data.dense()
    np.testing.assert_allclose(_SET(W, b, data), _dense(W, b, X), rtol=1e-5)
    g_set = _SET_GRAD(W, b, data)
    g_dense = _DENSE_GRAD(W, b, X)
    for a, c in zip(g_set, g_dense):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=2e-6)


def test_the_set_is_the_sample_sorted_and_its_loss_tends_to_the_exact_theory():
    key = jax.random.PRNGKey(5)
    data = high_sparsity_set(key, 200_000, 6)
    X = np.asarray(high_sparsity_sample(key, 200_000, 6))
    np.testing.assert_allclose(np.sort(X.max(axis=1)), np.sort(np.asarray(data.mu)), rtol=1e-6)
    W, b = kgon_params(6, 5, 1, 1.17046, -0.28230, 0.08333)
    exact = float(high_sparsity_loss(W, b))  # the 5+-gon: 0.06180
    got = float(high_sparsity_set_loss(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32), data))
    np.testing.assert_allclose(got, exact, rtol=0.02)  # Monte Carlo error of the mean over 2e5 examples ~0.5%


def test_training_data_with_one_anticorrelated_set_at_sparsity_0_is_the_high_sparsity_distribution():
    # What a sweep trains on with `data.anticorrelated = [[0, ..., n-1]]` and sparsity 0: the same distribution
    # (exactly one feature, uniformly chosen, magnitude U[0, 1]), so trained models, theory and sampler share it.
    from tms.engine.data import FeatureSets, sample

    sets = FeatureSets.make(6, anticorrelated=[list(range(6))])
    X = np.asarray(sample(jax.random.PRNGKey(2), 60_000, jnp.zeros(6), sets))
    np.testing.assert_array_equal((X > 0).sum(axis=1), 1)
    np.testing.assert_allclose(np.bincount(X.argmax(axis=1), minlength=6) / 60_000, 1 / 6, atol=0.006)
    mu = X.max(axis=1)
    np.testing.assert_allclose([mu.mean(), (mu ** 2).mean()], [1 / 2, 1 / 3], atol=0.005)
