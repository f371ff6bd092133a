"""The evaluation loss on shared draws (``ModelKind.make_eval``): every kind's fast path (small models on the
thresholded draws, larger ones per instance, thresholding inside) equals the generic path, ``instance_loss`` on
the kind's features, at both sizes and with feature sets; the tied ReLU model's equals float64 NumPy too."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import data as tdata
from tms.engine.config import StaticConfig
from tms.engine.kinds import get_kind, kind_names
from tms.engine.train import init_instances

SETS = {"none": {}, "sets": {"correlated": ((0, 1),), "anticorrelated": ((2, 3, 4),)}}


def _case(kind, n, m, sets, inst=5, batch=64):
    static = StaticConfig(n_features=n, n_hidden=m, kind=kind, batch_size=batch, steps=10, eval_batch=batch,
                          **SETS[sets])
    rng = np.random.default_rng(n * 100 + m)
    params = init_instances(static, jax.random.PRNGKey(n), inst)
    params = jax.tree.map(lambda a: a + jnp.asarray(rng.normal(0, 0.1, a.shape), jnp.float32), params)
    sparsity = jnp.asarray(rng.choice([0.0, 0.5, 0.9], size=(n, inst)), jnp.float32)
    importance = jnp.asarray(rng.uniform(0.2, 1.0, size=(n, inst)), jnp.float32)
    draws = tdata.draw(jax.random.PRNGKey(7), batch, n, static.sets)
    return static, params, draws, sparsity, importance


@pytest.mark.parametrize("sets", sorted(SETS))
@pytest.mark.parametrize("n,m", [(5, 2), (12, 8)])  # unrolled for every kind; dense per instance for every kind
@pytest.mark.parametrize("kind", [k for k in kind_names() if get_kind(k).fast_eval is not None])
def test_fast_eval_equals_the_generic_eval(kind, n, m, sets):
    static, params, draws, sparsity, importance = _case(kind, n, m, sets)
    model = get_kind(kind)
    fast = jax.jit(model.make_eval(static))(params, draws, sparsity, importance)
    generic = model.make_eval(static, fast=False)(params, draws, sparsity, importance)
    X = model.features(draws, sparsity, static.sets)
    by_example = model.generic_instance_loss(params, X, importance)  # vmapped one-example loss, no fast path
    assert fast.shape == (5,)
    np.testing.assert_allclose(fast, generic, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fast, by_example, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n,m", [(5, 2), (12, 8)])
def test_tied_relu_eval_matches_float64_numpy(n, m):
    static, params, draws, sparsity, importance = _case("relu", n, m, "sets")
    got = np.asarray(jax.jit(get_kind("relu").make_eval(static))(params, draws, sparsity, importance))
    X = np.asarray(get_kind("relu").features(draws, sparsity, static.sets), np.float64)  # (n, batch, inst)
    W, b = np.asarray(params.W, np.float64), np.asarray(params.b, np.float64)
    imp = np.asarray(importance, np.float64)
    for k in range(got.shape[0]):
        x = X[:, :, k].T  # (batch, n)
        y = np.maximum(x @ W[:, :, k].T @ W[:, :, k] + b[:, k], 0.0)
        want = np.mean(np.sum(imp[:, k] * (y - x) ** 2, axis=1))
        assert want > 1e-3  # a loss that can be told from 0
        np.testing.assert_allclose(got[k], want, rtol=2e-5, atol=1e-8)


def test_kinds_without_a_fast_eval_fall_back_to_instance_loss():
    static, params, draws, sparsity, importance = _case("relu", 12, 8, "none")
    model = get_kind("relu")
    plain = model.make_eval(static, fast=False)(params, draws, sparsity, importance)
    want = model.instance_loss(params, model.features(draws, sparsity, static.sets), importance)
    np.testing.assert_array_equal(plain, want)
