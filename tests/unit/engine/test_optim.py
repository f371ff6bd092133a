"""Optimizers and learning-rate schedules."""

import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.runs.results import train_grid

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

