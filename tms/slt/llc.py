"""The local learning coefficient λ̂ = nβ (E[L_n(w)] − L_n(w*)) from SGLD traces, with its diagnostics.

:func:`llc_from_trace` turns one model's :class:`~tms.slt.sampler.SGLDTrace` into an :class:`LLCEstimate`
(NumPy); :func:`estimate_llc` samples and estimates one model; :func:`estimate_llc_many` does the same for a
stack of models (a leading model axis on ``w_star``, ``data`` and, optionally, the hyperparameters) in one
compiled, vmapped call.

Per chain c, λ̂_c = nβ · mean over the kept draws of (L_B(w) − L_B(w*)) (the paired difference the sampler
records; devinterp averages the minibatch loss itself and subtracts an estimate of L_n(w*), which has the same
expectation). λ̂ is the mean over chains, its standard error the chains' sample standard deviation over
√chains; ``llc_std`` is devinterp's ``llc_std`` (the chains' standard deviation, ddof 0).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .sampler import SGLDConfig, SGLDHparams, default_nbeta, make_sampler, n_examples, sgld_hparams


class LLCEstimate(NamedTuple):
    """One model's estimate and diagnostics (NumPy / floats).

    ``llc``, ``llc_se``, ``llc_std``: mean over the kept chains, its standard error, devinterp's std;
    ``llc_per_chain: (chains,)``; ``kept: (chains,)`` bool (all True unless ``discard_below``);
    ``frac_below``: fraction of all draws with L(w) < L(w*); ``accept``: mean MALA acceptance probability over
    the draws; ``init_loss``: L_n(w*); ``trace: (chains, steps)`` the loss per step (burn-in included);
    ``nbeta``: the nβ used; ``diverged: (chains,)`` bool, True for a chain whose loss or parameters went
    non-finite (:func:`chains_diverged`; its λ̂_c is NaN, so λ̂ is too unless the chain was discarded).
    """

    llc: float
    llc_se: float
    llc_std: float
    llc_per_chain: np.ndarray
    kept: np.ndarray
    frac_below: float
    accept: float
    init_loss: float
    trace: np.ndarray
    nbeta: float
    diverged: np.ndarray

    @property
    def frac_discarded(self) -> float:
        return float(1.0 - np.mean(self.kept))

    def summary(self) -> dict:
        """The scalars, as plain floats (strict-JSON safe: a non-finite value becomes None)."""
        def f(v):
            v = float(v)
            return v if np.isfinite(v) else None

        return {"llc": f(self.llc), "llc_se": f(self.llc_se), "llc_std": f(self.llc_std),
                "frac_below": f(self.frac_below), "frac_discarded": f(self.frac_discarded),
                "accept": f(self.accept), "init_loss": f(self.init_loss), "nbeta": f(self.nbeta),
                "chains": len(self.kept), "diverged": int(np.sum(self.diverged))}


def chains_diverged(trace) -> np.ndarray:
    """``(chains,)`` True for a chain that diverged: a recorded loss (any step, burn-in included) or its final
    parameters are non-finite. A step too large for the curvature (ε (nβ λ_max + γ) / 2 > 2, λ_max the largest
    Hessian eigenvalue of L) grows the distance to w* geometrically, so an exploding chain overflows float32
    and is caught here unless the run is very short; the parameters are checked as well because a loss summed
    over ReLU(NaN) can read finite on CPU."""
    ok = np.all(np.isfinite(np.asarray(trace.loss)), axis=1) & np.all(np.isfinite(np.asarray(trace.delta)), axis=1)
    for leaf in jax.tree.leaves(trace.last):
        a = np.asarray(leaf)
        ok &= np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)
    return ~ok


def diverged_note(count: int, total: int | None, what: str, fix: str) -> str:
    """The line the CLI prints when sampling diverged (empty when nothing did), worded as for sweeps."""
    if not count:
        return ""
    of = "" if total is None else f" of {total}"
    return f"{count}{of} {what} DIVERGED (an SGLD chain's loss or parameters went non-finite): {fix}"


def model_trace(traces, i: int):
    """Model ``i`` of traces with a leading model axis (what :func:`sample_many` returns)."""
    return jax.tree.map(lambda a: a[i], traces)


def llc_from_trace(trace, config: SGLDConfig, nbeta: float, discard_below: bool = False) -> LLCEstimate:
    """:class:`LLCEstimate` of one model's trace (arrays ``(chains, steps)``).

    ``discard_below``: the discard protocol of Chen et al. (2023) for points that are not local minima:
    chains whose mean draw lies below L(w*) (λ̂_c < 0: the chain escaped downhill) are left out of λ̂ and its
    error; their fraction is ``frac_discarded``. Every chain still counts in ``frac_below``. A diverged chain
    (NaN λ̂_c) is never discarded: λ̂ is then NaN and ``diverged`` says why.
    """
    delta = np.asarray(trace.delta, dtype=np.float64)[:, config.draw_steps]  # (chains, draws)
    per_chain = float(nbeta) * delta.mean(axis=1)
    kept = ~(per_chain < 0) if discard_below else np.ones(per_chain.shape, bool)
    k = per_chain[kept]
    llc = float(k.mean()) if k.size else float("nan")
    se = float(k.std(ddof=1) / np.sqrt(k.size)) if k.size > 1 else float("nan")
    std = float(k.std()) if k.size else float("nan")
    accept = np.asarray(trace.accept, dtype=np.float64)[:, config.draw_steps]
    return LLCEstimate(llc, se, std, per_chain, kept, float(np.mean(delta < 0)), float(np.mean(accept)),
                       float(trace.init_loss), np.asarray(trace.loss, dtype=np.float64), float(nbeta),
                       chains_diverged(trace))


@lru_cache(maxsize=32)
def compiled_sampler(loss_fn, config: SGLDConfig, in_axes=None):
    """``jit(make_sampler(loss_fn, config))`` (vmapped over models with ``in_axes``), cached so that calls with
    the same loss function, config and shapes compile once."""
    fn = make_sampler(loss_fn, config)
    return jax.jit(fn if in_axes is None else jax.vmap(fn, in_axes=in_axes))


def _hparams(step_size, localization, nbeta, n: int) -> SGLDHparams:
    return sgld_hparams(step_size, localization, default_nbeta(n) if nbeta is None else nbeta)


def estimate_llc(loss_fn, w_star, data, *, step_size: float, localization: float, nbeta: float | None = None,
                 config: SGLDConfig = SGLDConfig(), key=None, discard_below: bool = False) -> LLCEstimate:
    """Sample around ``w_star`` and estimate its LLC (one model; see :func:`tms.slt.sampler.make_sampler`).

    ``nbeta`` defaults to n/log n with n the number of examples in ``data``. ``key`` defaults to
    ``PRNGKey(0)``. Errors for bad settings (ε <= 0, γ < 0, draws < 1, ...) are raised before compiling.
    """
    hp = _hparams(step_size, localization, nbeta, n_examples(data))
    key = jax.random.PRNGKey(0) if key is None else key
    trace = compiled_sampler(loss_fn, config)(w_star, data, hp, key)
    return llc_from_trace(jax.device_get(trace), config, float(hp.nbeta), discard_below)


def sample_many(loss_fn, w_star, data, hp: SGLDHparams, config: SGLDConfig, key, data_axis=0):
    """Traces of a stack of models in one compiled call: ``w_star`` (and ``data`` unless ``data_axis`` is None,
    and any hyperparameter with a leading axis) carry a leading model axis; model ``i`` uses
    ``fold_in(key, i)``. Returns an :class:`~tms.slt.sampler.SGLDTrace` with a leading model axis."""
    n_models = jax.tree.leaves(w_star)[0].shape[0]
    hp_axes = SGLDHparams(*(0 if jnp.ndim(v) else None for v in hp))
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n_models))
    fn = compiled_sampler(loss_fn, config, (0, data_axis, hp_axes, 0))
    return jax.device_get(fn(w_star, data, hp, keys))


def estimate_llc_many(loss_fn, w_star, data, *, step_size, localization, nbeta=None,
                      config: SGLDConfig = SGLDConfig(), key=None, data_axis=0,
                      discard_below: bool = False) -> list[LLCEstimate]:
    """:func:`estimate_llc` for a stack of models in one compiled call (see :func:`sample_many`).

    ``step_size``, ``localization`` and ``nbeta`` may be scalars or ``(models,)`` arrays; ``nbeta`` defaults to
    n/log n of the (shared or per-model) data set.
    """
    n = n_examples(data, 0 if data_axis is None else 1)
    hp = _hparams(step_size, localization, nbeta, n)
    key = jax.random.PRNGKey(0) if key is None else key
    traces = sample_many(loss_fn, w_star, data, hp, config, key, data_axis)
    nb = np.broadcast_to(np.asarray(hp.nbeta, np.float64), (jax.tree.leaves(w_star)[0].shape[0],))
    return [llc_from_trace(model_trace(traces, i), config, nb[i], discard_below)
            for i in range(len(nb))]
