"""SGLD around a point ``w*``: the local posterior that the local learning coefficient is read from.

The chains sample (approximately) the localised, tempered posterior

    p(w) ∝ exp(−nβ L_n(w) − (γ/2) ‖w − w*‖²)

with the update of Lau et al. (2023) as devinterp implements it (its ``SGLD`` optimizer, noise level 1):

    w ← w − (ε/2) (nβ ∇L_B(w) + γ (w − w*)) + √ε · N(0, I)

where ``L_B`` is the mean loss on a minibatch ``B`` (or on all ``n`` examples: full batch). Settings that
fix array shapes (chains, burn-in, draws, thinning, batch size) are the static :class:`SGLDConfig`; the ones a
calibration sweep varies (ε, γ, nβ) are the traced :class:`SGLDHparams`, so one compilation serves a whole
ε × γ grid, every model of a results grid, or every snapshot of a training run (``jax.vmap`` over the
arguments of the function :func:`make_sampler` returns).

Axis names: ``chains``, ``steps`` (burn-in + draws · thin), ``draws``; ``d`` the number of parameters.

What each step records, at the point ``w_t`` *before* the update (as devinterp's callbacks see it):
``loss`` (L_B(w_t), the minibatch loss, which is what devinterp records), ``delta`` (L_B(w_t) − L_B(w*) on the
same minibatch: the paired difference that :mod:`tms.slt.llc` averages, an unbiased estimate of
L_n(w_t) − L_n(w*) with far less variance than ``loss`` minus a full-batch L_n(w*)), and ``accept`` (the
Metropolis–Hastings acceptance probability the step's proposal would have had under MALA: exact for full
batch, an approximation with minibatches since the two ends of the step see different batches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..errors import TmsError
from ..io import check_int

LossFn = Callable  # loss_fn(params, batch) -> scalar mean loss over the batch's leading (example) axis


def default_nbeta(n: int) -> float:
    """The default inverse temperature nβ = n / log n (β = 1/log n, Watanabe's WBIC temperature)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise TmsError(f"n (the number of samples) must be an integer >= 2 for nβ = n/log n; got {n!r}")
    return float(n / np.log(n))


@dataclass(frozen=True)
class SGLDConfig:
    """Shape-fixing settings of an SGLD run (hashable; closed over by the compiled sampler).

    Args:
        chains: independent chains per model (vmapped), >= 2 so that a chain-to-chain error exists.
        draws: draws kept per chain (>= 1), taken every ``thin`` steps after ``burn_in`` steps.
        burn_in: steps discarded before the first draw (>= 0).
        thin: steps between draws (devinterp's ``num_steps_bw_draws``; >= 1).
        batch_size: examples per step, drawn uniformly with replacement; ``None``: full batch (every step
            sees all ``n`` examples).
    """

    chains: int = 8
    draws: int = 1000
    burn_in: int = 200
    thin: int = 1
    batch_size: int | None = None

    def __post_init__(self):
        for name, lo in (("chains", 2), ("draws", 1), ("burn_in", 0), ("thin", 1)):
            check_int(name, getattr(self, name), lo)
        if self.batch_size is not None:
            check_int("batch_size (None: full batch)", self.batch_size, 1)

    @property
    def steps(self) -> int:
        return self.burn_in + self.draws * self.thin

    @property
    def draw_steps(self) -> np.ndarray:
        """Indices into the recorded steps of the kept draws: ``(draws,)``."""
        return self.burn_in + self.thin * np.arange(self.draws)

    def to_dict(self) -> dict:
        return asdict(self)


class SGLDHparams(NamedTuple):
    """Traced settings: ``step_size`` ε > 0, ``localization`` γ >= 0, ``nbeta`` nβ > 0 (all scalars, or with
    leading axes that the caller vmaps over)."""

    step_size: jax.Array
    localization: jax.Array
    nbeta: jax.Array


def check_positive(value, field: str, allow_zero: bool = False) -> np.ndarray:
    """``value`` as a float64 array; a named error unless every entry is finite and > 0 (>= 0)."""
    a = np.asarray(value, dtype=np.float64)
    ok = np.isfinite(a) & ((a >= 0) if allow_zero else (a > 0))
    if a.size == 0 or not np.all(ok):
        bound = ">= 0" if allow_zero else "> 0"
        raise TmsError(f"{field} must be finite and {bound}; got {np.ravel(a).tolist()}")
    return a


def sgld_hparams(step_size, localization, nbeta) -> SGLDHparams:
    """Validated :class:`SGLDHparams` (ε > 0, γ >= 0, nβ > 0; scalars or arrays of one shape)."""
    eps = check_positive(step_size, "step_size (epsilon)")
    gamma = check_positive(localization, "localization (gamma)", allow_zero=True)
    nbeta = check_positive(nbeta, "nbeta")
    f = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return SGLDHparams(f(eps), f(gamma), f(nbeta))


class SGLDTrace(NamedTuple):
    """What the sampler returns for one model. ``loss, delta, accept: (chains, steps)``;
    ``init_loss: ()`` L_n(w*) on the whole data set; ``last``: the chains' final parameters (a pytree
    with a leading ``(chains,)`` axis)."""

    loss: jax.Array
    delta: jax.Array
    accept: jax.Array
    init_loss: jax.Array
    last: object


def n_examples(data, axis: int = 0) -> int:
    """The number of examples n in ``data``: the length of axis ``axis`` of its first leaf (1 when a leading
    model axis comes first)."""
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise TmsError("data must be a non-empty pytree of arrays with a leading example axis")
    return int(leaves[0].shape[axis])


def _starts(flat_star, init, chains: int):
    """Flat start of every chain: ``(chains, d)``; w* unless ``init`` (params with a leading chain axis)."""
    if init is None:
        return jnp.broadcast_to(flat_star, (chains,) + flat_star.shape)
    return jax.vmap(lambda p: ravel_pytree(p)[0])(init)


def make_sampler(loss_fn: LossFn, config: SGLDConfig):
    """Return ``sample(w_star, data, hp, key) -> SGLDTrace`` (pure; jit or vmap it).

    ``loss_fn(params, batch) -> ()`` is the mean loss over the batch's leading axis; ``w_star`` a params
    pytree (the centre of the localization, and the chains' start unless ``init``, a params pytree with a
    leading ``(chains,)`` axis, gives each chain its own); ``data`` a pytree of arrays with a leading example
    axis of length n; ``hp`` :class:`SGLDHparams`.
    Chains are vmapped; chain ``c`` uses ``fold_in(key, c)`` and per-step keys ``fold_in(chain key, t)``.
    """
    cfg = config

    def sample(w_star, data, hp: SGLDHparams, key, init=None) -> SGLDTrace:
        flat_star, unravel = ravel_pytree(w_star)
        n = n_examples(data)

        def batch_at(k):
            if cfg.batch_size is None:
                return data
            idx = jax.random.randint(k, (cfg.batch_size,), 0, n)
            return jax.tree.map(lambda a: a[idx], data)

        def potential(w, batch):  # U(w) = nβ L_B(w) + γ/2 |w − w*|²; also L_B(w) and L_B(w*)
            loss = loss_fn(unravel(w), batch)
            dw = w - flat_star
            return hp.nbeta * loss + 0.5 * hp.localization * jnp.dot(dw, dw), loss

        grad_u = jax.value_and_grad(potential, has_aux=True)
        full_star = loss_fn(w_star, data)

        def star_loss(batch):  # L_B(w*) on the step's batch (L_n(w*) itself when full batch)
            return full_star if cfg.batch_size is None else loss_fn(w_star, batch)

        def chain(key, w0):
            k0, ckey = jax.random.split(key)
            b0 = batch_at(k0)
            (u0, l0), g0 = grad_u(w0, b0)

            def step(carry, t):
                w, u, loss, g, batch = carry
                k_noise, k_batch = jax.random.split(jax.random.fold_in(ckey, t))
                mean = w - 0.5 * hp.step_size * g
                w_new = mean + jnp.sqrt(hp.step_size) * jax.random.normal(k_noise, w.shape, w.dtype)
                batch_new = batch_at(k_batch)
                (u_new, l_new), g_new = grad_u(w_new, batch_new)
                back = w - (w_new - 0.5 * hp.step_size * g_new)
                log_a = u - u_new - (jnp.dot(back, back) - jnp.dot(w_new - mean, w_new - mean)) / (2 * hp.step_size)
                accept = jnp.exp(jnp.minimum(0.0, jnp.nan_to_num(log_a, nan=-jnp.inf)))
                out = (loss, loss - star_loss(batch), accept)
                return (w_new, u_new, l_new, g_new, batch_new), out

            carry, (loss, delta, accept) = jax.lax.scan(step, (w0, u0, l0, g0, b0), jnp.arange(cfg.steps))
            return loss, delta, accept, unravel(carry[0])

        keys = jax.vmap(lambda c: jax.random.fold_in(key, c))(jnp.arange(cfg.chains))
        loss, delta, accept, last = jax.vmap(chain)(keys, _starts(flat_star, init, cfg.chains))
        return SGLDTrace(loss, delta, accept, full_star, last)

    return sample
