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


def parts(cfg: FiniteConfig) -> list[tuple[int, int, int]]:
    """The step's parts ``(first size index, end, width)``: the full-batch groups of :func:`buckets`, then, if
    any size exceeds the batch, one part ``(first such index, len(sizes), 0)`` whose models gather their own
    batches."""
    groups = buckets(cfg.train_sizes, cfg.batch)
    n_full = groups[-1][1] if groups else 0
    return groups + ([(n_full, len(cfg.train_sizes), 0)] if n_full < len(cfg.train_sizes) else [])


def make_finite_step_loss(cfg: FiniteConfig, part: int | None = None):
    """``loss(params, data, step_key, importance) -> (total, per-instance (inst,))`` for one step.

    ``params``: ``W: (m, n, inst)``, ``b: (n, inst)``; ``data``: the training set in the run's layout.
    Full-batch models are grouped by padded width (:func:`buckets`); each group reads one shared batch.
    ``part``: only that entry of :func:`parts` (``params`` then hold its instances only), else all of them.
    """
    sizes, R, B = cfg.train_sizes, cfg.restarts, cfg.batch
    chosen = parts(cfg) if part is None else [parts(cfg)[part]]

    def loss(params, data, step_key, importance):
        W, b = jnp.moveaxis(params.W, -1, 0), params.b.T  # (inst, m, n), (inst, n)
        per, at = [], 0
        for lo, hi, width in chosen:
            k = (hi - lo) * R
            Wg, bg = W[at:at + k], b[at:at + k]
            at += k
            if not width:  # sizes above the batch: each model gathers its own B rows
                big = jnp.asarray(sizes[lo:hi], jnp.int32)
                u = jax.random.uniform(step_key, (big.shape[0], B))
                rows = jnp.minimum(jnp.floor(u * big[:, None]).astype(jnp.int32), big[:, None] - 1)
                batch = jax.tree.map(lambda a: jnp.repeat(a, R, axis=0), _take(data, rows))
                w = jnp.full((B,), 1.0 / B)
                per.append(jax.vmap(_loss, in_axes=(0, 0, 0, None, None))(Wg, bg, batch, w, importance))
                continue
            slots = jnp.arange(width)
            T = jnp.repeat(jnp.asarray(sizes[lo:hi], jnp.int32), R)
            w = (slots[None, :] < T[:, None]) / T[:, None].astype(jnp.float32)
            if k == 1:  # one model: a plain dot (vmap over one instance is ~35% slower on a CPU)
                per.append(_loss(Wg[0], bg[0], _head(data, width), w[0], importance)[None])
            else:
                per.append(jax.vmap(_loss, in_axes=(0, 0, None, 0, None))(Wg, bg, _head(data, width), w, importance))
        per = jnp.concatenate(per) if len(per) > 1 else per[0]
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


def _setup(cfg: FiniteConfig, seed_key):
    """The data sets, initial params and batch key of a run (all drawn from ``seed_key``)."""
    k_train, k_test, k_init, k_batch = data_keys(seed_key)
    data = examples(cfg, k_train, padded(cfg.t_max))
    test = examples(cfg, k_test, padded(cfg.test_size))
    return data, test, init_instances(cfg.static, k_init, len(cfg.train_sizes)), k_batch


def _trained(cfg: FiniteConfig, part: int | None):
    """``run(params, data, k_batch, lr, weight_decay, importance) -> params`` after ``cfg.steps`` steps of the
    instances of ``part`` (an entry of :func:`parts`; ``None``: every instance)."""
    step_loss = jax.value_and_grad(make_finite_step_loss(cfg, part), has_aux=True)

    def run(params, data, k_batch, lr, weight_decay, importance):
        inst = params.b.shape[-1]
        opt = make_optimizer(cfg.static, jnp.full((inst,), lr), jnp.full((inst,), weight_decay))

        def step(carry, s):
            params, opt_state = carry
            _, grads = step_loss(params, data, jax.random.fold_in(k_batch, s), importance)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        return ticks.scan(step, (params, opt.init(params)), cfg.steps)[0]  # progress ticks (tms.engine.ticks)

    return run


