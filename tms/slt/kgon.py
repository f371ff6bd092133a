"""λ̂ at the k-gon critical points of the high-sparsity n = 6, m = 2 model, against sample size, and the
ε × γ calibration sweep (both one compiled, vmapped call per sample size).

Step sizes are given as ``step_scale`` = ε · nβ: the drift of one step, ε nβ ∇L / 2, is then the same at
every sample size (the largest Hessian eigenvalue of L at the 6-gon is 1.37, so ε nβ = 0.05 keeps
ε nβ λ_max / 4 under 2%, the discretisation bias of SGLD on a quadratic).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..engine.data import high_sparsity_set
from ..errors import TmsError
from .llc import estimate_llc, llc_from_trace, model_trace, sample_many
from .sampler import SGLDConfig, default_nbeta, sgld_hparams
from .settings import CalibrationSettings, SamplerSettings
from .toy import THEORY_LLC, is_local_minimum, kgon_loss, kgon_point, set_loss

DEFAULT_SAMPLER, DEFAULT_CALIBRATION = SamplerSettings(), CalibrationSettings()
TRUST_BELOW = 0.02  # a cell is trusted when under this fraction of its draws fall below L(w*),
TRUST_ACCEPT = 0.9  # its MALA acceptance is at least this, and no chain was discarded


def trusted(frac_below, frac_discarded, accept) -> np.ndarray:
    """Whether λ̂ of a cell can be read as the LLC of w*: the chains stayed above L(w*) (fewer than
    ``TRUST_BELOW`` of the draws below it), none was discarded, and the steps were accurate (acceptance at
    least ``TRUST_ACCEPT``). Elementwise; NaN counts as untrusted."""
    fb, fd, acc = (np.asarray(v, np.float64) for v in (frac_below, frac_discarded, accept))
    with np.errstate(invalid="ignore"):
        return (fb < TRUST_BELOW) & (fd == 0) & (acc >= TRUST_ACCEPT)


def stack_points(labels, n_features: int = 6):
    """The critical points ``labels`` stacked on a leading model axis (``Params`` with ``(k, ...)`` arrays)."""
    pts = [kgon_point(lab, n_features) for lab in labels]
    return jax.tree.map(lambda *a: jnp.stack(a), *pts)


def check_sizes(sizes, field: str = "sample_sizes") -> list[int]:
    out = [int(s) for s in np.atleast_1d(sizes)]
    if not out or any(s < 2 or s != float(v) for s, v in zip(out, np.atleast_1d(sizes))):
        raise TmsError(f"{field} must be integers >= 2; got {list(np.atleast_1d(sizes))}")
    return out


def kgon_llc_table(labels=("5", "5+", "6"), sample_sizes=(1_000, 10_000, 100_000), *,
                   sampler: SamplerSettings = DEFAULT_SAMPLER, seed: int = 0, discard_below=None,
                   progress=None) -> pd.DataFrame:
    """λ̂ at each k-gon ``label`` for each sample size n (a fresh high-sparsity set of n examples, full batch),
    with the chains of ``sampler`` (ε = step_scale / nβ, nβ = n / log n).

    One row per (n, label): n, label, loss (theory), llc, llc_se, llc_std, frac_below, frac_discarded,
    accept, diverged (chains whose loss went non-finite), theory_llc, nbeta, step_size, localization,
    local_minimum (:func:`tms.slt.toy.is_local_minimum`), trusted (:func:`trusted`, and no chain diverged). ``discard_below``: labels estimated with the discard
    protocol (:func:`tms.slt.llc.llc_from_trace`); default: those that are not local minima (the plain 5-gon,
    the 4+-gon; :func:`tms.slt.toy.is_local_minimum`).
    """
    labels, config, step_scale = tuple(labels), sampler.config, sampler.step_scale
    if discard_below is None:
        discard_below = tuple(lab for lab in labels if not is_local_minimum(lab))
    sizes = check_sizes(sample_sizes)
    points = stack_points(labels)
    rows = []
    for i, n in enumerate(sizes):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
        data = high_sparsity_set(jax.random.fold_in(key, 0), n, 6)
        nb = default_nbeta(n)
        hp = sgld_hparams(step_scale / nb, sampler.localization, nb)
        traces = sample_many(set_loss, points, data, hp, config, jax.random.fold_in(key, 1), data_axis=None)
        for j, lab in enumerate(labels):
            est = llc_from_trace(model_trace(traces, j), config, nb, lab in discard_below)
            rows.append({"n": n, "label": lab, "loss": kgon_loss(lab), "local_minimum": is_local_minimum(lab),
                         **est.summary(),
                         "theory_llc": THEORY_LLC.get(lab, float("nan")), "step_size": step_scale / nb,
                         "localization": sampler.localization})
        if progress is not None:
            progress(i + 1, len(sizes))
    df = pd.DataFrame(rows)
    df["trusted"] = trusted(df.frac_below.astype(float), df.frac_discarded.astype(float),
                            df.accept.astype(float)) & (df.diverged == 0)
    return df


def point_estimate(label: str = "6", n: int = 10_000, *, sampler: SamplerSettings = DEFAULT_SAMPLER, seed: int = 0):
    """:class:`~tms.slt.llc.LLCEstimate` (with its loss traces) at one critical point and sample size."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), int(n))
    data = high_sparsity_set(jax.random.fold_in(key, 0), int(n), 6)
    nb = default_nbeta(int(n))
    return estimate_llc(set_loss, kgon_point(label), data, step_size=sampler.step_scale / nb,
                        localization=sampler.localization, nbeta=nb, config=sampler.config, key=jax.random.fold_in(key, 1),
                        discard_below=not is_local_minimum(label))


