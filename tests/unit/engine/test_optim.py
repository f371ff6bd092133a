"""Optimizers and learning-rate schedules."""

import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.runs.pipeline import train_grid

SMALL = dict(n_features=5, n_hidden=2, batch_size=256, steps=300, restarts=2, eval_batch=2048)


@pytest.mark.parametrize("optimizer,schedule", [("adamw", "cosine"), ("adam", "step"), ("sgd", "linear")])
def test_optimizers_and_schedules_lower_the_loss(optimizer, schedule):
    static = StaticConfig(**{**SMALL, "optimizer": optimizer, "schedule": schedule, "warmup_steps": 20,
                             "decay_every": 100, "log_every": 30})
    res = train_grid(static, sparsity=[0.5], lr=[0.05 if optimizer == "sgd" else 1e-2], progress=False)
    curve = res.loss_curve[0, 0, 0, 0]
    assert curve.shape == (10,)
    assert curve[-1] < 0.8 * curve[0]


def test_schedule_factors_match_closed_forms():
    from tms.engine.optim import lr_factor

    t = np.arange(0, 1000, 37)
    T = 1000
    for schedule, want in [("constant", np.ones_like(t, float)), ("linear", 1 - t / T),
                           ("cosine", 0.5 * (1 + np.cos(np.pi * t / T))), ("step", 0.5 ** (t // 300))]:
        st = StaticConfig(steps=T, schedule=schedule, decay_every=300, decay_factor=0.5, warmup_steps=50)
        got = lr_factor(st, jnp.asarray(t))
        np.testing.assert_allclose(got, want * np.minimum(1, (t + 1) / 50), rtol=1e-5, atol=1e-6)


def test_adamw_without_decay_is_adam_and_decay_shrinks_weights():
    kw = dict(**SMALL)
    a = train_grid(StaticConfig(**kw, optimizer="adam"), sparsity=[0.3], progress=False)
    w0 = train_grid(StaticConfig(**kw, optimizer="adamw"), sparsity=[0.3], weight_decay=0.0, progress=False)
    w1 = train_grid(StaticConfig(**kw, optimizer="adamw"), sparsity=[0.3], weight_decay=30.0, progress=False)
    np.testing.assert_allclose(w0.W, a.W, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(w1.W) < 0.8 * np.linalg.norm(a.W)



def test_adamw_steps_match_a_hand_computation_in_numpy():
    """Two AdamW steps (b1 = 0.9, b2 = 0.999, eps = 1e-8, bias-corrected, decoupled decay times the lr, as in
    PyTorch and optax) with per-instance lr and weight decay, a warm-up and a cosine schedule, against float64
    NumPy written out from the formulas."""
    import optax

    from tms.engine.models import Params
    from tms.engine.optim import make_optimizer

    T, warmup = 100, 3
    static = StaticConfig(n_features=4, n_hidden=2, steps=T, optimizer="adamw", schedule="cosine",
                          warmup_steps=warmup)
    rng = np.random.default_rng(0)
    inst = 3
    lr, wd = np.array([1e-3, 1e-2, 5e-2]), np.array([0.0, 0.1, 1.0])
    p = {"W": rng.normal(size=(2, 4, inst)), "b": rng.normal(size=(4, inst))}
    grads = [{k: rng.normal(size=v.shape) for k, v in p.items()} for _ in range(2)]

    opt = make_optimizer(static, jnp.asarray(lr, jnp.float32), jnp.asarray(wd, jnp.float32))
    params = Params(W=jnp.asarray(p["W"], jnp.float32), b=jnp.asarray(p["b"], jnp.float32))
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update(Params(W=jnp.asarray(g["W"], jnp.float32), b=jnp.asarray(g["b"], jnp.float32)),
                                    state, params)
        params = optax.apply_updates(params, updates)

    def numpy_adamw(decay):
        b1, b2, eps = 0.9, 0.999, 1e-8
        out = {}
        for k in p:
            x, m, v = p[k].copy(), np.zeros_like(p[k]), np.zeros_like(p[k])
            for t, g in enumerate(grads):  # t = 0, 1
                m = b1 * m + (1 - b1) * g[k]
                v = b2 * v + (1 - b2) * g[k] ** 2
                m_hat, v_hat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
                factor = min(1.0, (t + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * t / T))
                x = x - factor * lr * (m_hat / (np.sqrt(v_hat) + eps) + decay * x)
            out[k] = x
        return out

    want = numpy_adamw(wd)
    np.testing.assert_allclose(params.W, want["W"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(params.b, want["b"], rtol=1e-5, atol=1e-7)
    # the decay is visible at this tolerance: plain Adam differs where the decay is 1.0
    adam = numpy_adamw(0.0 * wd)
    assert not np.allclose(params.W[..., 2], adam["W"][..., 2], rtol=1e-5, atol=1e-7)
