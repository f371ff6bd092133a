"""Exact one-dimensional integrals the closed-form losses are built from.

Conventions: x' = ReLU(WᵀW x + b); each feature is 0 with probability 1 − p and U[0, 1] otherwise.

Building block (exact): for one output driven by ``g μ + c`` with μ ~ U[0, 1] and target ``δ μ``,

    E(δ, g, c) = ∫_0^1 (δ μ − ReLU(g μ + c))² dμ = δ²/3 − 2δ M₁ + M₂,

where M₁ = ∫_A μ (gμ + c), M₂ = ∫_A (gμ + c)² over the interval A = {μ ∈ [0, 1]: gμ + c > 0}; both are
polynomials in the end points of A (:func:`err1`).

One output of the n = 2, m = 1 model sees ``α x_j + β x_k + b`` (α = w_j², β = w_1 w_2). Conditioning on
which features are active,

    F(α, β, b) = (1−p)² ReLU(b)² + p(1−p)[E(1, α, b) + E(0, β, b)] + p² ∫_0^1 E(1, α, βv + b) dv.

The last integrand is a piecewise cubic in v with breaks at v = −b/β and v = −(α+b)/β, so 3-point
Gauss-Legendre on each piece is exact. Every function takes an array module ``xp`` (NumPy or jax.numpy),
so the solvers differentiate the same formulas the diagrams evaluate.
"""

from __future__ import annotations

import numpy as np

from ...errors import TmsError

_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)


def check_density(p, field: str = "density") -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0.0) or np.any(a > 1.0):
        raise TmsError(f"{field} must lie in (0, 1]; got {np.ravel(a).tolist()[:8]}")
    return a


def check_importance(r, field: str = "relative_importance") -> np.ndarray:
    a = np.asarray(r, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0.0):
        raise TmsError(f"{field} must be finite and >= 0; got {np.ravel(a).tolist()[:8]}")
    return a


def active_interval(g, c, xp):
    """End points ``lo <= hi`` of {μ ∈ [0, 1]: g μ + c > 0} (elementwise, broadcast shapes)."""
    g_safe = xp.where(g == 0, 1.0, g)
    t = xp.clip(-c / g_safe, 0.0, 1.0)
    on = xp.where(c > 0, 1.0, 0.0)
    lo = xp.where(g > 0, t, 0.0)
    hi = xp.where(g > 0, 1.0, xp.where(g < 0, t, on))
    lo = xp.where(g == 0, 0.0, lo)
    return lo, hi


def err1(delta, g, c, xp=np):
    """E(δ, g, c) = ∫_0^1 (δ μ − ReLU(g μ + c))² dμ, exactly (elementwise)."""
    lo, hi = active_interval(g, c, xp)
    d1, d2, d3 = hi - lo, hi * hi - lo * lo, hi ** 3 - lo ** 3
    m1 = g * d3 / 3.0 + c * d2 / 2.0
    m2 = g * g * d3 / 3.0 + g * c * d2 + c * c * d1
    return delta * delta / 3.0 - 2.0 * delta * m1 + m2


def both_active(alpha, beta, b, xp=np):
    """∫_0^1 E(1, α, β v + b) dv: one output's error when it and its partner are both active."""
    beta_safe = xp.where(beta == 0, 1.0, beta)
    v1 = xp.where(beta == 0, 0.0, xp.clip(-b / beta_safe, 0.0, 1.0))
    v2 = xp.where(beta == 0, 0.0, xp.clip(-(alpha + b) / beta_safe, 0.0, 1.0))
    edges = (0.0 * v1, xp.minimum(v1, v2), xp.maximum(v1, v2), 0.0 * v1 + 1.0)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        half = (hi - lo) / 2.0
        for x, w in zip(_GL_X, _GL_W):
            v = lo + half * (x + 1.0)
            total = total + w * half * err1(1.0, alpha, beta * v + b, xp)
    return total


def feature_loss(p, alpha, beta, b, xp=np):
    """F: expected error of one output of the n=2, m=1 model (see module docstring)."""
    relu_b = xp.maximum(b, 0.0)
    return ((1 - p) ** 2 * relu_b * relu_b
            + p * (1 - p) * (err1(1.0, alpha, b, xp) + err1(0.0, beta, b, xp))
            + p * p * both_active(alpha, beta, b, xp))
