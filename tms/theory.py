"""Closed forms and exact expected losses of small ReLU output models.

Conventions (shared with the engine): x' = ReLU(WᵀW x + b), ``W: (m, n)``, ``b: (n,)``; each feature is
independently 0 with probability S (sparsity) and U[0, 1] otherwise, density ``p = 1 − S``; the loss is
Σ_i I_i (x_i − x'_i)² (summed over features) in expectation over the data.

Building block (exact): for one output driven by ``g μ + c`` with μ ~ U[0, 1] and target ``δ μ``,

    E(δ, g, c) = ∫_0^1 (δ μ − ReLU(g μ + c))² dμ = δ²/3 − 2δ M₁ + M₂,

where M₁ = ∫_A μ (gμ + c), M₂ = ∫_A (gμ + c)² over the interval A = {μ ∈ [0, 1]: gμ + c > 0}; both are
polynomials in the end points of A (:func:`_err1`).

n = 2, m = 1 (first feature importance 1, extra feature importance r, both density p). Output j sees
``α_j x_j + β x_k + b_j`` with α_j = w_j², β = w_1 w_2. Conditioning on which features are active:

    F(α, β, b) = (1−p)² ReLU(b)² + p(1−p)[E(1, α, b) + E(0, β, b)] + p² ∫_0^1 E(1, α, βv + b) dv.

The last integrand is a piecewise cubic in v with breaks at v = −b/β and v = −(α+b)/β, so 3-point
Gauss-Legendre on each piece is exact. Candidates:

(a) drop the extra feature, W = [1, 0]: feature 1 exact, the extra's output is the constant ReLU(b₂) whose
    optimum is E[x₂] = p/2, loss r·Var(x₂) = r (p/3 − p²/4)  → phase 0;
(b) drop the first feature, W = [0, 1]: loss p/3 − p²/4  → phase 1 (extra dedicated);
(c) antipodal pair W = [1, −1], b = 0: a feature errs only when both are active, by min(x₁, x₂)², and
    E[min(U, V)²] = ∫ 2(1−u) u² du = 1/6, so the loss is (1 + r) p²/6  → phase 2.

(a)-(c) agree with the published formulas. But (c) is *not* the optimal antipodal solution: when both
features fire, the negative interference makes ReLU(x₁ − x₂) undershoot, so a small *positive* bias and
a length different from 1 lower the loss (p = 0.5, r = 1: 0.0763 instead of 1/12). We therefore also
optimise W = [a, −c] (a, c ≥ 0) and b numerically (batched damped Newton in float64 JAX on the exact
loss, started at [1, −1], b = 0). Where that optimum runs into a = 0 or c = 0 the antipodal critical
point has merged with a dropping solution ("collapsed") and is not counted as a separate candidate.
This moves the phase boundary: at r = 1 the zero-bias pair wins only for p < 4/7, the optimised pair for
every p < 1 (at p ≳ 0.75 it becomes an asymmetric, bias-heavy solution with one column of length
≈ 0.4, beating dropping by < 2%). The diagrams carry both versions (suffix ``_zero_bias``).

n = 3, m = 2: the four configurations of the paper reduce to the pieces above (the dedicated feature is
orthogonal to the antipodal pair, so it is exact and does not interact; tilting it towards the pair
raises the loss on both sides, checked by Monte Carlo with common random numbers):

    W ⊥ [0,0,1]  extra dropped                         r (p/3 − p²/4)   phase 0
    W ⊥ [1,0,0]  feature 1 dropped, 2 and 3 dedicated  p/3 − p²/4       phase 1
    W ⊥ [0,1,1]  2 and 3 antipodal, 1 dedicated        A(p; 1, r)       phase 2
    W ⊥ [1,1,0]  1 and 2 antipodal, extra dedicated    A(p; 1, 1)       phase 1

where A is the (optimised or zero-bias) antipodal pair loss of the n = 2 model; :func:`n3m2_params`
builds the explicit ``W: (2, 3)`` and ``b`` of each so the decomposition is checked by Monte Carlo.

High-sparsity limit (Chen et al. 2023): input μ e_i, i uniform over n, μ ~ U[0, 1]. With G = WᵀW,

    L(W, b) = (1/n) Σ_i Σ_j E(δ_ij, G_ij, b_j)

(summed over output features, averaged over the active one). This normalisation reproduces the
published k-gon losses (0.06874, 0.06180, 0.04819, 1/9 for n = 6).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import minimize

PHASES = ("not_represented", "dedicated", "superposition")
N2M1_CANDIDATES = ("drop_extra", "drop_first", "antipodal")
N3M2_CONFIGS = ("extra_dropped", "first_dropped", "extra_antipodal", "pair_antipodal")
N3M2_PHASE_OF = {"extra_dropped": 0, "first_dropped": 1, "extra_antipodal": 2, "pair_antipodal": 1}
N3M2_NULL_SPACE = {"extra_dropped": (0, 0, 1), "first_dropped": (1, 0, 0),
                   "extra_antipodal": (0, 1, 1), "pair_antipodal": (1, 1, 0)}
ANTIPODAL_MODES = ("optimal", "zero_bias")
_COLLAPSE_TOL = 1e-4  # a column shorter than this counts as dropped
_TIE_RTOL = 1e-9  # superposition must beat the best dropping solution by more than this
_CHUNK = 64
_ITERS = 60
_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)


# ----------------------------------------------------------------------------------------- validation


def _check_density(p, field: str = "density") -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0.0) or np.any(a > 1.0):
        raise ValueError(f"{field} must lie in (0, 1]; got {np.ravel(a).tolist()[:8]}")
    return a


def _check_importance(r, field: str = "relative_importance") -> np.ndarray:
    a = np.asarray(r, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0.0):
        raise ValueError(f"{field} must be finite and >= 0; got {np.ravel(a).tolist()[:8]}")
    return a


def _check_mode(antipodal: str) -> None:
    if antipodal not in ANTIPODAL_MODES:
        raise ValueError(f"antipodal must be one of {ANTIPODAL_MODES}; got {antipodal!r}")


# ------------------------------------------------------------------------------- exact 1-D integrals


def _active_interval(g, c, xp):
    """End points ``lo <= hi`` of {μ ∈ [0, 1]: g μ + c > 0} (elementwise, broadcast shapes)."""
    g_safe = xp.where(g == 0, 1.0, g)
    t = xp.clip(-c / g_safe, 0.0, 1.0)
    on = xp.where(c > 0, 1.0, 0.0)
    lo = xp.where(g > 0, t, 0.0)
    hi = xp.where(g > 0, 1.0, xp.where(g < 0, t, on))
    lo = xp.where(g == 0, 0.0, lo)
    return lo, hi


def _err1(delta, g, c, xp=np):
    """E(δ, g, c) = ∫_0^1 (δ μ − ReLU(g μ + c))² dμ, exactly (elementwise)."""
    lo, hi = _active_interval(g, c, xp)
    d1, d2, d3 = hi - lo, hi * hi - lo * lo, hi ** 3 - lo ** 3
    m1 = g * d3 / 3.0 + c * d2 / 2.0
    m2 = g * g * d3 / 3.0 + g * c * d2 + c * c * d1
    return delta * delta / 3.0 - 2.0 * delta * m1 + m2


def _both_active(alpha, beta, b, xp=np):
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
            total = total + w * half * _err1(1.0, alpha, beta * v + b, xp)
    return total


def _feature_loss(p, alpha, beta, b, xp=np):
    """F: expected error of one output of the n=2, m=1 model (see module docstring)."""
    relu_b = xp.maximum(b, 0.0)
    return ((1 - p) ** 2 * relu_b * relu_b
            + p * (1 - p) * (_err1(1.0, alpha, b, xp) + _err1(0.0, beta, b, xp))
            + p * p * _both_active(alpha, beta, b, xp))


def n2m1_loss(W, b, p, r):
    """Exact expected loss of the n=2, m=1 ReLU model ``W: (1, 2)`` (or ``(2,)``), ``b: (2,)``.

    ``p`` (density, in (0, 1]) and ``r`` (importance of feature 2, >= 0) broadcast together.
    """
    W = np.asarray(W, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64)
    if W.shape != (2,) or b.shape != (2,):
        raise ValueError(f"W must have shape (1, 2) and b shape (2,); got W {np.shape(W)}, b {b.shape}")
    p, r = np.broadcast_arrays(_check_density(p), _check_importance(r))
    beta = W[0] * W[1]
    return (_feature_loss(p, W[0] ** 2, beta, b[0]) + r * _feature_loss(p, W[1] ** 2, beta, b[1]))


# --------------------------------------------------------------------------- optimal antipodal pair


class AntipodalOptimum(NamedTuple):
    """Best antipodal pair W = [a, −c], b = [b1, b2] for importances (1, r); arrays of the input shape."""

    loss: np.ndarray
    a: np.ndarray
    c: np.ndarray
    b1: np.ndarray
    b2: np.ndarray

    @property
    def collapsed(self) -> np.ndarray:
        """True where a column shrank to zero: the pair merged with a dropping solution."""
        return np.minimum(self.a, self.c) < _COLLAPSE_TOL


def _pair_objective(theta, p, r):
    a, c, b1, b2 = theta[0], theta[1], theta[2], theta[3]
    return (_feature_loss(p, a * a, -a * c, b1, jnp) + r * _feature_loss(p, c * c, -a * c, b2, jnp))


def _stencil(h: float) -> tuple[np.ndarray, np.ndarray]:
    """Finite-difference stencil in 4 dimensions: offsets ``(33, 4)`` (centre, ±h e_i, ±h e_i ± h e_j)."""
    eye = np.eye(4) * h
    rows = [np.zeros(4)] + [s * eye[i] for i in range(4) for s in (1, -1)]
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    rows += [s * eye[i] + t * eye[j] for i, j in pairs for s in (1, -1) for t in (1, -1)]
    return np.stack(rows), np.asarray(pairs)


_H = 1e-5
_OFFSETS, _PAIRS = _stencil(_H)


def _fd_derivatives(fs):
    """Gradient ``(4,)`` and Hessian ``(4, 4)`` from the stencil values ``fs: (33,)``."""
    f0, plus, minus = fs[0], fs[1:9:2], fs[2:9:2]
    grad = (plus - minus) / (2 * _H)
    diag = (plus - 2 * f0 + minus) / _H ** 2
    q = fs[9:].reshape(6, 4)  # (++, +-, -+, --) per pair
    off = (q[:, 0] - q[:, 1] - q[:, 2] + q[:, 3]) / (4 * _H ** 2)
    hess = jnp.diag(diag)
    hess = hess.at[_PAIRS[:, 0], _PAIRS[:, 1]].set(off).at[_PAIRS[:, 1], _PAIRS[:, 0]].set(off)
    return grad, hess


def _newton_pairs(p, r, iters: int = _ITERS):
    """Projected, Levenberg-damped Newton on θ = (a, c, b1, b2), a, c >= 0, for each (p, r): ``(B,)``.

    Derivatives are central finite differences of the exact loss (compiling the loss alone is ~30x
    cheaper than compiling its autodiff Hessian); the acceptance test uses the exact loss.
    """
    lower = jnp.array([0.0, 0.0, -jnp.inf, -jnp.inf])
    offsets = jnp.asarray(_OFFSETS)

    def solve_one(p1, r1):
        f = jax.vmap(functools.partial(_pair_objective, p=p1, r=r1))

        def step(_, state):
            # One loss graph per iteration: the stencil around the candidate gives its value (centre)
            # and, if it is accepted, the derivatives for the next step.
            th, f_th, g, h, lam, cand = state
            fs = f(cand[None, :] + offsets)
            ok = jnp.isfinite(fs[0]) & (fs[0] < f_th)
            g_c, h_c = _fd_derivatives(fs)
            th, f_th = jnp.where(ok, cand, th), jnp.where(ok, fs[0], f_th)
            g, h = jnp.where(ok, g_c, g), jnp.where(ok, h_c, h)
            lam = jnp.clip(jnp.where(ok, lam * 0.3, lam * 10.0), 1e-12, 1e12)
            scale = jnp.abs(jnp.diag(h)) + 1e-12
            cand = jnp.maximum(th - jnp.linalg.solve(h + lam * jnp.diag(scale), g), lower)
            return th, f_th, g, h, lam, cand

        th0 = jnp.array([1.0, 1.0, 0.0, 0.0])
        init = (th0, jnp.asarray(jnp.inf), jnp.zeros(4), jnp.eye(4), jnp.asarray(1e-3), th0)
        return jax.lax.fori_loop(0, iters, step, init)[0]

    return jax.vmap(solve_one)(p, r)


@functools.lru_cache(maxsize=None)
def _compiled_newton():
    """The chunk solver compiled once per process for ``(_CHUNK,)`` float64 inputs.

    Skipping LLVM's expensive passes halves the compile time (~3 s on 2 cores) at no run-time cost.
    """
    spec = jax.ShapeDtypeStruct((_CHUNK,), jnp.float64)
    lowered = jax.jit(_newton_pairs).lower(spec, spec)
    return lowered.compile(compiler_options={"xla_llvm_disable_expensive_passes": True})


def antipodal_optimum(p, r) -> AntipodalOptimum:
    """Optimise the antipodal pair's lengths and biases for densities ``p`` and importances ``(1, r)``.

    Starts at the textbook point W = [1, −1], b = 0 and runs a batched float64 Newton solver; the loss is
    re-evaluated exactly in NumPy at the optimum.
    """
    p, r = np.broadcast_arrays(_check_density(p), _check_importance(r))
    shape = p.shape
    uniq, inverse = np.unique(np.stack([p.ravel(), r.ravel()], axis=1), axis=0, return_inverse=True)
    flat_p, flat_r = uniq[:, 0], uniq[:, 1]
    size = -(-flat_p.size // _CHUNK) * _CHUNK  # fixed chunk shape: one compilation per process
    pad_p = np.concatenate([flat_p, np.full(size - flat_p.size, 0.5)])
    pad_r = np.concatenate([flat_r, np.ones(size - flat_r.size)])
    with jax.enable_x64(True):
        solve = _compiled_newton()
        theta = np.concatenate([np.asarray(solve(jnp.asarray(pad_p[i:i + _CHUNK]),
                                                 jnp.asarray(pad_r[i:i + _CHUNK])))
                                for i in range(0, size, _CHUNK)])
    theta = theta[np.ravel(inverse)]
    a, c, b1, b2 = (theta[:, k].reshape(shape) for k in range(4))
    loss = n2m1_loss_pair(p, r, a, c, b1, b2)
    return AntipodalOptimum(loss=loss, a=a, c=c, b1=b1, b2=b2)


def n2m1_loss_pair(p, r, a, c, b1, b2):
    """Exact loss of W = [a, −c], b = [b1, b2] (all arguments broadcast)."""
    return _feature_loss(p, a * a, -a * c, b1) + r * _feature_loss(p, c * c, -a * c, b2)


# ------------------------------------------------------------------------------------------ n=2, m=1


def n2m1_losses(p, r, antipodal_opt: AntipodalOptimum | None = None) -> dict[str, np.ndarray]:
    """Losses of the n=2, m=1 candidates: ``drop_extra``, ``drop_first``, ``antipodal`` (optimised),
    ``antipodal_zero_bias`` ((1 + r) p²/6); arrays of the broadcast shape of ``p`` and ``r``."""
    p, r = np.broadcast_arrays(_check_density(p), _check_importance(r))
    var = p / 3.0 - p * p / 4.0
    opt = antipodal_opt if antipodal_opt is not None else antipodal_optimum(p, r)
    return {"drop_extra": r * var, "drop_first": var, "antipodal": opt.loss,
            "antipodal_zero_bias": (1.0 + r) * p * p / 6.0}


def n2m1_phase(p, r, antipodal: str = "optimal") -> np.ndarray:
    """Phase code (0/1/2, see ``PHASES``) of the extra feature in the best n=2, m=1 candidate.

    ``antipodal="optimal"`` uses the optimised pair (a collapsed pair is not a candidate);
    ``"zero_bias"`` uses the textbook (1 + r) p²/6.
    """
    _check_mode(antipodal)
    p, r = np.broadcast_arrays(_check_density(p), _check_importance(r))
    if antipodal == "zero_bias":
        var = p / 3.0 - p * p / 4.0
        return _phase_argmin(r * var, var, (1.0 + r) * p * p / 6.0)
    opt = antipodal_optimum(p, r)
    losses = n2m1_losses(p, r, opt)
    return _phase_argmin(losses["drop_extra"], losses["drop_first"], losses["antipodal"], opt.collapsed)


def _phase_argmin(not_represented, dedicated, superposition, collapsed=None) -> np.ndarray:
    """Argmin over the three phase candidates; superposition must win by more than ``_TIE_RTOL`` and
    not be collapsed; other ties go to the earlier phase."""
    best_drop = np.minimum(not_represented, dedicated)
    excluded = superposition >= best_drop * (1.0 - _TIE_RTOL)
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
    d = _check_density(np.ravel(densities))
    r = _check_importance(np.ravel(rel_importances), "rel_importances")
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


# ------------------------------------------------------------------------------------------ n=3, m=2


def n3m2_losses(p, r, antipodal: str = "optimal") -> dict[str, np.ndarray]:
    """Expected losses of the four n=3, m=2 configurations (``N3M2_CONFIGS``), broadcast over p, r.

    ``antipodal="optimal"``: antipodal pairs with optimised lengths and biases; ``"zero_bias"``: unit
    length, zero bias ((I₁ + I₂) p²/6).
    """
    return _n3m2(p, r, antipodal)[0]


def _n3m2(p, r, antipodal):
    _check_mode(antipodal)
    p, r = np.broadcast_arrays(_check_density(p), _check_importance(r))
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
    pair must beat the best dropping configuration by more than ``_TIE_RTOL``."""
    best_drop = np.minimum(losses["extra_dropped"], losses["first_dropped"])
    cands = []
    for name, collapsed in (("extra_antipodal", extra_collapsed), ("pair_antipodal", pair_collapsed)):
        bad = collapsed | (losses[name] >= best_drop * (1.0 - _TIE_RTOL))
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
        raise ValueError(f"config must be one of {N3M2_CONFIGS}; got {config!r}")
    _check_mode(antipodal)
    p, r = float(_check_density(p)), float(_check_importance(r))
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
    d = _check_density(np.ravel(densities))
    r = _check_importance(np.ravel(rel_importances), "rel_importances")
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


