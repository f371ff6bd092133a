"""Training on a finite data set of T examples (Henighan et al. 2023, "Superposition, Memorization, and Double
Descent"): the data sets (dense and sparse), the masked loss, and ``make_finite_train(config) -> train(key)``.

Axis names: ``T`` training examples of one model, ``T_max`` the largest T of a run, ``B`` batch slots per step,
``k`` the most active features any example has (the sparse layout), ``instances = n_T · R`` models of one
call (every training-set size times every restart, instance ``j · R + r``).

**Data.** Example ``t`` of a seed's data set is a function of the key and ``t`` only (examples are drawn in
fixed blocks of ``BLOCK`` from ``fold_in(key, block)``), so the set of size T is the first T examples of the
set of any larger size (nested data sets), identical across restarts, chunks, resumes and hidden sizes m.
Each feature is active with probability ``1 − S`` with a U[0, 1] value (as :mod:`.data`); with ``unit_norm``
each example is rescaled to ‖x‖ = 1 (an all-zero example stays zero). The sparse layout holds, per example,
the indices and values of its active features, ``idx, val: (T, k)`` (unused slots have value 0); it is cut
from the same uniforms block by block, so it equals the dense ``(T, n)`` set exactly, and no more than one
block of the dense matrix is ever built.

**Different T in one call: pad and mask.** Every model of a call gets ``B`` batch slots per step. A model
with ``T ≤ B`` uses slots ``0..T−1`` (its whole set: full batch) with weight ``1/T`` and masks the rest; a
model with ``T > B`` draws ``B`` examples uniformly from its ``T`` (weight ``1/B``). With ``B = T_max`` (the
default, ``batch_size = 0``) every model trains full batch, as in the paper. The alternative, one
compiled call per distinct T, would compile ``n_T`` times and run ``n_T`` tiny calls; padding costs
``n_T · B`` slot-examples per step instead of ``Σ T``, which a minibatch size bounds. Different hidden sizes m
are different shapes: one call each (see :mod:`tms.runs.kinds.finite`).

**Loss.** ``L = Σ_t w_t Σ_i I_i (x_ti − x'_ti)²`` with ``x' = ReLU(WᵀW x + b)`` (``w_t = 1/T`` full batch, so
``L = (1/T) Σ_x Σ_i I_i (x_i − x'_i)²``). The sparse loss computes ``h = W x`` from the k active entries and
uses ``Σ_i I_i (x_i − r_i)² = Σ_i I_i r_i² − 2 Σ_active I_i x_i r_i + Σ_active I_i x_i²`` (``r = x'``).

**Optimiser.** AdamW (decoupled decay, multiplied by the lr) with linear warm-up then cosine decay, from
:mod:`.optim` (the paper: 50,000 steps, 2,500 warm-up steps to lr 1e-3, weight decay 1e-2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import TmsError
from ..io import check_int
from .config import StaticConfig

BLOCK = 256  # examples drawn per key (fixed: example t depends on the key and t only)
DATA_PATHS = ("auto", "dense", "sparse")
SPARSE_AUTO_DENSITY = 0.05  # "auto" takes the sparse path when the expected active fraction is below this
EVAL_BLOCK = 1024  # examples per block when evaluating losses over a whole set


class DataTooLargeError(TmsError):
    """A finite-data run whose arrays would not fit the memory available (raised before compiling)."""


@dataclass(frozen=True)
class FiniteConfig:
    """Shape-fixing settings of a finite-data run (one hidden size m, every training-set size T).

    ``train_sizes``: the T values (distinct, ascending, each >= 1) trained side by side; ``sparsity``: S
    of every feature; ``unit_norm``: rescale each example to norm 1; ``batch_size``: batch slots per step
    (0: full batch, ``T_max``); ``test_size``: examples of the fresh test set; ``data_path``: ``dense``,
    ``sparse`` or ``auto`` (sparse when ``1 − S < SPARSE_AUTO_DENSITY``); ``max_active``: k of the sparse
    layout (0: a bound the data set exceeds with probability below 1e-9, see :func:`active_bound`).
    Defaults are the paper's optimiser settings.
    """

    n_features: int = 1000
    n_hidden: int = 2
    train_sizes: tuple[int, ...] = (3, 10, 100)
    sparsity: float = 0.99
    unit_norm: bool = True
    steps: int = 50_000
    warmup_steps: int = 2_500
    batch_size: int = 0
    restarts: int = 1
    test_size: int = 10_000
    data_path: str = "auto"
    max_active: int = 0

    def __post_init__(self):
        sizes = tuple(int(t) for t in np.atleast_1d(self.train_sizes))
        if not sizes or min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
            raise TmsError(f"train_sizes (T) must be distinct integers >= 1 in ascending order; got {list(sizes)}")
        object.__setattr__(self, "train_sizes", sizes)
        for name, lo in (("n_features", 1), ("n_hidden", 1), ("steps", 1), ("warmup_steps", 0), ("batch_size", 0),
                         ("restarts", 1), ("test_size", 1), ("max_active", 0)):
            check_int(name, getattr(self, name), lo)
        if not (0.0 <= float(self.sparsity) < 1.0):
            raise TmsError(f"sparsity must lie in [0, 1); got {self.sparsity}")
        if self.data_path not in DATA_PATHS:
            raise TmsError(f"data_path must be one of {DATA_PATHS}; got {self.data_path!r}")
        if self.warmup_steps > self.steps:
            raise TmsError(f"warmup_steps must be <= steps ({self.steps}); got {self.warmup_steps}")

    @property
    def t_max(self) -> int:
        return self.train_sizes[-1]

    @property
    def batch(self) -> int:
        """Batch slots per step, ``B``."""
        return min(self.batch_size or self.t_max, self.t_max)

    @property
    def sparse(self) -> bool:
        return self.data_path == "sparse" or (self.data_path == "auto" and 1 - self.sparsity < SPARSE_AUTO_DENSITY)

    @property
    def k(self) -> int:
        """Slots per example of the sparse layout."""
        return self.max_active or active_bound(self.n_features, 1 - self.sparsity, self.t_max + self.test_size)

    @property
    def static(self) -> StaticConfig:
        """The optimiser's view: AdamW, cosine decay after linear warm-up, ``restarts``."""
        return StaticConfig(n_features=self.n_features, n_hidden=self.n_hidden, batch_size=self.batch,
                            steps=self.steps, optimizer="adamw", schedule="cosine",
                            warmup_steps=self.warmup_steps, restarts=self.restarts)

    def memory_bytes(self) -> int:
        """Device memory the run needs, roughly: data sets, one step's batch, activations and evaluation."""
        n, inst = self.n_features, len(self.train_sizes) * self.restarts
        examples = self.t_max + self.test_size
        data = examples * self.k * 8 if self.sparse else examples * n * 4
        batch = inst * self.batch * (self.k * 8 if self.sparse else n * 4)
        activations = 4 * inst * max(self.batch, EVAL_BLOCK) * n * 4
        return int(data + batch + activations + inst * self.t_max * self.n_hidden * 4)

    def check_memory(self, available: int) -> None:
        need = self.memory_bytes()
        if need > available:
            raise DataTooLargeError(
                f"finite data set: T_max={self.t_max}, test_size={self.test_size}, n={self.n_features}, "
                f"{len(self.train_sizes)} sizes x {self.restarts} restart(s), batch {self.batch} "
                f"({'sparse' if self.sparse else 'dense'}) needs about {need / 2**30:.2f} GiB; "
                f"{available / 2**30:.2f} GiB available. Use fewer or smaller train_sizes, a batch_size, "
                f"a smaller test_size or the sparse data path")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train_sizes"] = list(self.train_sizes)
        return d

    @staticmethod
    def from_dict(d: dict) -> FiniteConfig:
        return FiniteConfig(**{**d, "train_sizes": tuple(d["train_sizes"])})