def calibration_sweep(settings: CalibrationSettings = DEFAULT_CALIBRATION, seed: int = 0,
                      accept_min: float = 0.9, drift_max: float = 2.0) -> pd.DataFrame:
    """λ̂ and diagnostics over the ε × γ grid of ``settings`` at one critical point, in one compiled call.

    Columns: step_scale (ε · nβ), step_size, localization, llc, llc_se, frac_below, accept, diverged (chains
    whose loss went non-finite), drift (the difference between λ̂ of the draws' second and first halves, in
    standard errors) and ``usable``: no chain diverged, λ̂ finite, MALA acceptance >= ``accept_min``, |drift| <= ``drift_max`` and λ̂ > 0 (a chain that neither diverges nor
    trends, at a step the Metropolis test would mostly keep). The reading is the plateau of λ̂ over the usable
    cells: too small an ε has not mixed (drift), too large a one is biased (low acceptance, divergence).
    """
    label, n, config = settings.label, settings.n, settings.config
    grid = list(itertools.product(settings.step_scales, settings.localizations))
    nb = default_nbeta(int(n))
    eps = np.array([s for s, _ in grid]) / nb
    gam = np.array([g for _, g in grid], dtype=np.float64)
    hp = sgld_hparams(eps, gam, np.full(len(grid), nb))
    key = jax.random.fold_in(jax.random.PRNGKey(seed), int(n))
    data = high_sparsity_set(jax.random.fold_in(key, 0), int(n), 6)
    point = kgon_point(label)
    stacked = jax.tree.map(lambda a: jnp.broadcast_to(a, (len(grid),) + a.shape), point)
    traces = sample_many(set_loss, stacked, data, hp, config, jax.random.fold_in(key, 1), data_axis=None)
    rows = []
    for i, (s, g) in enumerate(grid):
        tr = model_trace(traces, i)
        est = llc_from_trace(tr, config, nb)
        rows.append({"label": label, "n": int(n), "step_scale": s, "step_size": s / nb, "localization": g,
                     **est.summary(), "drift": _drift(tr.delta, config, nb)})
    df = pd.DataFrame(rows)
    ok = ((df.diverged == 0) & np.isfinite(df.llc.astype(float)) & (df.accept >= accept_min)
          & (df.drift.abs() <= drift_max) & (df.llc > 0))
    df["usable"] = ok
    return df


def _drift(delta, config: SGLDConfig, nbeta: float) -> float:
    """(λ̂ of the second half of the draws − λ̂ of the first half) / the combined standard error."""
    d = np.asarray(delta, np.float64)[:, config.draw_steps]
    if not np.all(np.isfinite(d)):
        return float("nan")
    half = d.shape[1] // 2
    if half < 1:
        return 0.0
    a, b = nbeta * d[:, :half].mean(axis=1), nbeta * d[:, half:].mean(axis=1)
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float((b.mean() - a.mean()) / se) if se > 0 else 0.0