# ------------------------------------------------------------------------ high-sparsity limit, k-gons


def high_sparsity_loss(W, b) -> np.ndarray:
    """Exact population loss of x' = ReLU(WᵀW x + b) for one-hot inputs x = μ e_i (Chen et al. 2023).

    ``W: (..., m, n)``, ``b: (..., n)`` -> ``(...)``. i is uniform over the n features, μ ~ U[0, 1];
    L = (1/n) Σ_i Σ_j E(δ_ij, (WᵀW)_ij, b_j), i.e. summed over outputs, averaged over the active feature.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim < 2 or b.shape != W.shape[:-2] + W.shape[-1:]:
        raise ValueError(f"W must have shape (..., m, n) and b shape (..., n); got W {W.shape}, b {b.shape}")
    n = W.shape[-1]
    gram = np.einsum("...ki,...kj->...ij", W, W)  # (..., n, n); output j for input e_i sees gram[i, j]
    errs = _err1(np.eye(n), gram, b[..., None, :])
    return errs.sum(axis=(-2, -1)) / n


def kgon_params(n: int, k: int, n_plus: int, length: float, bias: float, bias_plus: float = 0.0):
    """``W: (2, n)``, ``b: (n,)``: k columns on a regular k-gon of radius ``length`` with bias ``bias``,
    then ``n_plus`` zero columns with bias ``bias_plus`` and the rest zero columns with bias 0."""
    if not 1 <= k <= n or not 0 <= n_plus <= n - k:
        raise ValueError(f"need 1 <= k <= n and 0 <= n_plus <= n - k; got n={n}, k={k}, n_plus={n_plus}")
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
        raise ValueError(f"k-gons live in m=2 dimensions; got m={m}")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2; got {n!r}")
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
