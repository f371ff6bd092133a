"""Training every training-set size T of one hidden size m in one compiled call: ``make_finite_train(cfg)``.

See :mod:`.finite` for the data sets, the pad-and-mask layout and the loss. Models with ``T ≤ B`` (full
batch) all read the same slots ``0..B−1`` of the shared data set, so their batch is one shared array and
their hidden vectors one matmul; models with ``T > B`` gather their own ``B`` examples each step. The
``R`` restarts of a size share its data and batches; restart ``r`` starts from the same W for every T.
The restart with the lowest final training loss is kept.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import ticks
from .finite import (
    EVAL_BLOCK,
    FiniteConfig,
    SparseSet,
    data_keys,
    examples,
    sparse_hidden,
    sparse_loss,
    weighted_dense_loss,
)
from .models import Params
from .optim import make_optimizer
from .train import best_restarts, init_instances


class FiniteOutput(NamedTuple):
    """One call's results, best restart per size. ``W: (n_T, m, n)``, ``b: (n_T, n)``; ``train_loss``,
    ``test_loss``, ``best_restart: (n_T,)``; ``restart_train_losses: (n_T, R)``; ``hidden: (n_T, T_max, m)``
    (h_t = W x_t of the training points, zero for t >= T); ``dropped: ()`` active entries the sparse layout
    could not hold (0 means the sparse data equal the dense data exactly)."""

    params: Params
    train_loss: jax.Array
    test_loss: jax.Array
    restart_train_losses: jax.Array
    best_restart: jax.Array
    hidden: jax.Array
    dropped: jax.Array


def _take(data, rows):
    """Rows of a data set as a batch tuple: ``(X,)`` dense or ``(idx, val)`` sparse."""
    if isinstance(data, SparseSet):
        return data.idx[rows], data.val[rows]
    return (data[rows],)


def _head(data, width: int):
    """The first ``width`` rows of a data set as a batch tuple (a static slice, not a gather: no copy)."""
    if isinstance(data, SparseSet):
        return data.idx[:width], data.val[:width]
    return (data[:width],)


def _loss(W, b, batch, w, importance):
    if len(batch) == 2:
        return sparse_loss(W, b, *batch, w, importance)
    return weighted_dense_loss(W, b, *batch, w, importance)


def _hidden(W, batch):
    return sparse_hidden(W, *batch) if len(batch) == 2 else batch[0] @ W.T


def padded(n: int) -> int:
    return -(-n // EVAL_BLOCK) * EVAL_BLOCK


EXACT_WIDTH = 256  # full-batch sets larger than this read exactly T slots (one group each)


def buckets(sizes, batch: int) -> list[tuple[int, int, int]]:
    """Full-batch groups ``(first size index, end, width)``: the sizes ``T ≤ batch`` padded to the smallest
    width ``min(16 · 4^j, batch)`` that holds them (so a T = 3 model reads 16 slots, not ``batch``); a size
    above ``EXACT_WIDTH`` reads exactly ``T`` slots (a step's cost grows with the width: padding T = 1,600
    to 4^j would double its work)."""
    out = []
    for j, t in enumerate(sizes):
        if t > batch:
            break
        width = 16
        while width < t:
            width *= 4
        width = min(width, batch) if t <= EXACT_WIDTH else t
        if out and out[-1][2] == width:
            out[-1] = (out[-1][0], j + 1, width)
        else:
            out.append((j, j + 1, width))
    return out


def slots_per_step(cfg: FiniteConfig) -> int:
    """Slot-examples one step of a call processes: every model's padded batch (the step's work is about
    this times ``n``, growing with m)."""
    groups = buckets(cfg.train_sizes, cfg.batch)
    full = sum((hi - lo) * width for lo, hi, width in groups)
    return (full + (len(cfg.train_sizes) - (groups[-1][1] if groups else 0)) * cfg.batch) * cfg.restarts


def make_finite_step_loss(cfg: FiniteConfig):
    """``loss(params, data, step_key, importance) -> (total, per-instance (inst,))`` for one step.

    ``params``: ``W: (m, n, inst)``, ``b: (n, inst)``; ``data``: the training set in the run's layout.
    Full-batch models are grouped by padded width (:func:`buckets`); each group reads one shared batch.
    """
    sizes, R, B = cfg.train_sizes, cfg.restarts, cfg.batch
    groups = buckets(sizes, B)
    n_full = (groups[-1][1] if groups else 0) * R
    big = jnp.asarray(sizes[n_full // R:], jnp.int32)

    def loss(params, data, step_key, importance):
        W, b = jnp.moveaxis(params.W, -1, 0), params.b.T  # (inst, m, n), (inst, n)
        per = []
        for lo, hi, width in groups:
            slots = jnp.arange(width)
            T = jnp.repeat(jnp.asarray(sizes[lo:hi], jnp.int32), R)
            w = (slots[None, :] < T[:, None]) / T[:, None].astype(jnp.float32)
            if (hi - lo) * R == 1:  # one model: a plain dot (vmap over one instance is ~35% slower on a CPU)
                per.append(_loss(W[lo * R], b[lo * R], _head(data, width), w[0], importance)[None])
            else:
                per.append(jax.vmap(_loss, in_axes=(0, 0, None, 0, None))(
                    W[lo * R:hi * R], b[lo * R:hi * R], _head(data, width), w, importance))
        if n_full < W.shape[0]:
            u = jax.random.uniform(step_key, (big.shape[0], B))
            rows = jnp.minimum(jnp.floor(u * big[:, None]).astype(jnp.int32), big[:, None] - 1)
            batch = jax.tree.map(lambda a: jnp.repeat(a, R, axis=0), _take(data, rows))
            w = jnp.full((B,), 1.0 / B)
            per.append(jax.vmap(_loss, in_axes=(0, 0, 0, None, None))(W[n_full:], b[n_full:], batch, w, importance))
        per = jnp.concatenate(per)
        return jnp.sum(per), per

    return loss


def set_losses(cfg: FiniteConfig, params: Params, data, count, importance, with_hidden: bool):
    """Each instance's loss over its first ``count[inst]`` examples of ``data`` (in blocks of ``EVAL_BLOCK``
    when the rows fill whole blocks, else one block), and optionally its hidden vectors ``(inst, rows, m)`` (zero beyond ``count``)."""
    W, b = jnp.moveaxis(params.W, -1, 0), params.b.T
    rows = (data.idx if isinstance(data, SparseSet) else data).shape[0]
    size = EVAL_BLOCK if rows % EVAL_BLOCK == 0 else rows  # the run pads its sets to whole blocks

    def block(j):
        t = j * size + jnp.arange(size)
        batch = _take(data, t)
        valid = t[None, :] < count[:, None]  # (inst, EVAL_BLOCK)
        w = valid / count[:, None].astype(jnp.float32)
        loss = jax.vmap(_loss, in_axes=(0, 0, None, 0, None))(W, b, batch, w, importance)
        h = jax.vmap(_hidden, in_axes=(0, None))(W, batch) * valid[:, :, None] if with_hidden else None
        return loss, h

    losses, hs = jax.lax.map(block, jnp.arange(rows // size))
    h = None if hs is None else jnp.moveaxis(hs, 0, 1).reshape(W.shape[0], rows, W.shape[1])
    return jnp.sum(losses, axis=0), h


def make_finite_train(cfg: FiniteConfig):
    """``train(seed_key, lr, weight_decay, importance) -> FiniteOutput`` for every T of ``cfg`` (pure; jit it).

    ``lr``, ``weight_decay``: scalars; ``importance: (n,)``. The training and test sets are drawn from
    ``seed_key`` (:func:`tms.engine.finite.data_keys`), the initialisations from it too.
    """
    static, R, n_T = cfg.static, cfg.restarts, len(cfg.train_sizes)
    step_loss = jax.value_and_grad(make_finite_step_loss(cfg), has_aux=True)
    count = jnp.repeat(jnp.asarray(cfg.train_sizes, jnp.int32), R)

    def train(seed_key, lr, weight_decay, importance):
        k_train, k_test, k_init, k_batch = data_keys(seed_key)
        data = examples(cfg, k_train, padded(cfg.t_max))
        test = examples(cfg, k_test, padded(cfg.test_size))
        params = init_instances(static, k_init, n_T)
        inst = n_T * R
        opt = make_optimizer(static, jnp.full((inst,), lr), jnp.full((inst,), weight_decay))

        def step(carry, s):
            params, opt_state = carry
            _, grads = step_loss(params, data, jax.random.fold_in(k_batch, s), importance)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        params, _ = ticks.scan(step, (params, opt.init(params)), cfg.steps)  # progress ticks (tms.engine.ticks)
        train_loss, hidden = set_losses(cfg, params, data, count, importance, True)
        test_loss, _ = set_losses(cfg, params, test, jnp.full((inst,), cfg.test_size), importance, False)
        per_restart, best, pick = best_restarts(train_loss.reshape(n_T, R), params)
        dropped = data.dropped + test.dropped if isinstance(data, SparseSet) else jnp.zeros((), jnp.int32)
        return FiniteOutput(
            params=Params(W=jnp.moveaxis(params.W[..., pick], -1, 0), b=params.b[:, pick].T),
            train_loss=train_loss[pick], test_loss=test_loss[pick], restart_train_losses=per_restart,
            best_restart=best, hidden=hidden[pick, : cfg.t_max], dropped=dropped)

    return train
