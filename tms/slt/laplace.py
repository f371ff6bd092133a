"""The Laplace-type expansion of a k-gon phase's free energy, with every term the lab can measure.

For a phase α whose critical set is ``M_α`` copies of a rotation orbit of w*_α (a circle of length ``ℓ_α``),
with r_α nonzero Hessian directions of the population loss L, the posterior normaliser of the phase is, to
O(1) as n grows (Laplace's method in the r_α curved directions, the orbit integrated exactly):

    F_α(n) = n L_α + λ_α log n + ½ log det′ H_α − (r_α / 2) log 2π − log φ(w*_α) − log ℓ_α − log M_α

``det′`` is the product of the nonzero eigenvalues of H_α = ∇²L(w*_α) (float64, :func:`hessian_terms`);
``φ`` the prior N(0, σ² I) on all 18 parameters, whose normalising constant is the same for every phase and
is dropped (−log φ(w*) = ‖w*‖² / (2σ²)); ``ℓ_α = 2π ‖W*_α‖_F`` (the speed of the rotation W → R_θ W is
‖W‖_F); ``M_α`` the number of orbits, the distinct labellings of the k-gon (:func:`multiplicity`). With
λ_α = r_α / 2 this is the regular expansion in the curved directions; with λ_α < r_α / 2 (a singular point)
the constant of the singular expansion is not this one, so the table says which terms it keeps.

Where this is exact and where it is not. At the 5+-gon and the 6-gon (local minima whose only flat
direction is the rotation) every term is defined. The plain 5-gon is not a local minimum: its dropped
feature has a zero column and a zero bias, the loss is not twice differentiable there (a ReLU at its kink),
and its three other flat directions are not symmetries; the numbers at "5" are the autodiff Hessian at the
kink (ReLU′(0) = 0), reported as computed, not as a valid expansion.
"""

from __future__ import annotations

import functools
import itertools
from math import comb, factorial, log, pi

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..analysis.theory.high_sparsity import kgon_params
from ..analysis.theory.integrals import err1
from ..errors import TmsError
from .bayes import critical_n
from .toy import THEORY_LLC, kgon_loss, kgon_table

N_FEATURES = 6
RANK_RTOL = 1e-7  # eigenvalues below this times the largest count as zero
PRIOR_VARIANCES = (1.0, 0.5, 2.0, 100.0)  # σ² of the prior N(0, σ² I) the table tries; 1.0 is the paper's


def population_loss(flat, n_features: int = N_FEATURES, xp=jnp):
    """The exact high-sparsity population loss of the flat parameters ``(2 n + n,)`` = (W row-major, b)
    (the same formula as :func:`tms.analysis.theory.high_sparsity.high_sparsity_loss`, in ``xp``)."""
    W = flat[: 2 * n_features].reshape(2, n_features)
    b = flat[2 * n_features:]
    gram = W.T @ W
    return xp.sum(err1(xp.eye(n_features), gram, b[None, :], xp)) / n_features


def flat_point(label: str) -> np.ndarray:
    """The critical point ``label`` as a float64 flat vector (W row-major, then b): ``(3 n,)``."""
    t = kgon_table(N_FEATURES).set_index("label")
    if label not in t.index:
        raise TmsError(f"label must be one of {list(t.index)}; got {label!r}")
    r = t.loc[label]
    W, b = kgon_params(N_FEATURES, int(r.k), int(r.n_plus), float(r.length), float(r.bias), float(r.bias_plus))
    return np.concatenate([W.ravel(), b])


def hessian(loss_fn, w: np.ndarray) -> np.ndarray:
    """∇²loss at ``w`` by autodiff in float64: ``(d, d)``."""
    with jax.enable_x64(True):
        H = jax.hessian(loss_fn)(jnp.asarray(w, jnp.float64))
        return np.asarray(H, np.float64)


