"""Hierarchical features with known ground truth: parents, each with mutually exclusive children.

The setting where feature absorption shows (Chanin et al. 2024, "A is for Absorption"): a child is active
only when its parent is, so an SAE can save sparsity by folding the parent's direction into each child's
latent and leaving the parent's latent silent whenever a child is on.

Layout of the ``n_true = n_parents · (1 + n_children)`` features: parents first (``0 .. n_parents − 1``), then
the children of parent ``i`` at ``n_parents + i · n_children + j`` for ``j < n_children``.
:func:`parent_index` gives each feature's parent (−1 for a parent), which is what the absorption measure in
:mod:`tms.analysis.dictionary` reads.

Sampling, per example and parent ``i`` independently: the parent is active with probability ``p_parent[i]``;
given that it is, child ``j`` is the one active child with probability ``p_child[j]`` and no child is active
with probability ``1 − Σ_j p_child[j]`` (one uniform draw against the cumulative sums, so at most one child).
A child is never active without its parent. Active magnitudes are U[0, 1] drawn independently for every
feature (``magnitudes="uniform"``, as the other sources) or exactly 1 (``magnitudes="unit"``, the toy
setting of Chanin et al., where a parent and its child always have equal magnitudes).

Directions: normalised Gaussian rows; with ``orthogonal=True`` (needs ``n_true <= d_in``) an orthonormal set
(the Q of a Gaussian matrix's QR), so that features do not interfere and absorption is the only confusion.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ...io import check_float, check_int
from .registry import SaeError
from .sources import ActivationSource

MAGNITUDES = ("uniform", "unit")


def parent_index(n_parents: int, n_children: int) -> np.ndarray:
    """``(n_parents · (1 + n_children),)``: each feature's parent, −1 for a parent (see the module docstring)."""
    return np.concatenate([np.full(n_parents, -1), np.repeat(np.arange(n_parents), n_children)]).astype(np.int64)


def _probabilities(value, size: int, field: str) -> list[float]:
    """``value`` (a number or a list of ``size``) as ``size`` floats in [0, 1]."""
    values = [value] * size if np.ndim(value) == 0 else list(value)
    if len(values) != size:
        raise SaeError(f"{field} must be a number in [0, 1] or a list of {size}; got {len(values)} values")
    return [check_float(f"{field}[{i}]", v, 0.0, 1.0, error=SaeError) for i, v in enumerate(values)]


def check_hierarchy(n_parents, n_children, d_in, p_parent, p_child, magnitudes, orthogonal, seed) -> tuple:
    """Checked ``(p_parent list, p_child list)``; a :class:`SaeError` naming the field and its range otherwise."""
    check_int("source.n_parents", n_parents, 1, error=SaeError)
    check_int("source.n_children", n_children, 1, error=SaeError)
    check_int("source.d_in", d_in, 1, error=SaeError)
    check_int("source.seed", seed, 0, error=SaeError)
    parents = _probabilities(p_parent, n_parents, "source.p_parent")
    children = _probabilities(p_child, n_children, "source.p_child")
    if sum(children) > 1.0 + 1e-9:
        raise SaeError(f"source.p_child: the children's probabilities given the parent must sum to at most 1 "
                       f"(they are mutually exclusive); got sum {sum(children):.6g}")
    if magnitudes not in MAGNITUDES:
        raise SaeError(f"source.magnitudes must be one of {MAGNITUDES}; got {magnitudes!r}")
    if not isinstance(orthogonal, bool):
        raise SaeError(f"source.orthogonal must be true or false; got {orthogonal!r}")
    n_true = n_parents * (1 + n_children)
    if orthogonal and n_true > d_in:
        raise SaeError(f"source.orthogonal needs n_true = n_parents · (1 + n_children) = {n_true} <= "
                       f"source.d_in = {d_in}")
    return parents, children


def hierarchy_directions(rng: np.random.Generator, n_true: int, d_in: int, orthogonal: bool) -> np.ndarray:
    """``(n_true, d_in)`` unit rows: Gaussian normalised, or orthonormal (QR of a Gaussian ``(d_in, n_true)``)."""
    G = rng.standard_normal((n_true, d_in))
    if orthogonal:
        Q, R = np.linalg.qr(G.T)
        G = (Q * np.sign(np.diag(R))[None, :]).T
    return (G / np.linalg.norm(G, axis=1, keepdims=True)).astype(np.float32)


@partial(jax.jit, static_argnames="batch")
def _sample(key, pp, edges, F, unit, batch):
    """One jitted sampler for every hierarchical source: the settings are arguments, so sources of the same
    shapes (parents, children, ``d_in``, batch) share one compilation whatever their probabilities, magnitudes
    and directions. ``edges``: the cumulative child probabilities (child ``j`` when ``edges[j-1] <= u <
    edges[j]``); ``unit``: a boolean scalar (unit magnitudes, else U[0, 1]; the uniform draw is made either way,
    so the other draws do not depend on it)."""
    n_parents, n_children = pp.shape[0], edges.shape[0]
    lower = jnp.concatenate([jnp.zeros(1, edges.dtype), edges[:-1]])
    k_par, k_child, k_mag = jax.random.split(key, 3)
    on_parent = jax.random.uniform(k_par, (batch, n_parents)) < pp[None, :]
    u = jax.random.uniform(k_child, (batch, n_parents, 1))
    which = (u >= lower[None, None, :]) & (u < edges[None, None, :])  # at most one True per (example, parent)
    on_child = (which & on_parent[:, :, None]).reshape(batch, n_parents * n_children)
    on = jnp.concatenate([on_parent, on_child], axis=1)
    mag = jnp.where(unit, 1.0, jax.random.uniform(k_mag, on.shape))
    X = jnp.where(on, mag, 0.0)
    return X @ F, X


def hierarchical_source(n_parents: int = 4, n_children: int = 3, d_in: int = 32, p_parent=0.25, p_child=0.25,
                        magnitudes: str = "uniform", orthogonal: bool = True, seed: int = 0) -> ActivationSource:
    """Parents with mutually exclusive children (see the module docstring).

    ``p_parent``: each parent's probability (a number, or one per parent); ``p_child``: each child's
    probability given its parent (a number, or one per child index, shared by all parents), summing to <= 1.
    ``seed`` fixes the directions. ``settings`` round-trips: ``hierarchical_source(**source.settings)``.
    """
    parents, children = check_hierarchy(n_parents, n_children, d_in, p_parent, p_child, magnitudes, orthogonal,
                                        seed)
    n_true = n_parents * (1 + n_children)
    F = hierarchy_directions(np.random.default_rng(seed), n_true, d_in, orthogonal)
    settings = {"n_parents": int(n_parents), "n_children": int(n_children), "d_in": int(d_in),
                "p_parent": parents, "p_child": children, "magnitudes": magnitudes, "orthogonal": orthogonal,
                "seed": int(seed)}
    arrays = (jnp.asarray(parents, jnp.float32), jnp.asarray(np.cumsum(children), jnp.float32), jnp.asarray(F),
              jnp.asarray(magnitudes == "unit"))

    def sample(key, batch):
        return _sample(key, *arrays, batch=batch)

    return ActivationSource("hierarchical", F, sample, settings)


def source_parents(source: ActivationSource) -> np.ndarray:
    """:func:`parent_index` of a hierarchical source (from its settings)."""
    if source.name != "hierarchical":
        raise SaeError(f"source_parents needs a hierarchical source; got {source.name!r}")
    return parent_index(source.settings["n_parents"], source.settings["n_children"])
