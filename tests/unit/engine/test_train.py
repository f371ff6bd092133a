"""make_train: snapshots, the linear optimum, the intro geometry, the dense and unrolled paths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import models
from tms.engine.config import StaticConfig
from tms.runs.pipeline import train_grid

SMALL = dict(n_features=5, n_hidden=2, batch_size=256, steps=300, restarts=2, eval_batch=2048)


def test_recording_snapshots_and_no_bias():
    static = StaticConfig(**{**SMALL, "n_snapshots": 6, "bias": False, "kind": "linear", "log_every": 100})
    np.testing.assert_array_equal(static.snapshot_steps[[0, -1]], [0, static.steps])
    assert len(np.unique(static.snapshot_steps)) == 6
    res = train_grid(static, sparsity=[0.2], progress=False)
    sw = res.snapshots_W[0, 0, 0, 0]
    assert sw.shape == (6, 2, 5)
    np.testing.assert_allclose(sw[-1], res.W[0, 0, 0, 0], rtol=1e-7, atol=1e-7)
    best = int(res.best_restart[0, 0, 0, 0])
    init = models.init_params(jax.random.split(jax.random.split(jax.random.PRNGKey(0), 3)[0], 2)[best], 5, 2)
    np.testing.assert_allclose(sw[0], init.W, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(res.b, 0)
    np.testing.assert_array_equal(res.loss_curve.shape[-1], 3)


def test_linear_model_learns_pca_solution():
    # With dense features of equal importance and no ReLU, the optimum is a rank-m projection: W^T W has
    # m eigenvalues near 1 (the top principal subspace of the centred data, as b absorbs the mean).
    static = StaticConfig(n_features=4, n_hidden=2, kind="linear", batch_size=1024, steps=3000, restarts=1)
    res = train_grid(static, sparsity=[0.0], lr=1e-2, progress=False)
    W = res.W[0, 0, 0, 0]
    ev = np.sort(np.linalg.eigvalsh(W.T @ W))
    np.testing.assert_allclose(ev, [0, 0, 1, 1], atol=0.05)
    np.testing.assert_allclose(res.b[0, 0, 0, 0], 0.5 * (np.eye(4) - W.T @ W).sum(axis=1), atol=0.05)


def _angles(W):
    a = np.sort(np.degrees(np.arctan2(W[1], W[0])) % 360)
    return np.diff(np.concatenate([a, a[:1] + 360]))


def test_intro_setting_dedicated_at_dense_and_pentagon_at_sparse():
    """n=5, m=2, I_i = 0.9^i (Elhage et al. 2022, fig. 'intro').

    Tolerances: with 6000 Adam steps and 4 restarts the represented norms settle within a few % of 1 at S=0
    (the optimum has ‖W_i‖ = 1 exactly for the two kept features) and the pentagon's gaps within a few
    degrees of 72°; dropped features keep norms < 0.2. Best-of-4 makes a stuck restart (seen ~1 in 10 at
    S=0.9, a 4-gon) harmless.
    """
    static = StaticConfig(n_features=5, n_hidden=2, batch_size=1024, steps=6000, restarts=4)
    res = train_grid(static, sparsity=[0.0, 0.9], importance=0.9 ** np.arange(5), seeds=[0], progress=False)
    W0, W9 = res.W[0, 0, 0, 0], res.W[1, 0, 0, 0]
    norms0 = np.linalg.norm(W0, axis=0)
    np.testing.assert_allclose(norms0[:2], 1.0, atol=0.05)
    assert np.all(norms0[2:] < 0.2)
    cos = W0[:, 0] @ W0[:, 1] / (norms0[0] * norms0[1])
    np.testing.assert_allclose(cos, 0.0, atol=0.05)
    norms9 = np.linalg.norm(W9, axis=0)
    assert np.all(norms9 > 0.8)
    np.testing.assert_allclose(_angles(W9), 72.0, atol=4.0)


def test_dense_per_instance_path_equals_unrolled_path(monkeypatch, request):
    from tms.runs.grid import make_grid_fn

    static = StaticConfig(**{**SMALL, "steps": 100})
    kw = dict(sparsity=[0.0, 0.8], importance=0.9 ** np.arange(5), progress=False)
    make_grid_fn.cache_clear()  # the compiled grid function is cached per static config: compile each path afresh
    request.addfinalizer(make_grid_fn.cache_clear)
    unrolled = train_grid(static, **kw)
    traced = []
    real_single_loss = models.single_loss
    monkeypatch.setattr(models, "single_loss", lambda *a, **k: traced.append(1) or real_single_loss(*a, **k))
    monkeypatch.setattr(models, "UNROLL_LIMIT", 0)
    make_grid_fn.cache_clear()
    dense = train_grid(static, **kw)
    assert traced, "the dense per-instance path was not traced"
    np.testing.assert_allclose(dense.W, unrolled.W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dense.final_loss, unrolled.final_loss, rtol=1e-4, atol=1e-7)



def test_select_best_skips_non_finite_restarts():
    from tms.engine.train import select_best

    final = jnp.array([[np.nan, 0.3], [0.2, np.inf], [np.nan, np.nan], [0.5, 0.4]], jnp.float32)  # (C, R)
    C, R = final.shape
    W = jnp.arange(C * R, dtype=jnp.float32).reshape(1, 1, C * R)  # instance c·R + r holds the value c·R + r
    params = models.Params(W=W, b=W[0])
    out = select_best(final, params, jnp.zeros((0, C * R)), models.Params(W=W[None], b=W[0][None]))
    np.testing.assert_array_equal(out.best_restart, [1, 0, 0, 1])
    np.testing.assert_array_equal(out.params.W[:, 0, 0], [1, 2, 4, 7])
    np.testing.assert_allclose(out.final_loss, [0.3, 0.2, np.nan, 0.4], rtol=1e-7, atol=0)


@pytest.mark.parametrize("finite_restart", ["trained", "poor"])
def test_a_diverging_restart_never_wins(finite_restart, monkeypatch, request):
    """Restart 0 of every cell gets a NaN learning rate, so its weights turn NaN at the first step (a huge
    learning rate is not a reliable way there: it often ends in a dead ReLU with a finite loss). Restart 1
    trains normally ("trained"), or starts from weights scaled by 3 with a learning rate of 1e-6 so that its
    loss stays high ("poor", above that of a model whose output is always 0). Either way the finite restart
    is kept and no cell is flagged: a model with non-finite weights must never win, however its loss reads.
    """
    import tms.engine.train as T
    from tms.runs.grid import make_grid_fn

    real_opt, real_init = T.make_optimizer, T.init_instances

    def restart_0_diverges(static, lr, weight_decay):  # lr: (instances,), instance c·R + r
        first = (jnp.arange(lr.shape[0]) % static.restarts) == 0
        return real_opt(static, jnp.where(first, jnp.nan, lr), weight_decay)

    def scaled_init(static, key, n_cells):
        p = real_init(static, key, n_cells)
        return p._replace(W=3.0 * p.W)

    monkeypatch.setattr(T, "make_optimizer", restart_0_diverges)
    if finite_restart == "poor":
        monkeypatch.setattr(T, "init_instances", scaled_init)
    make_grid_fn.cache_clear()  # compile afresh with the patches, and forget that compilation afterwards
    request.addfinalizer(make_grid_fn.cache_clear)
    static = StaticConfig(**{**SMALL, "restarts": 2, "steps": 50})
    lr = [1e-3, 1e-2] if finite_restart == "trained" else [1e-6]
    res = train_grid(static, sparsity=[0.0, 0.9], lr=lr, seeds=[0, 1], progress=False)
    rl = res.restart_losses  # (S, I, L, K, R)
    assert np.all(np.isnan(rl[..., 0]))  # restart 0 really went non-finite (its loss is recorded as NaN)
    assert np.all(np.isfinite(rl[..., 1]))
    np.testing.assert_array_equal(res.best_restart, 1)
    np.testing.assert_array_equal(res.final_loss, rl[..., 1])
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.b))
    assert not res.nonfinite.any() and not res.to_frame()["nonfinite"].any()
    assert not any("NON-FINITE" in line for line in res.summary_lines())


@pytest.mark.parametrize("kind", ["relu", "abs", "relu_hidden_bias"])
def test_init_scale_multiplies_the_weights_and_leaves_biases_zero(kind):
    """``init_scale`` multiplies every weight of the same draw (so 1 is the kind's own init) and no bias."""
    import jax

    from tms.engine.kinds import get_kind
    from tms.engine.train import init_instances

    base = StaticConfig(n_features=6, n_hidden=3, kind=kind, restarts=2)
    scaled = StaticConfig(n_features=6, n_hidden=3, kind=kind, restarts=2, init_scale=0.25)
    key = jax.random.PRNGKey(3)
    p, q = init_instances(base, key, 2), init_instances(scaled, key, 2)
    for f in p._fields:
        a, b = np.asarray(getattr(p, f)), np.asarray(getattr(q, f))
        if f in get_kind(kind).bias_fields:
            np.testing.assert_array_equal(b, 0.0)
        else:
            assert np.abs(a).max() > 0.05
            np.testing.assert_allclose(b, 0.25 * a, rtol=1e-6, atol=0)