def hessian_terms(H: np.ndarray, rtol: float = RANK_RTOL) -> dict:
    """Rank r (eigenvalues above ``rtol`` × the largest |eigenvalue|), ½ log det′ H over the nonzero ones, the
    most negative eigenvalue and the eigenvalues themselves (ascending)."""
    H = np.asarray(H, np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.all(np.isfinite(H)):
        raise TmsError(f"H must be a finite square matrix; got shape {H.shape}")
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    scale = float(np.max(np.abs(ev))) if ev.size else 0.0
    nonzero = np.abs(ev) > rtol * scale
    pos = ev[nonzero]
    return {"rank": int(nonzero.sum()), "half_logdet": float(0.5 * np.sum(np.log(np.abs(pos)))),
            "min_eig": float(ev[0]), "negative": int(np.sum(pos < 0)), "eigenvalues": ev}


def multiplicity(label: str, n_features: int = N_FEATURES) -> int:
    """Distinct labelled copies of the k-gon ``label`` up to rotation: which k features form the polygon,
    their oriented cyclic order ((k − 1)!; a reflection reverses it, a different orbit for k ≥ 3), and which
    of the rest carry the positive bias of a '+'."""
    k, plus = int(label.rstrip("+")), label.count("+")
    return comb(n_features, k) * (factorial(k - 1) if k >= 3 else 1) * comb(n_features - k, plus)


@functools.lru_cache(maxsize=None)
def _point_and_hessian_terms(label: str) -> tuple[np.ndarray, dict]:
    """The point ``label`` and its Hessian's terms, computed once per label (the Hessian is an autodiff
    trace in float64; the n_cr table asks for each label under every prior variance and term set)."""
    w = flat_point(label)
    return w, hessian_terms(hessian(population_loss, w))


def phase_terms(label: str, prior_variance: float = 1.0, llc: float | None = None) -> dict:
    """Every O(1)-or-larger term of F at ``label`` except n L and λ log n, and what they need."""
    if not prior_variance > 0:
        raise TmsError(f"prior_variance must be > 0; got {prior_variance!r}")
    w, ht = _point_and_hessian_terms(label)
    w = w.copy()
    W = w[: 2 * N_FEATURES]
    return {"label": label, "loss": kgon_loss(label), "llc": THEORY_LLC.get(label, np.nan) if llc is None else llc,
            "rank": ht["rank"], "negative_eigs": ht["negative"], "min_eig": ht["min_eig"],
            "half_logdet": ht["half_logdet"], "log2pi_term": -0.5 * ht["rank"] * log(2 * pi),
            "prior_term": float(w @ w) / (2 * prior_variance), "prior_variance": prior_variance,
            "orbit_term": -log(2 * pi * float(np.sqrt(W @ W))), "multiplicity": multiplicity(label),
            "multiplicity_term": -log(multiplicity(label))}


# The choices of O(1) terms the table compares, in the order they are added.
TERM_SETS = {
    "none": (),
    "prior": ("prior_term",),
    "prior + rank": ("prior_term", "log2pi_term"),
    "prior + rank + logdet": ("prior_term", "log2pi_term", "half_logdet"),
    "all (+ orbit, multiplicity)": ("prior_term", "log2pi_term", "half_logdet", "orbit_term", "multiplicity_term"),
}


def constant(terms: dict, keep) -> float:
    return float(sum(terms[k] for k in keep))


def ncr_table(alpha: str = "5", beta: str = "6", prior_variances=PRIOR_VARIANCES, llc: dict | None = None):
    """n_cr of α → β for every choice of terms (:data:`TERM_SETS`) and prior variance σ²: one row each with
    the terms' differences Δ = β − α, Δc and n_cr. ``llc``: λ per label (default: theory)."""
    llc = llc or {}
    rows = []
    for var, (name, keep) in itertools.product(prior_variances, TERM_SETS.items()):
        a, b = phase_terms(alpha, var, llc.get(alpha)), phase_terms(beta, var, llc.get(beta))
        dc = constant(b, keep) - constant(a, keep)
        dl, dlam = b["loss"] - a["loss"], b["llc"] - a["llc"]
        if "prior_term" not in keep and var != prior_variances[0]:
            continue  # without the prior term σ² changes nothing
        rows.append({"transition": f"{alpha}->{beta}", "terms": name, "prior_variance": var if keep else None,
                     "delta_loss": dl, "delta_llc": dlam, "delta_c": dc, "n_cr": critical_n(dl, dlam, dc)})
    return pd.DataFrame(rows)


def terms_table(labels=("5", "5+", "6"), prior_variance: float = 1.0) -> pd.DataFrame:
    """:func:`phase_terms` of each label as a table (one row per label)."""
    return pd.DataFrame([phase_terms(lab, prior_variance) for lab in labels])