def _finish(cfg: FiniteConfig, params, data, test, importance) -> FiniteOutput:
    """Losses on the training and test sets, hidden vectors, and the best restart of each size."""
    R, n_T = cfg.restarts, len(cfg.train_sizes)
    count = jnp.repeat(jnp.asarray(cfg.train_sizes, jnp.int32), R)
    train_loss, hidden = set_losses(cfg, params, data, count, importance, True)
    test_loss, _ = set_losses(cfg, params, test, jnp.full((n_T * R,), cfg.test_size), importance, False)
    per_restart, best, pick = best_restarts(train_loss.reshape(n_T, R), params)
    dropped = data.dropped + test.dropped if isinstance(data, SparseSet) else jnp.zeros((), jnp.int32)
    return FiniteOutput(
        params=Params(W=jnp.moveaxis(params.W[..., pick], -1, 0), b=params.b[:, pick].T),
        train_loss=train_loss[pick], test_loss=test_loss[pick], restart_train_losses=per_restart,
        best_restart=best, hidden=hidden[pick, : cfg.t_max], dropped=dropped)


def make_finite_train(cfg: FiniteConfig):
    """``train(seed_key, lr, weight_decay, importance) -> FiniteOutput`` for every T of ``cfg`` (pure; jit it).

    ``lr``, ``weight_decay``: scalars; ``importance: (n,)``. The training and test sets are drawn from
    ``seed_key`` (:func:`tms.engine.finite.data_keys`), the initialisations from it too. Every size trains in
    one loop; :func:`finite_train_in_parts` runs the same training as one compiled loop per part.
    """
    run = _trained(cfg, None)

    def train(seed_key, lr, weight_decay, importance):
        data, test, params, k_batch = _setup(cfg, seed_key)
        params = run(params, data, k_batch, lr, weight_decay, importance)
        return _finish(cfg, params, data, test, importance)

    return train


def finite_train_in_parts(cfg: FiniteConfig):
    """:func:`make_finite_train`'s training as compiled calls (already jitted; call it, do not jit it): the data
    and initialisations, then one training loop per entry of :func:`parts`, then the losses; what the kind
    ``finite`` runs. The models of different parts share nothing but the data, so each part's gradients are the
    one loop's; XLA's code for the update, fused with fewer models, rounds a last bit differently now and then
    (a few ulps after 30 steps; over 8,000 steps near a choice between solutions that grows as it does across
    CPUs, docs/finite_data.md). Faster: on one core of the 2-core Intel AVX-512 machine (7 December 2026),
    ``tms sweep run finite_data`` (n = 1,000, T = 3 … 1,600 in six parts, m = 2 and 4, 8,000 full-batch steps)
    took 131.3 s in one loop per m and 94.8 s in parts. A model trains bit for bit alike whatever larger sets
    share its run (its parts are the same compiled loops). Progress ticks count ``cfg.steps`` per part.
    """
    setup = jax.jit(lambda seed_key: _setup(cfg, seed_key))
    runs = [jax.jit(_trained(cfg, j)) for j in range(len(parts(cfg)))]
    finish = jax.jit(lambda params, data, test, importance: _finish(cfg, params, data, test, importance))
    R = cfg.restarts

    def train(seed_key, lr, weight_decay, importance):
        data, test, params, k_batch = setup(seed_key)
        done = [run(jax.tree.map(lambda a, s=slice(lo * R, hi * R): a[..., s], params), data, k_batch, lr,
                    weight_decay, importance) for run, (lo, hi, _) in zip(runs, parts(cfg))]
        params = jax.tree.map(lambda *a: jnp.concatenate(a, axis=-1), *done)
        return finish(params, data, test, importance)

    return train
