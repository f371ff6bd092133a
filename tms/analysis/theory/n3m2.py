"""n = 3, m = 2: the four configurations of the paper's second phase diagram.

The configurations reduce to the n = 2 pieces (the dedicated feature is orthogonal to the antipodal pair,
so it is exact and does not interact; tilting it towards the pair raises the loss on both sides, checked
by Monte Carlo with common random numbers):

    W ⊥ [0,0,1]  extra dropped                         r (p/3 − p²/4)   phase 0
    W ⊥ [1,0,0]  feature 1 dropped, 2 and 3 dedicated  p/3 − p²/4       phase 1
    W ⊥ [0,1,1]  2 and 3 antipodal, 1 dedicated        A(p; 1, r)       phase 2
    W ⊥ [1,1,0]  1 and 2 antipodal, extra dedicated    A(p; 1, 1)       phase 1

where A is the (optimised or zero-bias) antipodal pair loss of the n = 2 model; :func:`n3m2_params`
builds the explicit ``W: (2, 3)`` and ``b`` of each so the decomposition is checked by Monte Carlo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import TmsError
from ..phases import PHASES
from .integrals import check_density, check_importance
from .solvers import TIE_RTOL, AntipodalOptimum, antipodal_optimum, check_mode

N3M2_CONFIGS = ("extra_dropped", "first_dropped", "extra_antipodal", "pair_antipodal")


N3M2_PHASE_OF = {"extra_dropped": 0, "first_dropped": 1, "extra_antipodal": 2, "pair_antipodal": 1}


N3M2_NULL_SPACE = {"extra_dropped": (0, 0, 1), "first_dropped": (1, 0, 0),
                   "extra_antipodal": (0, 1, 1), "pair_antipodal": (1, 1, 0)}


def n3m2_losses(p, r, antipodal: str = "optimal") -> dict[str, np.ndarray]:
    """Expected losses of the four n=3, m=2 configurations (``N3M2_CONFIGS``), broadcast over p, r.

    ``antipodal="optimal"``: antipodal pairs with optimised lengths and biases; ``"zero_bias"``: unit
    length, zero bias ((I₁ + I₂) p²/6).
    """
    return _n3m2(p, r, antipodal)[0]


def _n3m2(p, r, antipodal):
    check_mode(antipodal)
    p, r = np.broadcast_arrays(check_density(p), check_importance(r))
    var = p / 3.0 - p * p / 4.0
    if antipodal == "zero_bias":
        no = np.zeros(p.shape, bool)
        return ({"extra_dropped": r * var, "first_dropped": var,
                 "extra_antipodal": (1.0 + r) * p * p / 6.0, "pair_antipodal": p * p / 3.0}, no, no)
    both = antipodal_optimum(np.concatenate([p.ravel(), p.ravel()]),
                             np.concatenate([r.ravel(), np.ones(p.size)]))
    k = p.size
    extra = AntipodalOptimum(*(x[:k].reshape(p.shape) for x in both))
    pair = AntipodalOptimum(*(x[k:].reshape(p.shape) for x in both))
    losses = {"extra_dropped": r * var, "first_dropped": var,
              "extra_antipodal": extra.loss, "pair_antipodal": pair.loss}
    return losses, extra.collapsed, pair.collapsed


def _n3m2_winner(losses, extra_collapsed, pair_collapsed) -> np.ndarray:
    """Index into ``N3M2_CONFIGS`` of the best configuration; collapsed pairs are not candidates and a
    pair must beat the best dropping configuration by more than ``TIE_RTOL``."""
    best_drop = np.minimum(losses["extra_dropped"], losses["first_dropped"])
    cands = []
    for name, collapsed in (("extra_antipodal", extra_collapsed), ("pair_antipodal", pair_collapsed)):
        bad = collapsed | (losses[name] >= best_drop * (1.0 - TIE_RTOL))
        cands.append(np.where(bad, np.inf, losses[name]))
    stack = np.stack(np.broadcast_arrays(losses["extra_dropped"], losses["first_dropped"], *cands))
    return np.argmin(stack, axis=0)


def n3m2_phase(p, r, antipodal: str = "optimal") -> np.ndarray:
    """Phase code of the extra feature in the best n=3, m=2 configuration."""
    winner = _n3m2_winner(*_n3m2(p, r, antipodal))
    return np.asarray([N3M2_PHASE_OF[c] for c in N3M2_CONFIGS])[winner]


def n3m2_params(config: str, p: float, r: float, antipodal: str = "optimal"):
    """Explicit ``W: (2, 3)``, ``b: (3,)`` of one configuration at scalar (p, r) (for checks and plots)."""
    if config not in N3M2_CONFIGS:
        raise TmsError(f"config must be one of {N3M2_CONFIGS}; got {config!r}")
    check_mode(antipodal)
    p, r = float(check_density(p)), float(check_importance(r))
    W, b = np.zeros((2, 3)), np.zeros(3)
    if config in ("extra_dropped", "first_dropped"):
        kept = (0, 1) if config == "extra_dropped" else (1, 2)
        W[0, kept[0]] = W[1, kept[1]] = 1.0
        b[2 if config == "extra_dropped" else 0] = p / 2.0
        return W, b
    if antipodal == "zero_bias":
        a = c = 1.0
        b1 = b2 = 0.0
    else:
        opt = antipodal_optimum(p, r if config == "extra_antipodal" else 1.0)
        a, c, b1, b2 = (float(x) for x in (opt.a, opt.c, opt.b1, opt.b2))
    i, j, ded = (1, 2, 0) if config == "extra_antipodal" else (0, 1, 2)
    W[0, i], W[0, j], W[1, ded] = a, -c, 1.0
    b[i], b[j] = b1, b2
    return W, b


def n3m2_diagram(densities, rel_importances) -> pd.DataFrame:
    """Tidy theoretical n=3, m=2 phase diagram on ``densities × rel_importances``.

    Columns: density, sparsity, relative_importance, loss_<config> (optimised pairs), config (the
    winner), phase, phase_name, and the same three for unit-length zero-bias pairs (suffix _zero_bias).
    """
    d = check_density(np.ravel(densities))
    r = check_importance(np.ravel(rel_importances), "rel_importances")
    P, R = (x.ravel() for x in np.meshgrid(d, r, indexing="ij"))
    df = pd.DataFrame({"density": P, "sparsity": 1.0 - P, "relative_importance": R})
    phase_of = np.asarray([N3M2_PHASE_OF[c] for c in N3M2_CONFIGS])
    for mode, suffix in (("optimal", ""), ("zero_bias", "_zero_bias")):
        losses, ec, pc = _n3m2(P, R, mode)
        winner = _n3m2_winner(losses, ec, pc)
        for name, v in losses.items():
            df[f"loss_{name}{suffix}"] = v
        df[f"config{suffix}"] = np.asarray(N3M2_CONFIGS)[winner]
        df[f"phase{suffix}"] = phase_of[winner]
        df[f"phase_name{suffix}"] = np.asarray(PHASES)[phase_of[winner]]
    return df
