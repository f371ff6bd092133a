"""The tied model kinds (relu, linear) against float64 NumPy: forward, losses (fast and generic), initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import models
from tms.engine.kinds import get_kind


def np_forward(W, b, X, kind):
    y = X @ W.T @ W + b
    return np.maximum(y, 0) if kind == "relu" else y


def np_loss(W, b, X, imp, kind):
    e = X - np_forward(W, b, X, kind)
    return np.mean(np.sum(imp * e * e, axis=1))


@pytest.mark.parametrize("kind", ["relu", "linear"])
def test_forward_and_loss_match_float64_numpy(kind):
    rng = np.random.default_rng(0)
    m, n, B = 3, 7, 64
    W, b = rng.normal(size=(m, n)), rng.normal(size=n) * 0.3
    X, imp = rng.uniform(size=(B, n)), rng.uniform(0.1, 1, size=n)
    model = get_kind(kind)
    p = models.Params(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
    Xf, impf = jnp.asarray(X, jnp.float32), jnp.asarray(imp, jnp.float32)
    one = jax.vmap(lambda x: model.forward(p, x))(Xf)
    np.testing.assert_allclose(one, np_forward(W, b, X, kind), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(models.batch_forward(p, Xf, kind == "relu"), np_forward(W, b, X, kind),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.batch_forward(p, Xf), np_forward(W, b, X, kind), rtol=1e-5, atol=1e-5)
    want = np_loss(W, b, X, imp, kind)
    np.testing.assert_allclose(model.batch_loss(p, Xf, impf), want, rtol=1e-5, atol=1e-7)  # the fast path
    np.testing.assert_allclose(model.generic_batch_loss(p, Xf, impf), want, rtol=1e-5, atol=1e-7)
    ex = [float(model.example_loss(p, x, impf)) for x in Xf]
    np.testing.assert_allclose(np.mean(ex), want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("m,n", [(2, 5), (8, 40)])  # unrolled path and einsum path (n·m > UNROLL_LIMIT)
@pytest.mark.parametrize("kind", ["relu", "linear"])
def test_instance_loss_matches_float64_numpy(m, n, kind):
    assert (m * n <= models.UNROLL_LIMIT) == (n == 5)
    rng = np.random.default_rng(1)
    inst, B = 4, 32
    W, b = rng.normal(size=(inst, m, n)) * 0.5, rng.normal(size=(inst, n)) * 0.2
    X, imp = rng.uniform(size=(inst, B, n)), rng.uniform(0.1, 1, size=(inst, n))
    p = models.Params(jnp.asarray(W.transpose(1, 2, 0), jnp.float32), jnp.asarray(b.T, jnp.float32))
    Xf, impf = jnp.asarray(X.transpose(2, 1, 0), jnp.float32), jnp.asarray(imp.T, jnp.float32)
    want = [np_loss(W[k], b[k], X[k], imp[k], kind) for k in range(inst)]
    np.testing.assert_allclose(models.instance_loss(p.W, p.b, Xf, impf, kind == "relu"), want, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(get_kind(kind).instance_loss(p, Xf, impf), want, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(get_kind(kind).generic_instance_loss(p, Xf, impf), want, rtol=2e-5, atol=1e-7)


def test_init_is_xavier_normal():
    W = models.init_params(jax.random.PRNGKey(0), 400, 100).W
    assert W.shape == (100, 400)
    np.testing.assert_allclose(np.std(W), np.sqrt(2 / 500), rtol=0.02)
    np.testing.assert_allclose(np.mean(W), 0, atol=0.003)

