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

# ----------------------------------------------------------------------------------------- validation


def check_sparsity(values, field: str = "sparsity") -> np.ndarray:
    """Return ``values`` as float64 array; raise if any is outside [0, 1)."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{field}: needs at least one value")
    if not np.all(np.isfinite(a)) or np.any(a < 0.0) or np.any(a >= 1.0):
        bad = a[~(np.isfinite(a) & (a >= 0) & (a < 1))]
        raise ValueError(f"{field} must lie in [0, 1) (S=1 would be an all-zero input); got {bad.tolist()}")
    return a


def sparsity_from(sparsity=None, density=None) -> np.ndarray:
    """Sparsity values from exactly one of ``sparsity`` (in [0, 1)) or ``density`` (in (0, 1])."""
    if (sparsity is None) == (density is None):
        raise ValueError("give exactly one of sparsity (S in [0, 1)) or density (1 - S in (0, 1])")
    if sparsity is not None:
        return check_sparsity(sparsity, "sparsity")
    d = np.asarray(density, dtype=np.float64)
    if d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0.0) or np.any(d > 1.0):
        raise ValueError(f"density must lie in (0, 1]; got {np.ravel(d).tolist()}")
    return 1.0 - d


def check_importance(importance, n_features: int, field: str = "importance") -> np.ndarray:
    """Return importance as an ``(settings, n)`` float64 array (a single ``(n,)`` vector becomes ``(1, n)``)."""
    a = np.asarray(importance, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_features:
        raise ValueError(f"{field} must have shape (n_features,) or (settings, n_features) with "
                         f"n_features={n_features}; got shape {np.shape(importance)}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{field} must be finite and >= 0; got min {np.nanmin(a)}")
    return a


# ------------------------------------------------------------------------------------- importance


def importance_constant(n_features: int, value: float = 1.0) -> np.ndarray:
    """``I_i = value`` for every feature: ``(n,)``."""
    return check_importance(np.full(n_features, float(value)), n_features)[0]


def importance_geometric(n_features: int, decay: float) -> np.ndarray:
    """``I_i = decay**i`` (i = 0 .. n−1), the paper's schedule (e.g. 0.9 for the intro, 0.7 for n=20)."""
    if not (decay > 0):
        raise ValueError(f"importance decay must be > 0; got {decay}")
    return decay ** np.arange(n_features, dtype=np.float64)


def importance_extra(n_features: int, relative: float) -> np.ndarray:
    """All features importance 1 except the last ("extra") one, with importance ``relative``."""
    if not (relative >= 0):
        raise ValueError(f"relative importance of the extra feature must be >= 0; got {relative}")
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
        raise ValueError(f"importance kind must be one of {(*IMPORTANCE_KINDS, IMPORTANCE_VALUES)}; got {kind!r}")
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
                    raise ValueError(f"{name} sets need at least 2 features; got {list(s)}")
                for i in s:
                    if not 0 <= i < n_features:
                        raise ValueError(f"{name} set {list(s)}: feature index {i} outside [0, {n_features - 1}]")
                    if i in seen:
                        raise ValueError(f"{name} set {list(s)}: feature {i} is in more than one set")
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


def sample(key: jax.Array, batch: int, sparsity: jax.Array, sets: FeatureSets = FeatureSets()) -> jax.Array:
    """A batch ``X: (batch, n)`` at per-feature ``sparsity: (n,)`` (the same numbers training sees)."""
    d = draw(key, batch, sparsity.shape[-1], sets)
    return features(d, sparsity[:, None], sets)[:, :, 0].T
