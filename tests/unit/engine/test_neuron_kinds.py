"""The privileged-basis kinds (relu_hidden, relu_hidden_bias) and the absolute-value kind against float64 NumPy:
forward pass, loss and gradient (the registry's generic path, one example vmapped), and their data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import data as tdata
from tms.engine.kinds import get_kind
from tms.engine.kinds.neurons import HiddenBiasParams, UntiedParams
from tms.engine.models import Params


def relu(a):
    return np.maximum(a, 0.0)


def np_forward(kind, p, X):
    """float64 outputs ``(batch, n)`` for ``X: (batch, n)``; ``p`` a dict of float64 arrays."""
    if kind == "relu_hidden":
        return relu(relu(X @ p["W"].T) @ p["W"] + p["b"])
    if kind == "relu_hidden_bias":
        return relu(relu(X @ p["W"].T + p["b_hidden"]) @ p["W"] + p["b"])
    return relu(relu(X @ p["W1"].T) @ p["W2"].T + p["b"])


def np_loss(kind, p, X, imp):
    target = np.abs(X) if kind == "abs" else X
    return np.mean(np.sum(imp * (target - np_forward(kind, p, X)) ** 2, axis=1))


def np_grad(kind, p, X, imp, eps=1e-6):
    out = {}
    for name, a in p.items():
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up, down = {**p, name: a.copy()}, {**p, name: a.copy()}
            up[name][idx] += eps
            down[name][idx] -= eps
            g[idx] = (np_loss(kind, up, X, imp) - np_loss(kind, down, X, imp)) / (2 * eps)
        out[name] = g
    return out


def random_params(kind, rng, n, m):
    if kind == "abs":
        return {"W1": rng.normal(size=(m, n)), "W2": rng.normal(size=(n, m)), "b": rng.normal(size=n) * 0.3}
    p = {"W": rng.normal(size=(m, n)), "b": rng.normal(size=n) * 0.3}
    if kind == "relu_hidden_bias":
        p["b_hidden"] = rng.normal(size=m) * 0.3
    return p


PYTREE = {"relu_hidden": Params, "relu_hidden_bias": HiddenBiasParams, "abs": UntiedParams}


@pytest.mark.parametrize("kind", ["relu_hidden", "relu_hidden_bias", "abs"])
def test_forward_loss_and_gradient_match_float64_numpy(kind):
    rng = np.random.default_rng(5)
    n, m, B = 6, 3, 40
    p = random_params(kind, rng, n, m)
    X = rng.uniform(-1 if kind == "abs" else 0, 1, size=(B, n)) * (rng.uniform(size=(B, n)) < 0.6)
    imp = 0.8 ** np.arange(n)
    model = get_kind(kind)
    pj = PYTREE[kind](**{k: jnp.asarray(v, jnp.float32) for k, v in p.items()})
    Xj, impj = jnp.asarray(X, jnp.float32), jnp.asarray(imp, jnp.float32)
    np.testing.assert_allclose(model.batch_forward(pj, Xj), np_forward(kind, p, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.batch_loss(pj, Xj, impj), np_loss(kind, p, X, imp), rtol=1e-5, atol=1e-7)
    grads = jax.grad(model.batch_loss)(pj, Xj, impj)
    want = np_grad(kind, p, X, imp)
    for name in p:
        np.testing.assert_allclose(getattr(grads, name), want[name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("kind", ["relu_hidden", "abs"])
def test_instance_layout_grads_match_float64_numpy(kind):
    """The engine's training step for these kinds (generic: instances on a trailing axis) per instance."""
    rng = np.random.default_rng(7)
    n, m, inst, B = 5, 4, 3, 32
    ps = [random_params(kind, rng, n, m) for _ in range(inst)]
    X = rng.uniform(-1 if kind == "abs" else 0, 1, size=(inst, B, n))
    imp = rng.uniform(0.2, 1, size=(inst, n))
    stacked = PYTREE[kind](**{k: jnp.asarray(np.stack([p[k] for p in ps], axis=-1), jnp.float32) for k in ps[0]})
    grads, losses = get_kind(kind).generic_grads(stacked, jnp.asarray(X.transpose(2, 1, 0), jnp.float32),
                                                 jnp.asarray(imp.T, jnp.float32))
    for k in range(inst):
        np.testing.assert_allclose(losses[k], np_loss(kind, ps[k], X[k], imp[k]), rtol=1e-5)
        want = np_grad(kind, ps[k], X[k], imp[k])
        for name in want:
            np.testing.assert_allclose(getattr(grads, name)[..., k], want[name], rtol=1e-4, atol=1e-5)