def active_bound(n: int, density: float, examples: int, tail: float = 1e-9) -> int:
    """Smallest k with P(any of ``examples`` examples has more than k active features) < ``tail``
    (binomial tail, union bound), at least 1."""
    if density <= 0:
        return 1
    if density >= 1:
        return n
    from math import lgamma

    ks = np.arange(n + 1)
    log_comb = np.array([lgamma(n + 1) - lgamma(j + 1) - lgamma(n - j + 1) for j in ks])
    pmf = np.exp(log_comb + ks * np.log(density) + (n - ks) * np.log1p(-density))
    above = np.cumsum(pmf[::-1])[::-1][1:] * examples  # above[k] bounds P(some example has more than k active)
    return int(max(1, np.argmax(np.append(above, 0.0) < tail)))


# ------------------------------------------------------------------------------------------- data sets


class SparseSet(NamedTuple):
    """Examples in the sparse layout: ``idx: (T, k)`` int32, ``val: (T, k)`` (0 in unused slots),
    ``dropped: ()`` active entries that did not fit in k slots (0 unless k was set too small)."""

    idx: jax.Array
    val: jax.Array
    dropped: jax.Array


def _block(key: jax.Array, b, n: int, sparsity: float, unit_norm: bool) -> jax.Array:
    """Dense block ``b`` of examples: ``(BLOCK, n)``."""
    kb = jax.random.fold_in(key, b)
    kmask, kval = jax.random.split(kb)
    x = jnp.where(jax.random.uniform(kmask, (BLOCK, n)) < 1.0 - sparsity, jax.random.uniform(kval, (BLOCK, n)), 0.0)
    return normalise(x) if unit_norm else x


