"""n = 2, m = 1: exact losses of the candidate solutions and the paper's first phase diagram.

Conventions (shared with the engine): x' = ReLU(WᵀW x + b), ``W: (m, n)``, ``b: (n,)``; each feature is
independently 0 with probability S (sparsity) and U[0, 1] otherwise, density ``p = 1 − S``; the loss is
Σ_i I_i (x_i − x'_i)² (summed over features) in expectation over the data. First feature importance 1,
extra feature importance r, both density p; the exact per-output loss F is in :mod:`.integrals`.

Candidates:

(a) drop the extra feature, W = [1, 0]: feature 1 exact, the extra's output is the constant ReLU(b₂) whose
    optimum is E[x₂] = p/2, loss r·Var(x₂) = r (p/3 − p²/4)  → phase 0;
(b) drop the first feature, W = [0, 1]: loss p/3 − p²/4  → phase 1 (extra dedicated);
(c) antipodal pair W = [1, −1], b = 0: a feature errs only when both are active, by min(x₁, x₂)², and
    E[min(U, V)²] = ∫ 2(1−u) u² du = 1/6, so the loss is (1 + r) p²/6  → phase 2.

(a)-(c) agree with the published formulas. But (c) is *not* the optimal antipodal solution
(:mod:`.solvers` optimises its lengths and biases). This moves the phase boundary: at r = 1 the zero-bias
pair wins only for p < 4/7, the optimised pair up to p ≈ 0.996 (at p ≳ 0.75 it becomes an asymmetric,
bias-heavy solution with one column of length ≈ 0.4, beating dropping by < 2%). The diagrams carry both
versions (suffix ``_zero_bias``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import TmsError
from ..phases import PHASES
from .integrals import check_density, check_importance, feature_loss
from .solvers import TIE_RTOL, AntipodalOptimum, antipodal_optimum, check_mode

N2M1_CANDIDATES = ("drop_extra", "drop_first", "antipodal")


def n2m1_loss(W, b, p, r):
    """Exact expected loss of the n=2, m=1 ReLU model ``W: (1, 2)`` (or ``(2,)``), ``b: (2,)``.

    ``p`` (density, in (0, 1]) and ``r`` (importance of feature 2, >= 0) broadcast together.
    """
    W = np.asarray(W, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64)
    if W.shape != (2,) or b.shape != (2,):
        raise TmsError(f"W must have shape (1, 2) and b shape (2,); got W {np.shape(W)}, b {b.shape}")
    p, r = np.broadcast_arrays(check_density(p), check_importance(r))
    beta = W[0] * W[1]
    return (feature_loss(p, W[0] ** 2, beta, b[0]) + r * feature_loss(p, W[1] ** 2, beta, b[1]))


def n2m1_losses(p, r, antipodal_opt: AntipodalOptimum | None = None) -> dict[str, np.ndarray]:
    """Losses of the n=2, m=1 candidates: ``drop_extra``, ``drop_first``, ``antipodal`` (optimised),
    ``antipodal_zero_bias`` ((1 + r) p²/6); arrays of the broadcast shape of ``p`` and ``r``."""
    p, r = np.broadcast_arrays(check_density(p), check_importance(r))
    var = p / 3.0 - p * p / 4.0
    opt = antipodal_opt if antipodal_opt is not None else antipodal_optimum(p, r)
    return {"drop_extra": r * var, "drop_first": var, "antipodal": opt.loss,
            "antipodal_zero_bias": (1.0 + r) * p * p / 6.0}


def n2m1_phase(p, r, antipodal: str = "optimal") -> np.ndarray:
    """Phase code (0/1/2, see ``PHASES``) of the extra feature in the best n=2, m=1 candidate.

    ``antipodal="optimal"`` uses the optimised pair (a collapsed pair is not a candidate);
    ``"zero_bias"`` uses the textbook (1 + r) p²/6.
    """
    check_mode(antipodal)
    p, r = np.broadcast_arrays(check_density(p), check_importance(r))
    if antipodal == "zero_bias":
        var = p / 3.0 - p * p / 4.0
        return _phase_argmin(r * var, var, (1.0 + r) * p * p / 6.0)
    opt = antipodal_optimum(p, r)
    losses = n2m1_losses(p, r, opt)
    return _phase_argmin(losses["drop_extra"], losses["drop_first"], losses["antipodal"], opt.collapsed)


def _phase_argmin(not_represented, dedicated, superposition, collapsed=None) -> np.ndarray:
    """Argmin over the three phase candidates; superposition must win by more than ``TIE_RTOL`` and
    not be collapsed; other ties go to the earlier phase."""
    best_drop = np.minimum(not_represented, dedicated)
    excluded = superposition >= best_drop * (1.0 - TIE_RTOL)
    if collapsed is not None:
        excluded = excluded | collapsed
    sup = np.where(excluded, np.inf, superposition)
    return np.argmin(np.stack(np.broadcast_arrays(not_represented, dedicated, sup), axis=0), axis=0)


def n2m1_diagram(densities, rel_importances) -> pd.DataFrame:
    """Tidy theoretical n=2, m=1 phase diagram on the grid ``densities × rel_importances``.

    Columns: density, sparsity, relative_importance, loss_<candidate> for each candidate, the optimal
    antipodal pair (a, c, b1, b2, collapsed), phase / phase_name (with the optimised antipodal pair) and
    phase_zero_bias / phase_name_zero_bias (with the textbook zero-bias pair).
    """
    d = check_density(np.ravel(densities))
    r = check_importance(np.ravel(rel_importances), "rel_importances")
    P, R = (x.ravel() for x in np.meshgrid(d, r, indexing="ij"))
    opt = antipodal_optimum(P, R)
    losses = n2m1_losses(P, R, opt)
    phase = _phase_argmin(losses["drop_extra"], losses["drop_first"], losses["antipodal"], opt.collapsed)
    phase0 = _phase_argmin(losses["drop_extra"], losses["drop_first"], losses["antipodal_zero_bias"])
    df = pd.DataFrame({"density": P, "sparsity": 1.0 - P, "relative_importance": R})
    for name, v in losses.items():
        df[f"loss_{name}"] = v
    for name in ("a", "c", "b1", "b2"):
        df[f"antipodal_{name}"] = getattr(opt, name)
    df["antipodal_collapsed"] = opt.collapsed
    df["phase"], df["phase_name"] = phase, np.asarray(PHASES)[phase]
    df["phase_zero_bias"], df["phase_name_zero_bias"] = phase0, np.asarray(PHASES)[phase0]
    return df
