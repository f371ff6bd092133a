"""The high-sparsity limit (Chen et al. 2023): exact losses and the k-gon critical points.

Input μ e_i, i uniform over n, μ ~ U[0, 1]. With G = WᵀW,

    L(W, b) = (1/n) Σ_i Σ_j E(δ_ij, G_ij, b_j)

(summed over output features, averaged over the active one). This normalisation reproduces the
published k-gon losses (0.06874, 0.06180, 0.04819, 1/9 for n = 6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ...errors import TmsError
from .integrals import err1


def high_sparsity_loss(W, b) -> np.ndarray:
    """Exact population loss of x' = ReLU(WᵀW x + b) for one-hot inputs x = μ e_i (Chen et al. 2023).

    ``W: (..., m, n)``, ``b: (..., n)`` -> ``(...)``. i is uniform over the n features, μ ~ U[0, 1];
    L = (1/n) Σ_i Σ_j E(δ_ij, (WᵀW)_ij, b_j), i.e. summed over outputs, averaged over the active feature.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim < 2 or b.shape != W.shape[:-2] + W.shape[-1:]:
        raise TmsError(f"W must have shape (..., m, n) and b shape (..., n); got W {W.shape}, b {b.shape}")
    n = W.shape[-1]
    gram = np.einsum("...ki,...kj->...ij", W, W)  # (..., n, n); output j for input e_i sees gram[i, j]
    errs = err1(np.eye(n), gram, b[..., None, :])
    return errs.sum(axis=(-2, -1)) / n


def kgon_params(n: int, k: int, n_plus: int, length: float, bias: float, bias_plus: float = 0.0):
    """``W: (2, n)``, ``b: (n,)``: k columns on a regular k-gon of radius ``length`` with bias ``bias``,
    then ``n_plus`` zero columns with bias ``bias_plus`` and the rest zero columns with bias 0."""
    if not 1 <= k <= n or not 0 <= n_plus <= n - k:
        raise TmsError(f"need 1 <= k <= n and 0 <= n_plus <= n - k; got n={n}, k={k}, n_plus={n_plus}")
    angles = 2.0 * np.pi * np.arange(k) / k
    W = np.zeros((2, n))
    W[:, :k] = length * np.stack([np.cos(angles), np.sin(angles)])
    b = np.zeros(n)
    b[:k], b[k:k + n_plus] = bias, bias_plus
    return W, b


def kgon_critical_points(n: int = 6, m: int = 2, ks=None) -> pd.DataFrame:
    """Optimised k-gon configurations of the high-sparsity n-feature, m=2 model.

    For each k in ``ks`` (default 2..n) and each number ``n_plus`` of unrepresented features with a
    positive bias, minimise :func:`high_sparsity_loss` over (length, bias[, bias_plus]) with scipy.
    Label: ``str(k) + "+" * n_plus``. Columns: label, k, n_plus, length, bias, bias_plus, loss.
    Unrepresented features without "+" keep bias 0 (any bias <= 0 gives the same loss).
    """
    if m != 2:
        raise TmsError(f"k-gons live in m=2 dimensions; got m={m}")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise TmsError(f"n must be an integer >= 2; got {n!r}")
    ks = range(2, n + 1) if ks is None else ks
    rows = []
    for k in ks:
        for n_plus in range(0, n - int(k) + 1):
            rows.append(_optimise_kgon(n, int(k), n_plus))
    return pd.DataFrame(rows)


def _optimise_kgon(n: int, k: int, n_plus: int) -> dict:
    def loss(q):
        W, b = kgon_params(n, k, n_plus, q[0], q[1], q[2] if n_plus else 0.0)
        return float(high_sparsity_loss(W, b))

    best = None
    for start in ([1.0, 0.0, 0.1], [1.2, -0.2, 0.1], [1.5, -0.5, 0.1]):
        x0 = start if n_plus else start[:2]
        res = minimize(loss, x0, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000})
        if best is None or res.fun < best.fun:
            best = res
    q = best.x
    return {"label": f"{k}" + "+" * n_plus, "k": k, "n_plus": n_plus, "length": abs(q[0]), "bias": q[1],
            "bias_plus": q[2] if n_plus else 0.0, "loss": loss(q)}
