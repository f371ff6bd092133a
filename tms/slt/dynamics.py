"""The dynamical side: SGD on a fixed high-sparsity set of n examples (Chen et al. 2023: n = 1,000, batch 20,
lr 0.005, 4,500 epochs), λ̂ at snapshots of the run (one vmapped call over all snapshots), k-gon labels.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..analysis.polytopes import kgon_labels
from ..engine.data import HighSparsitySet, high_sparsity_set
from ..engine.models import Params, init_params
from ..errors import TmsError
from ..io import check_int
from .llc import llc_from_trace, model_trace, sample_many
from .sampler import default_nbeta, sgld_hparams
from .settings import SamplerSettings
from .toy import dense_loss, set_loss


class SGDRun(NamedTuple):
    """``epochs: (E,)`` 1..E; ``loss: (E,)`` the training loss L_n after each epoch (full set); ``W: (E, 2, 6)``,
    ``b: (E, 6)`` the parameters after each epoch; ``init``: the initial Params; ``data``: the training set."""

    epochs: np.ndarray
    loss: np.ndarray
    W: np.ndarray
    b: np.ndarray
    init: Params
    data: HighSparsitySet


def check_sgd(n: int, batch: int, lr: float, epochs: int) -> None:
    for name, v, lo in (("n", n, 2), ("batch", batch, 1), ("epochs", epochs, 1)):
        check_int(name, v, lo)
    if n % batch:
        raise TmsError(f"batch ({batch}) must divide n ({n}) so that every epoch sees each example once")
    if not (lr > 0):
        raise TmsError(f"lr must be > 0; got {lr!r}")


def sgd_run(n: int = 1000, batch: int = 20, lr: float = 0.005, epochs: int = 4500, seed: int = 0) -> SGDRun:
    """Plain SGD on ``n`` high-sparsity examples (n_features 6, m 2), reshuffled each epoch; Xavier-normal W
    and zero b as the engine initialises."""
    check_sgd(n, batch, lr, epochs)
    key = jax.random.PRNGKey(seed)
    data = high_sparsity_set(jax.random.fold_in(key, 0), n, 6)
    X = data.dense()
    loss = dense_loss()
    opt = optax.sgd(lr)
    grad = jax.grad(loss)

    def epoch(carry, e):
        params, state = carry
        order = jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 2), e), n).reshape(-1, batch)

        def step(c, idx):
            p, s = c
            updates, s = opt.update(grad(p, X[idx]), s, p)
            return (optax.apply_updates(p, updates), s), None

        (params, state), _ = jax.lax.scan(step, (params, state), order)
        return (params, state), (params, set_loss(params, data))

    p0 = init_params(jax.random.fold_in(key, 1), 6, 2)
    _, (ps, losses) = jax.jit(lambda p: jax.lax.scan(epoch, (p, opt.init(p)), jnp.arange(epochs)))(p0)
    ps, losses = jax.device_get((ps, losses))
    return SGDRun(np.arange(1, epochs + 1), np.asarray(losses, np.float64), np.asarray(ps.W), np.asarray(ps.b), p0,
                  data)


def snapshot_epochs(epochs: int, count: int) -> np.ndarray:
    """``count`` log-spaced distinct epochs in [1, epochs] (fewer if epochs is small)."""
    e = np.unique(np.round(np.geomspace(1, epochs, max(count, 1))).astype(np.int64))
    return e[(e >= 1) & (e <= epochs)]


SNAPSHOT_SAMPLER = SamplerSettings(chains=4, draws=1000, burn_in=500)  # the default of snapshot_llcs

def snapshot_llcs(run: SGDRun, epochs_at, seed: int = 0, *,
                  sampler: SamplerSettings = SNAPSHOT_SAMPLER):
    """λ̂ (and its error) at the run's parameters after each epoch in ``epochs_at``, in one vmapped call, on the
    run's own data set (full batch, nβ = n/log n). Returns a dict of arrays: epoch, loss, label, llc, llc_se,
    frac_below, diverged (chains whose loss went non-finite, per snapshot)."""
    idx = np.asarray(epochs_at, np.int64) - 1
    pts = Params(jnp.asarray(run.W[idx]), jnp.asarray(run.b[idx]))
    key = jax.random.PRNGKey(seed)
    data = run.data
    nb = default_nbeta(data.n_samples)
    config = sampler.config
    hp = sgld_hparams(sampler.step_scale / nb, sampler.localization, nb)
    traces = sample_many(set_loss, pts, data, hp, config,
                         jax.random.fold_in(key, 3), data_axis=None)
    ests = [llc_from_trace(model_trace(traces, i), config, nb) for i in range(len(idx))]
    return {"epoch": idx + 1, "loss": run.loss[idx],
            "label": np.asarray(kgon_labels(run.W[idx].astype(np.float64), run.b[idx].astype(np.float64))).astype(str),
            "llc": np.array([e.llc for e in ests]), "llc_se": np.array([e.llc_se for e in ests]),
            "frac_below": np.array([e.frac_below for e in ests]),
            "diverged": np.array([int(e.diverged.sum()) for e in ests])}