def test_abs_data_are_signed_uniform_at_the_density():
    draws = tdata.draw(jax.random.PRNGKey(0), 20_000, 4)
    sparsity = jnp.asarray([[0.0], [0.5], [0.9], [1.0]], jnp.float32)  # (n, 1 instance)
    X = np.asarray(get_kind("abs").features(draws, sparsity))[:, :, 0]
    base = np.asarray(tdata.features(draws, sparsity))[:, :, 0]
    np.testing.assert_array_equal(X != 0, base != 0)  # the same active entries as the unsigned data
    np.testing.assert_allclose(X[base != 0], 2 * base[base != 0] - 1, atol=1e-7)
    N = X.shape[1]  # tolerances are 5 standard errors of N draws
    np.testing.assert_allclose((X != 0).mean(axis=1), [1.0, 0.5, 0.1, 0.0], atol=5 * 0.5 / np.sqrt(N))
    assert X.min() >= -1 and X.max() <= 1
    np.testing.assert_allclose(X[0].mean(), 0.0, atol=5 * np.sqrt(1 / 3) / np.sqrt(N))  # U[-1, 1]: sd 1/sqrt(3)


def test_hidden_bias_is_frozen_without_bias():
    from tms.engine.config import StaticConfig, hparams
    from tms.engine.train import make_train

    static = StaticConfig(n_features=4, n_hidden=2, kind="relu_hidden_bias", bias=False, batch_size=64, steps=20,
                          eval_batch=128)
    out = make_train(static)(hparams(static, sparsity=0.5), jax.random.PRNGKey(0))
    np.testing.assert_array_equal(out.params.b_hidden, 0.0)
    np.testing.assert_array_equal(out.params.b, 0.0)
    assert np.any(out.params.W != 0)


@pytest.mark.parametrize("kind", ["relu_hidden", "relu_hidden_bias", "abs"])
@pytest.mark.parametrize("n,m", [(5, 2), (6, 4), (12, 8)])  # n·m = 10: unrolled; 24, 96: dense per instance
def test_fast_step_matches_the_generic_step_and_float64_numpy(kind, n, m):
    """The kind's fast training step (unrolled or dense, by size) gives the generic step's gradients and losses,
    and both equal float64 NumPy's per instance; the fast evaluation losses equal the generic ones too."""
    from tms.engine.config import StaticConfig
    from tms.engine.kinds.neurons import UNROLL_LIMIT

    assert (n * m <= UNROLL_LIMIT) == (n == 5)
    rng = np.random.default_rng(11)
    inst, B = 3, 48
    model = get_kind(kind)
    ps = [random_params(kind, rng, n, m) for _ in range(inst)]
    stacked = PYTREE[kind](**{k: jnp.asarray(np.stack([p[k] * 0.5 for p in ps], axis=-1), jnp.float32)
                              for k in ps[0]})
    draws = tdata.draw(jax.random.PRNGKey(3), B, n)
    sparsity = jnp.asarray(rng.choice([0.0, 0.5, 0.9], size=(n, inst)), jnp.float32)
    imp = jnp.asarray(rng.uniform(0.2, 1, size=(n, inst)), jnp.float32)
    static = StaticConfig(n_features=n, n_hidden=m, kind=kind, batch_size=B, steps=10, eval_batch=B)
    assert model.fast_step is not None
    fast, fast_loss = model.make_step(static)(stacked, draws, sparsity, imp)
    generic, generic_loss = model.make_step(static, fast=False)(stacked, draws, sparsity, imp)
    np.testing.assert_allclose(fast_loss, generic_loss, rtol=1e-5)
    X = model.features(draws, sparsity)
    np.testing.assert_allclose(model.instance_loss(stacked, X, imp), model.generic_instance_loss(stacked, X, imp),
                               rtol=1e-5)
    Xn, impn = np.asarray(X, np.float64), np.asarray(imp, np.float64)
    for k in range(inst):
        pk = {name: np.asarray(getattr(stacked, name)[..., k], np.float64) for name in ps[0]}
        np.testing.assert_allclose(fast_loss[k], np_loss(kind, pk, Xn[:, :, k].T, impn[:, k]), rtol=1e-5)
        want = np_grad(kind, pk, Xn[:, :, k].T, impn[:, k])
        for name in want:
            np.testing.assert_allclose(getattr(fast, name)[..., k], want[name], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}, instance {k}")
            np.testing.assert_allclose(getattr(fast, name)[..., k], getattr(generic, name)[..., k], rtol=1e-4,
                                       atol=1e-6, err_msg=f"{name}, instance {k}")
