"""Feature distributions and importance schedules.

Every feature ``i`` is independently 0 with probability ``S_i`` (its **sparsity**) and otherwise drawn from
U[0, 1]; its **density** is ``p_i = 1 − S_i``. All public functions take sparsity; use
:func:`sparsity_from` to convert a density. Output tables always carry both columns, named ``sparsity``
and ``density``.

Feature sets (Elhage et al. 2022, section "Correlated and anticorrelated features"):

- a **correlated** set shares one zero/non-zero draw: its members are all zero or all non-zero (each
  non-zero value is drawn independently from U[0, 1]);
- an **anticorrelated** set is all zero with probability ``S`` (the sparsity of its first member),
  otherwise exactly one member, chosen uniformly, is non-zero.

Data is generated on device from a key inside the compiled step. It is split into the draws (a function of
the key only) and the thresholding (a function of the draws and the sparsity), so that all cells that share
a key share their draws (common random numbers): each cell thresholds the same uniforms at its own ``S``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import TmsError
from ..io import check_int

# ----------------------------------------------------------------------------------------- validation


def check_sparsity(values, field: str = "sparsity") -> np.ndarray:
    """Return ``values`` as float64 array; raise if any is outside [0, 1)."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        raise TmsError(f"{field}: needs at least one value")
    if not np.all(np.isfinite(a)) or np.any(a < 0.0) or np.any(a >= 1.0):
        bad = a[~(np.isfinite(a) & (a >= 0) & (a < 1))]
        raise TmsError(f"{field} must lie in [0, 1) (S=1 would be an all-zero input); got {bad.tolist()}")
    return a


def sparsity_from(sparsity=None, density=None) -> np.ndarray:
    """Sparsity values from exactly one of ``sparsity`` (in [0, 1)) or ``density`` (in (0, 1])."""
    if (sparsity is None) == (density is None):
        raise TmsError("give exactly one of sparsity (S in [0, 1)) or density (1 - S in (0, 1])")
    if sparsity is not None:
        return check_sparsity(sparsity, "sparsity")
    d = np.asarray(density, dtype=np.float64)
    if d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0.0) or np.any(d > 1.0):
        raise TmsError(f"density must lie in (0, 1]; got {np.ravel(d).tolist()}")
    return 1.0 - d


