"""The optimal antipodal pair of the n = 2, m = 1 model, by a batched float64 Newton solver.

The textbook antipodal pair W = [1, −1], b = 0 is not the best antipodal solution: when both features fire,
the negative interference makes ReLU(x₁ − x₂) undershoot, so a small *positive* bias and a length
different from 1 lower the loss (p = 0.5, r = 1: 0.0763 instead of 1/12). :func:`antipodal_optimum`
optimises W = [a, −c] (a, c ≥ 0) and b on the exact loss (:mod:`.integrals`), started at [1, −1], b = 0.
Where that optimum runs into a = 0 or c = 0 the antipodal critical point has merged with a dropping
solution ("collapsed") and is not counted as a separate candidate.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...errors import TmsError
from .integrals import check_density, check_importance, feature_loss

ANTIPODAL_MODES = ("optimal", "zero_bias")
_COLLAPSE_TOL = 1e-4  # a column shorter than this counts as dropped
TIE_RTOL = 1e-9  # superposition must beat the best dropping solution by more than this
_CHUNK = 64
_ITERS = 60


def check_mode(antipodal: str) -> None:
    if antipodal not in ANTIPODAL_MODES:
        raise TmsError(f"antipodal must be one of {ANTIPODAL_MODES}; got {antipodal!r}")


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
    return (feature_loss(p, a * a, -a * c, b1, jnp) + r * feature_loss(p, c * c, -a * c, b2, jnp))


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
    p, r = np.broadcast_arrays(check_density(p), check_importance(r))
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
    return feature_loss(p, a * a, -a * c, b1) + r * feature_loss(p, c * c, -a * c, b2)
