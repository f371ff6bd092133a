"""The Bayesian phase transition: free energies F_n ≈ n L + λ log n + c of the k-gon phases, the critical
sample size where two of them cross, and posterior sampling across n classified by k-gon label.

For two phases α → β (β of lower loss and higher λ), F_β − F_α = n ΔL + Δλ log n + Δc, with
ΔL = L_β − L_α < 0 and Δλ = λ_β − λ_α > 0; the posterior moves from α to β at the n where this crosses 0
(Chen et al. 2023: 5 → 6 at n_cr ≈ 601). The constant is measured two ways here: from the prior,
c = −log φ(w*) up to a phase-independent term (:func:`prior_constant`; with the standard normal prior,
c_6 − c_5 = ½(‖w*_6‖² − ‖w*_5‖²) = 2.754, which gives n_cr = 601), and from the log odds of the two phases in
posterior samples, log(p_β / p_α) = −(n ΔL + Δλ log n + Δc) (:func:`fit_delta_c`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..analysis.polytopes import kgon_labels
from ..engine.data import high_sparsity_set
from ..engine.models import Params
from ..errors import TmsError
from .kgon import check_sizes
from .llc import chains_diverged, compiled_sampler
from .sampler import SGLDConfig, sgld_hparams
from .settings import PosteriorSettings
from .toy import kgon_point, set_loss

DEFAULT_POSTERIOR = PosteriorSettings()
DIVERGED = "diverged"  # the label of a chain whose loss or state went non-finite


def free_energy(n, loss: float, llc: float, constant: float = 0.0):
    """F_n ≈ n L + λ log n + c (the asymptotic expansion of the local free energy of one phase)."""
    n = np.asarray(n, dtype=np.float64)
    return n * loss + llc * np.log(n) + constant


def prior_constant(label: str, prior_precision: float = 1.0) -> float:
    """−log φ(w*) of the critical point ``label`` under the Gaussian prior N(0, 1/prior_precision) on every
    parameter, without the normalising constant (which is the same for every phase): ½ precision ‖w*‖²."""
    if not prior_precision > 0:
        raise TmsError(f"prior_precision must be > 0; got {prior_precision!r}")
    p = kgon_point(label)
    W, b = np.asarray(p.W, np.float64), np.asarray(p.b, np.float64)
    return 0.5 * prior_precision * float(np.sum(W * W) + np.sum(b * b))


def critical_n(delta_loss: float, delta_llc: float, delta_c: float = 0.0) -> float:
    """The n > 1 where n ΔL + Δλ log n + Δc crosses zero from above (phase α → β).

    Needs ΔL < 0 (β has the lower loss); Δλ may be of either sign. Returns 1.0 when β is already preferred at
    n = 1 (no crossing above 1 from positive to negative).
    """
    if not (delta_loss < 0):
        raise TmsError(f"delta_loss (L_beta - L_alpha) must be < 0 for a transition to beta; got {delta_loss}")

    def f(n):
        return n * delta_loss + delta_llc * np.log(n) + delta_c

    peak = max(1.0, -delta_llc / delta_loss) if delta_llc > 0 else 1.0  # f rises up to here, then falls
    if f(peak) <= 0:
        return 1.0
    hi = peak * 2
    while f(hi) > 0:
        hi *= 2
    return float(brentq(f, peak, hi, xtol=1e-9))


def posterior_phases(settings: PosteriorSettings = DEFAULT_POSTERIOR, seed: int = 0, progress=None) -> pd.DataFrame:
    """Sample the posterior exp(−n L_n(w)) · N(w; 0, 1/prior_precision) at β = 1 by SGLD at each n of
    ``settings`` and classify each chain's final state with :func:`tms.analysis.polytopes.kgon_labels`.

    Chains start at W = 0, b = 0 (the prior's centre; the noise breaks the symmetry), step ε = step_scale / n.
    Returns one row per (n, label): n, label, count, fraction, chains, mean_loss (L_n of the final states); a
    chain whose loss or state went non-finite (a step too large) has the label ``"diverged"``.
    Whether the chains have mixed between phases is not guaranteed (nothing here can tell); compare runs of
    different lengths.
    """
    sizes, chains, steps = check_sizes(settings.sizes), settings.chains, settings.steps
    step_scale, prior_precision = settings.step_scale, settings.prior_precision
    config = SGLDConfig(chains=chains, draws=1, burn_in=steps - 1)
    sampler = compiled_sampler(set_loss, config)
    rows = []
    for i, n in enumerate(sizes):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
        data = high_sparsity_set(jax.random.fold_in(key, 0), n, 6)
        start = Params(jnp.zeros((2, 6), jnp.float32), jnp.zeros(6, jnp.float32))
        trace = jax.device_get(sampler(start, data, sgld_hparams(step_scale / n, prior_precision, float(n)),
                                       jax.random.fold_in(key, 1)))
        W, b = np.asarray(trace.last.W, np.float64), np.asarray(trace.last.b, np.float64)
        bad = chains_diverged(trace)
        labels = np.full(chains, DIVERGED, dtype=object)
        labels[~bad] = np.asarray(kgon_labels(W[~bad], b[~bad])).astype(str)
        final_loss = np.asarray(jax.vmap(set_loss, in_axes=(0, None))(trace.last, data), np.float64)
        for lab in sorted(set(labels)):
            sel = labels == lab
            rows.append({"n": n, "label": lab, "count": int(sel.sum()), "fraction": float(sel.mean()),
                         "chains": chains, "mean_loss": float(final_loss[sel].mean())})
        if progress is not None:
            progress(i + 1, len(sizes))
    return pd.DataFrame(rows)


def phase_fraction(df: pd.DataFrame, label: str, plus: bool = False) -> pd.Series:
    """Fraction of chains per n whose label is ``label`` (with ``plus``: ``label`` followed by any '+')."""
    match = df.label.str.fullmatch(f"{label}\\+*") if plus else df.label == label
    return df[match].groupby("n").fraction.sum().reindex(sorted(df.n.unique()), fill_value=0.0)


def fit_delta_c(df: pd.DataFrame, alpha: str, beta: str, delta_loss: float, delta_llc: float) -> float:
    """Δc from posterior fractions: the mean over the n where both phases occur of
    −log(p_β / p_α) − n ΔL − Δλ log n. NaN when no n has both phases."""
    pa, pb = phase_fraction(df, alpha), phase_fraction(df, beta)
    both = (pa > 0) & (pb > 0)
    if not both.any():
        return float("nan")
    n = np.asarray(pa.index[both], dtype=np.float64)
    return float(np.mean(-np.log(pb[both].to_numpy() / pa[both].to_numpy()) - n * delta_loss
                         - delta_llc * np.log(n)))