def check_importance(importance, n_features: int, field: str = "importance") -> np.ndarray:
    """Return importance as an ``(settings, n)`` float64 array (a single ``(n,)`` vector becomes ``(1, n)``)."""
    a = np.asarray(importance, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_features:
        raise TmsError(f"{field} must have shape (n_features,) or (settings, n_features) with "
                       f"n_features={n_features}; got shape {np.shape(importance)}")
    bad = ~np.isfinite(a) | (a < 0)
    if np.any(bad):
        raise TmsError(f"{field} must be finite and >= 0; got {a[bad][0]} at index {np.argwhere(bad)[0][-1]}")
    return a


# ------------------------------------------------------------------------------------- importance


def importance_constant(n_features: int, value: float = 1.0) -> np.ndarray:
    """``I_i = value`` for every feature: ``(n,)``."""
    return check_importance(np.full(n_features, float(value)), n_features)[0]


def importance_geometric(n_features: int, decay: float) -> np.ndarray:
    """``I_i = decay**i`` (i = 0 .. n−1), the paper's schedule (e.g. 0.9 for the intro, 0.7 for n=20)."""
    if not (decay > 0):
        raise TmsError(f"importance decay must be > 0; got {decay}")
    return decay ** np.arange(n_features, dtype=np.float64)


def importance_extra(n_features: int, relative: float) -> np.ndarray:
    """All features importance 1 except the last ("extra") one, with importance ``relative``."""
    if not (relative >= 0):
        raise TmsError(f"relative importance of the extra feature must be >= 0; got {relative}")
    a = np.ones(n_features)
    a[-1] = relative
    return a


class ImportanceKind(NamedTuple):
    """A named importance schedule: ``make(n_features, value) -> (n,)``, the table column that records the
    value, and the ``tms train`` flag that sets it."""

    make: Callable[[int, float], np.ndarray]
    column: str
    flag: str
    help: str


# Importance schedules by name (the sweep files' ``data.importance = { <kind> = ... }``, the CLI's flags).
# ``values`` (an explicit vector) is the one kind without a scalar parameter; see :func:`importance_settings`.
IMPORTANCE_KINDS: dict[str, ImportanceKind] = {
    "constant": ImportanceKind(importance_constant, "importance_constant", "--importance-constant",
                               "every feature importance c, one setting per value"),
    "decay": ImportanceKind(importance_geometric, "importance_decay", "--importance-decay",
                            "geometric importance I_i = r^i, one setting per value"),
    "extra": ImportanceKind(importance_extra, "extra_importance", "--extra-importance",
                            "all features importance 1 except the last, with this relative importance"),
}
IMPORTANCE_VALUES = "values"


def importance_settings(kind: str, values, n_features: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Importance settings ``(settings, n)`` and their describing table columns for one named kind.

    ``kind`` is a key of ``IMPORTANCE_KINDS`` (``values``: one scalar parameter per setting) or
    ``"values"`` (``values`` is an explicit ``(n,)`` or ``(settings, n)`` array; no describing column).
    """
    if kind == IMPORTANCE_VALUES:
        return check_importance(values, n_features), {}
    if kind not in IMPORTANCE_KINDS:
        raise TmsError(f"importance kind must be one of {(*IMPORTANCE_KINDS, IMPORTANCE_VALUES)}; got {kind!r}")
    entry = IMPORTANCE_KINDS[kind]
    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.stack([entry.make(n_features, v) for v in vals]), {entry.column: vals}


# ------------------------------------------------------------------------------------ feature sets


@dataclass(frozen=True)
class FeatureSets:
    """Static structure of correlated / anticorrelated feature sets (tuples of feature indices)."""

    correlated: tuple[tuple[int, ...], ...] = ()
    anticorrelated: tuple[tuple[int, ...], ...] = ()

    @staticmethod
    def make(n_features: int, correlated: Sequence[Sequence[int]] = (),
             anticorrelated: Sequence[Sequence[int]] = ()) -> "FeatureSets":
        corr = tuple(tuple(int(i) for i in s) for s in correlated)
        anti = tuple(tuple(int(i) for i in s) for s in anticorrelated)
        seen: set[int] = set()
        for name, sets in (("correlated", corr), ("anticorrelated", anti)):
            for s in sets:
                if len(s) < 2:
                    raise TmsError(f"{name} sets need at least 2 features; got {list(s)}")
                for i in s:
                    if not 0 <= i < n_features:
                        raise TmsError(f"{name} set {list(s)}: feature index {i} outside [0, {n_features - 1}]")
                    if i in seen:
                        raise TmsError(f"{name} set {list(s)}: feature {i} is in more than one set")
                    seen.add(i)
        return FeatureSets(corr, anti)

    @property
    def empty(self) -> bool:
        return not self.correlated and not self.anticorrelated

    def tables(self, n_features: int):
        """Static index tables: mask source per feature, and (set, position, size) for anticorrelated ones."""
        src = np.arange(n_features)
        anti_set = np.full(n_features, -1)
        anti_pos = np.zeros(n_features, dtype=np.int64)
        anti_size = np.ones(n_features, dtype=np.int64)
        for s in self.correlated + self.anticorrelated:
            src[list(s)] = s[0]
        for k, s in enumerate(self.anticorrelated):
            for q, i in enumerate(s):
                anti_set[i], anti_pos[i], anti_size[i] = k, q, len(s)
        return src, anti_set, anti_pos, anti_size


class Draws(NamedTuple):
    """Uniform draws that a batch of features is made from (a function of the key only), feature-major.

    ``mask: (n, batch)`` decides zero/non-zero, ``value: (n, batch)`` the non-zero value,
    ``choice: (n_anti_sets, batch)`` which member of each anticorrelated set is active.
    """

    mask: jax.Array
    value: jax.Array
    choice: jax.Array


def draw(key: jax.Array, batch: int, n_features: int, sets: FeatureSets = FeatureSets()) -> Draws:
    kmask, kval, kchoice = jax.random.split(key, 3)
    mask = jax.random.uniform(kmask, (n_features, batch))
    value = jax.random.uniform(kval, (n_features, batch))
    choice = jax.random.uniform(kchoice, (len(sets.anticorrelated), batch))
    return Draws(mask, value, choice)


def features(draws: Draws, sparsity: jax.Array, sets: FeatureSets = FeatureSets()) -> jax.Array:
    """Threshold shared draws at each instance's sparsity.

    ``sparsity: (n, instances)`` (one column per model instance) -> ``X: (n, batch, instances)``.
    """
    n = draws.value.shape[0]
    density = (1.0 - sparsity)[:, None, :]
    if sets.empty:
        return jnp.where(draws.mask[:, :, None] < density, draws.value[:, :, None], 0.0)
    src, anti_set, anti_pos, anti_size = sets.tables(n)
    active = draws.mask[src][:, :, None] < density[src]
    if sets.anticorrelated:
        cols = np.maximum(anti_set, 0)
        member = jnp.floor(draws.choice[cols] * anti_size[:, None]).astype(jnp.int32)
        member = jnp.minimum(member, jnp.asarray(anti_size - 1)[:, None])
        chosen = jnp.where(jnp.asarray(anti_set >= 0)[:, None], member == jnp.asarray(anti_pos)[:, None], True)
        active = active & chosen[:, :, None]
    return jnp.where(active, draws.value[:, :, None], 0.0)


def map_instances(fn: Callable, params, draws: Draws, sparsity: jax.Array, importance: jax.Array,
                  sets: FeatureSets = FeatureSets(), make: Callable = features):
    """``fn(params_i, X_i: (n, batch), importance_i: (n,))`` for each instance in turn (``lax.map``), each
    thresholding the shared ``draws`` at its own sparsity inside the loop (``make``: the kind's features), so
    ``X: (n, batch, instances)`` is never made whole. ``params``: a pytree whose leaves have the instances last;
    ``sparsity``, ``importance``: ``(n, instances)``. Returns ``fn``'s outputs stacked on a leading instance axis."""
    def one(args):
        p, s, imp = args
        return fn(p, make(draws, s[:, None], sets)[:, :, 0], imp)

    first = jax.tree.map(lambda a: jnp.moveaxis(a, -1, 0), params)
    return jax.lax.map(one, (first, sparsity.T, importance.T))


def sample(key: jax.Array, batch: int, sparsity: jax.Array, sets: FeatureSets = FeatureSets()) -> jax.Array:
    """A batch ``X: (batch, n)`` at per-feature ``sparsity: (n,)`` (the same numbers training sees)."""
    d = draw(key, batch, sparsity.shape[-1], sets)
    return features(d, sparsity[:, None], sets)[:, :, 0].T


# ------------------------------------------------------------------------------------ high sparsity


def high_sparsity_sample(key: jax.Array, batch: int, n_features: int) -> jax.Array:
    """The high-sparsity distribution of Chen et al. (2023): ``X: (batch, n)`` with exactly one active feature
    per example, chosen uniformly, with magnitude μ ~ U[0, 1] (x = μ e_i).

    The limit S → 1 of the independent-features distribution conditioned on one feature being active; its
    exact loss is :func:`tms.analysis.theory.high_sparsity.high_sparsity_loss`. Training draws the same
    distribution from one anticorrelated set of all n features at sparsity 0 (a sweep's
    ``data.anticorrelated = [[0, ..., n-1]]``, ``sparsity = [0.0]``).
    """
    check_int("n_features", n_features, 1)
    check_int("batch", batch, 1)
    k_index, k_mag = jax.random.split(key)
    index = jax.random.randint(k_index, (batch,), 0, n_features)
    mag = jax.random.uniform(k_mag, (batch,))
    return jax.nn.one_hot(index, n_features, dtype=jnp.float32) * mag[:, None]


class HighSparsitySet(NamedTuple):
    """A fixed data set of ``N`` high-sparsity examples x = μ e_i, sorted by (feature, μ), with the prefix sums
    that give its exact mean loss in O(n² log N) (:func:`high_sparsity_set_loss`) instead of O(N n m).

    ``index: (N,)`` active feature, ``mu: (N,)`` magnitude, ``key: (N,)`` = index + μ (ascending),
    ``s1, s2: (N + 1,)`` prefix sums of μ and μ², ``starts: (n + 1,)`` where each feature's examples begin.
    """

    index: jax.Array
    mu: jax.Array
    key: jax.Array
    s1: jax.Array
    s2: jax.Array
    starts: jax.Array

    @property
    def n_samples(self) -> int:
        return int(self.index.shape[0])

    def dense(self) -> jax.Array:
        """The examples as ``X: (N, n)``."""
        return jax.nn.one_hot(self.index, self.starts.shape[0] - 1, dtype=jnp.float32) * self.mu[:, None]


def high_sparsity_set(key: jax.Array, n_samples: int, n_features: int) -> HighSparsitySet:
    """``n_samples`` examples of :func:`high_sparsity_sample` (the same draws), sorted, with prefix sums."""
    X = np.asarray(high_sparsity_sample(key, n_samples, n_features), dtype=np.float64)
    index, mu = X.argmax(axis=1), X.max(axis=1)
    order = np.lexsort((mu, index))
    index, mu = index[order], mu[order]
    zero = np.zeros(1)
    starts = np.searchsorted(index, np.arange(n_features + 1))
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return HighSparsitySet(jnp.asarray(index, jnp.int32), f32(mu), f32(index + np.minimum(mu, 1 - 1e-7)),
                           f32(np.concatenate([zero, np.cumsum(mu)])),
                           f32(np.concatenate([zero, np.cumsum(mu * mu)])), jnp.asarray(starts, jnp.int32))


def high_sparsity_set_loss(W: jax.Array, b: jax.Array, data: HighSparsitySet) -> jax.Array:
    """Mean over the set of Σ_j (x_j − ReLU((WᵀW x)_j + b_j))² for ``W: (m, n)``, ``b: (n,)``: equal to the
    ReLU model's ``batch_loss`` on ``data.dense()`` with unit importance (tested), computed from sums.

    For input μ e_i, output j is ReLU(a μ + c) with a = G_ij (G = WᵀW), c = b_j: active on one side of
    μ = −c/a, so the sum of its squared error over feature i's examples is a quadratic in (a, c) whose
    coefficients are sums of 1, μ, μ² over an interval of the sorted magnitudes (found by binary search).
    """
    n = W.shape[1]
    G = W.T @ W
    lo, hi = data.starts[:-1], data.starts[1:]  # (n,)
    cnt, t1, t2 = (hi - lo).astype(jnp.float32), data.s1[hi] - data.s1[lo], data.s2[hi] - data.s2[lo]
    a, c = G, b[None, :]  # a[i, j]: input i, output j
    safe = jnp.where(a == 0, 1.0, a)
    cut = jnp.clip(-c / safe, 0.0, 1.0)  # ReLU(aμ + c) > 0 for μ > cut (a > 0) or μ < cut (a < 0)
    pos = jnp.searchsorted(data.key, jnp.arange(n)[:, None] + jnp.minimum(cut, 1 - 1e-7))
    pos = jnp.clip(pos, lo[:, None], hi[:, None])
    below = (pos - lo[:, None]).astype(jnp.float32), data.s1[pos] - data.s1[lo][:, None], \
        data.s2[pos] - data.s2[lo][:, None]
    total = cnt[:, None], t1[:, None], t2[:, None]
    above = tuple(t - u for t, u in zip(total, below))
    act = tuple(jnp.where(a > 0, ab, jnp.where(a < 0, be, jnp.where(c > 0, t, 0.0)))
                for ab, be, t in zip(above, below, total))
    eye = jnp.eye(n, dtype=bool)
    k = jnp.where(eye, a - 1.0, a)  # active error: (a − δ_ij) μ + c
    sq_active = k * k * act[2] + 2 * k * c * act[1] + c * c * act[0]
    inactive_target = jnp.where(eye, t2[:, None] - act[2], 0.0)  # inactive output 0 against target μ (i = j)
    return jnp.sum(sq_active + inactive_target) / data.starts[-1].astype(jnp.float32)


# ------------------------------------------------------------------------------ perturbing one feature
#
# A grid may vary one feature's density (or sparsity) or importance while the others keep the base value
# (Elhage et al. 2022, "Phase changes in polytopes": a pentagon loses one vertex as that feature grows rarer
# or less important). The sweep files' ``data.perturb = { feature = i, density | sparsity | importance = ... }``.

PERTURB_KINDS = ("density", "sparsity", "importance")


def check_feature(feature, n_features: int, field: str = "perturb.feature") -> int:
    """``feature`` as an int in [0, n_features), or a ValueError naming ``field``."""
    if isinstance(feature, bool) or not isinstance(feature, (int, np.integer)) or not 0 <= feature < n_features:
        raise TmsError(f"{field} must be an integer feature index in [0, {n_features - 1}]; got {feature!r}")
    return int(feature)


def perturb_rows(base, feature: int, values) -> np.ndarray:
    """Rows ``(P, n)``: the base vector ``(n,)`` with entry ``feature`` replaced by each of ``values: (P,)``."""
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    feature = check_feature(feature, base.size)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    rows = np.repeat(base[None, :], len(values), axis=0)
    rows[:, feature] = values
    return rows