def normalise(x: jax.Array) -> jax.Array:
    """Each row rescaled to norm 1; an all-zero row stays zero (no division by zero)."""
    norm = jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True))
    return jnp.where(norm > 0, x / jnp.where(norm > 0, norm, 1.0), 0.0)


def _n_blocks(count: int) -> int:
    return -(-count // BLOCK)


def dense_examples(key: jax.Array, count: int, n: int, sparsity: float, unit_norm: bool) -> jax.Array:
    """Examples ``0..count−1`` of the data set ``key``: ``(count, n)``."""
    blocks = jax.lax.map(lambda b: _block(key, b, n, sparsity, unit_norm), jnp.arange(_n_blocks(count)))
    return blocks.reshape(-1, n)[:count]


def sparse_examples(key: jax.Array, count: int, n: int, sparsity: float, unit_norm: bool, k: int) -> SparseSet:
    """The same examples as :func:`dense_examples`, in the sparse layout with ``k`` slots per example."""

    def one(b):
        x = _block(key, b, n, sparsity, unit_norm)
        active = x != 0
        _, idx = jax.lax.top_k(active.astype(jnp.float32), k)  # active indices first
        val = jnp.take_along_axis(x, idx, axis=1)
        return idx.astype(jnp.int32), val, jnp.sum(jnp.maximum(jnp.sum(active, axis=1) - k, 0))

    idx, val, dropped = jax.lax.map(one, jnp.arange(_n_blocks(count)))
    return SparseSet(idx.reshape(-1, k)[:count], val.reshape(-1, k)[:count], jnp.sum(dropped))


def densify(s: SparseSet, n: int) -> jax.Array:
    """``(T, n)`` from the sparse layout (for tests and small analyses)."""
    rows = jnp.broadcast_to(jnp.arange(s.idx.shape[0])[:, None], s.idx.shape)
    return jnp.zeros((s.idx.shape[0], n), s.val.dtype).at[rows, s.idx].add(s.val)


def examples(cfg: FiniteConfig, key: jax.Array, count: int):
    """Examples ``0..count−1`` in the run's layout (a :class:`SparseSet` or a dense ``(count, n)``)."""
    if cfg.sparse:
        return sparse_examples(key, count, cfg.n_features, cfg.sparsity, cfg.unit_norm, cfg.k)
    return dense_examples(key, count, cfg.n_features, cfg.sparsity, cfg.unit_norm)


def data_keys(seed_key: jax.Array) -> tuple[jax.Array, ...]:
    """``(train, test, init, batches)`` keys of a seed: the data depend on the seed only, never on m or the
    restart."""
    return tuple(jax.random.fold_in(seed_key, j) for j in range(4))


# ------------------------------------------------------------------------------------------------ losses


def weighted_dense_loss(W: jax.Array, b: jax.Array, X: jax.Array, w: jax.Array, importance: jax.Array) -> jax.Array:
    """``Σ_t w_t Σ_i I_i (x_ti − x'_ti)²`` for one model: ``W: (m, n)``, ``b: (n,)``, ``X: (B, n)``, ``w: (B,)``."""
    r = jax.nn.relu((X @ W.T) @ W + b[None, :])
    e = r - X
    return jnp.sum(w * jnp.sum(importance[None, :] * e * e, axis=1))


def sparse_hidden(W: jax.Array, idx: jax.Array, val: jax.Array) -> jax.Array:
    """``h = W x`` from the sparse layout: ``idx, val: (B, k) -> (B, m)``."""
    return jnp.einsum("bkm,bk->bm", W.T[idx], val)


def sparse_loss(W: jax.Array, b: jax.Array, idx: jax.Array, val: jax.Array, w: jax.Array,
                importance: jax.Array) -> jax.Array:
    """:func:`weighted_dense_loss` from the sparse layout, without the dense ``(B, n)`` input."""
    r = jax.nn.relu(sparse_hidden(W, idx, val) @ W + b[None, :])
    imp_a = importance[idx] * val  # I_i x_i at the active slots (0 in unused ones)
    per = jnp.sum(importance[None, :] * r * r, axis=1) - 2 * jnp.sum(imp_a * jnp.take_along_axis(r, idx, axis=1), axis=1) \
        + jnp.sum(imp_a * val, axis=1)
    return jnp.sum(w * per)
