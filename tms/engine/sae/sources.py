"""Activation sources with known ground truth, sampled on device from a key.

A source gives batches ``H: (batch, d_in)`` of activations together with the true feature activations
``X: (batch, n_true)`` that made them, and the true feature directions ``directions: (n_true, d_in)`` (one row
per feature; ``H = X directions``). Its fixed parts (directions, probabilities) are drawn once from a NumPy seed,
so the same settings give the same source.

- :func:`toy_model_source`: hidden activations ``h = W x`` of a toy model ``W: (m, n)`` (truth: the columns of
  ``W``), ``x`` drawn as the toy model was trained (each feature non-zero with probability ``1 − S``, U[0, 1]).
- :func:`synthetic_source`: the setting of Sharkey, Braun & Millidge (2022) as their public replication sets
  it up: ``n_true`` (512) features, each a normalised Gaussian direction in ``d_in`` (256) dimensions; feature
  ``i`` is active with probability ``p_i = c · decay^i`` (decay 0.99), ``c`` chosen so that
  ``Σ_i p_i = mean_active`` (5); active magnitudes U[0, 1]. With ``correlated=True``,
  ``p_i = c · Φ(z_i) · decay^i`` with ``z ~ N(0, Σ)`` drawn per example, ``Σ`` a random correlation matrix; since
  ``E Φ(z_i) = 1/2`` for ``z_i ~ N(0, 1)``, ``c`` is doubled so the expected count stays ``mean_active``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import data as feature_data
from .registry import SaeError


class ActivationSource(NamedTuple):
    """Activations with ground truth.

    Args:
        name: what made it (``toy_model``, ``synthetic``).
        directions: ``(n_true, d_in)`` true feature directions (rows), NumPy.
        sample: ``(key, batch) -> (H: (batch, d_in), X: (batch, n_true))``, pure JAX.
        settings: the strict-JSON settings that rebuild it.
    """

    name: str
    directions: np.ndarray
    sample: Callable
    settings: dict

    @property
    def d_in(self) -> int:
        return int(self.directions.shape[1])

    @property
    def n_true(self) -> int:
        return int(self.directions.shape[0])


def toy_model_source(W, sparsity: float) -> ActivationSource:
    """Hidden activations ``h = W x`` of a toy model ``W: (m, n)``; features as in training at sparsity ``S``."""
    W = np.asarray(W, dtype=np.float32)
    if W.ndim != 2:
        raise SaeError(f"toy model W must have shape (m, n), got {W.shape}")
    S = feature_data.check_sparsity([sparsity], "source.sparsity")
    n = W.shape[1]
    Wj, Sj = jnp.asarray(W), jnp.full((n,), float(S[0]), jnp.float32)

    def sample(key, batch):
        X = feature_data.sample(key, batch, Sj)
        return X @ Wj.T, X

    return ActivationSource("toy_model", W.T.copy(), sample,
                            {"W": W.tolist(), "sparsity": float(S[0])})


def _check_synthetic(n_true, d_in, mean_active, decay):
    for name, v in (("source.n_true", n_true), ("source.d_in", d_in)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise SaeError(f"{name} must be an integer >= 1, got {v!r}")
    if not (0 < decay <= 1):
        raise SaeError(f"source.decay must lie in (0, 1], got {decay!r}")
    total = float(np.sum(decay ** np.arange(n_true)))
    if not (0 < mean_active <= total):
        raise SaeError(f"source.mean_active must lie in (0, {total:.3g}] (all p_i <= 1), got {mean_active!r}")


def random_correlation(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random correlation matrix ``(n, n)``: ``G Gᵀ`` with ``G`` Gaussian ``(n, n)``, scaled to unit diagonal."""
    G = rng.standard_normal((n, n))
    C = G @ G.T
    d = np.sqrt(np.diag(C))
    return C / d[:, None] / d[None, :]


def synthetic_source(n_true: int = 512, d_in: int = 256, mean_active: float = 5.0, decay: float = 0.99,
                     correlated: bool = False, seed: int = 0) -> ActivationSource:
    """Sharkey et al.'s synthetic activations (see the module docstring); ``seed`` fixes directions and Σ."""
    _check_synthetic(n_true, d_in, mean_active, decay)
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n_true, d_in))
    F = (F / np.linalg.norm(F, axis=1, keepdims=True)).astype(np.float32)
    base = decay ** np.arange(n_true)
    c = mean_active / base.sum()
    settings = {"n_true": n_true, "d_in": d_in, "mean_active": mean_active, "decay": decay,
                "correlated": correlated, "seed": seed}
    Fj = jnp.asarray(F)
    if not correlated:
        p = jnp.asarray(np.minimum(c * base, 1.0), jnp.float32)

        def sample(key, batch):
            k1, k2 = jax.random.split(key)
            on = jax.random.uniform(k1, (batch, n_true)) < p[None, :]
            X = jnp.where(on, jax.random.uniform(k2, (batch, n_true)), 0.0)
            return X @ Fj, X
    else:
        L = jnp.asarray(np.linalg.cholesky(random_correlation(rng, n_true) + 1e-6 * np.eye(n_true)), jnp.float32)
        scale = jnp.asarray(2.0 * c * base, jnp.float32)

        def sample(key, batch):
            k0, k1, k2 = jax.random.split(key, 3)
            z = jax.random.normal(k0, (batch, n_true)) @ L.T
            p = jnp.minimum(scale[None, :] * jax.scipy.stats.norm.cdf(z), 1.0)
            on = jax.random.uniform(k1, (batch, n_true)) < p
            X = jnp.where(on, jax.random.uniform(k2, (batch, n_true)), 0.0)
            return X @ Fj, X

    return ActivationSource("synthetic", F, sample, settings)


def pentagon(n: int = 5) -> np.ndarray:
    """The regular ``n``-gon ``W: (2, n)`` (columns at angles 2πi/n): the toy model's solution for n=5, m=2."""
    angles = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angles), np.sin(angles)]).astype(np.float32)
