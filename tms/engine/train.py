"""Training one cell: ``make_train(static) -> train(hparams, key)``.

Everything that fixes array shapes (n, m, batch, steps, restarts, recording) lives in the frozen
:class:`~tms.engine.config.StaticConfig` and is closed over; what a sweep varies (sparsity, importance, lr,
weight decay) is the traced :class:`~tms.engine.config.Hparams`, so one compilation serves every value (see
:mod:`tms.runs.grid` for the compiled grid).

Within a cell, ``R`` restarts (different initialisations, the same data) are trained side by side and the
one with the lowest loss on a fixed evaluation batch is kept (the paper fits each model several times and
keeps the lowest loss). A non-finite loss never wins; if every restart diverged the cell is flagged.

Axis names: ``C`` cells, ``R`` restarts, ``instances = C · R`` models side by side on a trailing axis
(instance ``c · R + r``), ``n`` features, ``m`` hidden dimensions.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import data as tdata
from . import ticks
from .config import Hparams, StaticConfig
from .kinds import get_kind
from .optim import make_optimizer


class TrainOutput(NamedTuple):
    """What ``train`` returns for one cell (the best restart unless noted).

    ``params``: the best restart's params (the kind's pytree, e.g. :class:`~tms.engine.models.Params`);
    ``final_loss: ()`` its loss on the evaluation batch;
    ``restart_losses: (R,)`` every restart's evaluation loss; ``best_restart: ()``;
    ``loss_curve: (n_logs,)`` mean training loss per block; ``snapshots``: params with a leading
    ``(n_snapshots,)`` axis.
    """

    params: Any
    final_loss: jax.Array
    restart_losses: jax.Array
    best_restart: jax.Array
    loss_curve: jax.Array
    snapshots: Any


FAST_PATHS = True  # use a kind's fast path where it has one; False: the generic jax.grad path for every kind


def make_step_grads(static: StaticConfig):
    """``grads(params, draws, sparsity, importance) -> (grads, losses (instances,))`` for one step.

    The kind's fast path where it has one (``FAST_PATHS``), else ``jax.grad`` of its one-example loss vmapped
    over the batch and the instances (:meth:`tms.engine.kinds.ModelKind.make_step`).
    """
    return get_kind(static.kind).make_step(static, fast=FAST_PATHS)


def compiler_options(static: StaticConfig) -> dict | None:
    """XLA options for a CPU program that trains ``static``'s models: the kind's per-size choice for its fast path
    (:attr:`~tms.engine.kinds.ModelKind.fast_compiler_options`), none on other backends, without fast paths, or
    where this jaxlib rejects them (they name XLA's own settings, which a release may rename). Every compiled
    trainer of the package passes these, so a cell gets the same bits from any of them."""
    kind = get_kind(static.kind)
    if not FAST_PATHS or kind.fast_compiler_options is None or jax.default_backend() != "cpu":
        return None
    options = kind.fast_compiler_options(static)
    return options if options and _accepted(tuple(sorted(options.items()))) else None


@functools.cache
def _accepted(options: tuple) -> bool:
    """Whether XLA compiles a one-line program with ``options`` (a few milliseconds, once per set of options)."""
    try:
        jax.jit(lambda x: x.sum(0), compiler_options=dict(options)).lower(jnp.ones((2, 2))).compile()
    except Exception:  # noqa: BLE001 - XLA raises its runtime error type for an unknown option or value
        return False
    return True


def init_instances(static: StaticConfig, key: jax.Array, n_cells: int):
    """The kind's params with a trailing instance axis (``W: (m, n, instances)``, ``b: (n, instances)`` for the
    tied kinds): restart ``r`` starts from the same draw in every cell; weights (not biases) times
    ``static.init_scale``."""
    n, m, R = static.n_features, static.n_hidden, static.restarts
    kind = get_kind(static.kind)
    p0 = jax.vmap(lambda k: kind.init(k, n, m))(jax.random.split(key, R))  # leaves (R, ...)
    if static.init_scale != 1.0:
        p0 = p0._replace(**{f: static.init_scale * getattr(p0, f) for f in p0._fields if f not in kind.bias_fields})
    return jax.tree.map(lambda a: jnp.moveaxis(jnp.tile(a, (n_cells,) + (1,) * (a.ndim - 1)), 0, -1), p0)


def record_snapshot(static: StaticConfig, snaps, params, step):
    """Write ``params`` into the snapshot slot whose step is ``step`` (no-op when none is)."""
    if not static.n_snapshots:
        return snaps
    hit = jnp.asarray(static.snapshot_steps, jnp.int32) == step
    return jax.tree.map(lambda s, p: jnp.where(hit.reshape((-1,) + (1,) * p.ndim), p[None], s), snaps, params)


def run_steps(static: StaticConfig, step_fn, carry):
    """Scan ``step_fn`` over all steps; returns the final carry and the loss curve ``(n_logs, instances)``.

    The loop tells the process's listener (:mod:`tms.engine.ticks`) its progress about every ``ticks.EVERY``
    steps, between blocks of steps."""
    if not static.log_every:
        carry = ticks.scan(step_fn, carry, static.steps)
        n_inst = jax.tree.leaves(carry[0])[0].shape[-1]
        return carry, jnp.zeros((0, n_inst), jnp.float32)
    k = ticks.every_blocks(static.log_every)

    def block(carry, b):
        steps = b * static.log_every + jnp.arange(static.log_every)
        carry, losses = jax.lax.scan(step_fn, carry, steps)
        if ticks.ENABLED and static.n_logs > k:
            jax.lax.cond((b + 1) % k == 0, lambda: ticks.tell(k * static.log_every), lambda: None)
        return carry, jnp.mean(losses, axis=0)

    return jax.lax.scan(block, carry, jnp.arange(static.n_logs))


def best_restarts(loss: jax.Array, params) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The one best-restart selection (grid and finite-data training): each cell's lowest-loss finite restart.

    ``loss: (C, R)`` per restart; ``params``: a pytree whose leaves have the instances ``C·R`` last (e.g.
    ``W: (m, n, C·R)``, ``b: (n, C·R)``; a cell's restarts adjacent). Returns ``(loss, best, pick)``: the losses
    with every restart of non-finite weights set to NaN ``(C, R)``, the kept restart ``best: (C,)`` and its
    instance index ``pick: (C,)``.

    A restart whose weights are not finite counts as non-finite whatever its loss reads: XLA's CPU reductions
    may drop a NaN (a sum over ReLU(NaN) can come out 0), so a diverged model's loss can look finite.
    """
    C, R = loss.shape
    finite = functools.reduce(jnp.logical_and, [jnp.all(jnp.isfinite(a), axis=tuple(range(a.ndim - 1)))
                                                for a in jax.tree.leaves(params)])  # (C·R,)
    loss = jnp.where(finite.reshape(C, R), loss, jnp.nan)
    best = jnp.argmin(jnp.where(jnp.isfinite(loss), loss, jnp.inf), axis=1)  # (C,)
    return loss, best, jnp.arange(C) * R + best


def select_best(final: jax.Array, params, curve: jax.Array, snaps) -> TrainOutput:
    """Keep each cell's lowest-loss finite restart (:func:`best_restarts`). ``final: (C, R)`` evaluation losses."""
    final, best, pick = best_restarts(final, params)

    def take(a):  # (..., instances) -> (C, ...)
        return jnp.moveaxis(jnp.take(a, pick, axis=-1), -1, 0)

    return TrainOutput(
        params=jax.tree.map(take, params),
        final_loss=jnp.take_along_axis(final, best[:, None], axis=1)[:, 0],
        restart_losses=final,
        best_restart=best,
        loss_curve=take(curve),
        snapshots=jax.tree.map(take, snaps),
    )


def make_train_cells(static: StaticConfig):
    """Return ``train_cells(hparams, key, init=None) -> TrainOutput`` for ``C`` cells that share one key.

    ``init`` (optional): the kind's params with a leading ``(C,)`` axis (``W: (C, m, n)``, ``b: (C, n)``) to start
    each cell from (a warm start, e.g. the solution of a neighbouring cell) instead of the key's random
    initialisation.

    ``hparams`` has a leading cell axis ``(C,)``; the output too. All cells and restarts share the key's
    initialisations (restart ``r`` starts from the same W in every cell) and per-step draws (common random
    numbers); each cell thresholds them at its own sparsity. Internally the ``C · R`` models sit on a
    trailing instance axis (see :mod:`tms.engine.kinds.base`).
    """
    n, R, sets = static.n_features, static.restarts, static.sets
    kind = get_kind(static.kind)
    step_grads = make_step_grads(static)
    eval_loss = kind.make_eval(static, fast=FAST_PATHS)
    no_bias = {} if static.bias else {f: None for f in kind.bias_fields}

    def train_cells(hp: Hparams, key: jax.Array, init=None) -> TrainOutput:
        C = hp.lr.shape[0]
        per_instance = lambda a: jnp.repeat(a, R, axis=0)  # (C, ...) -> (C·R, ...)  # noqa: E731
        sparsity, importance = per_instance(hp.sparsity).T, per_instance(hp.importance).T  # (n, instances)
        init_key, data_key, eval_key = jax.random.split(key, 3)
        if init is None:
            params = init_instances(static, init_key, C)
        else:  # warm start: every restart of cell c starts from init[c]
            params = jax.tree.map(lambda a: jnp.moveaxis(per_instance(a), 0, -1), init)
        opt = make_optimizer(static, per_instance(hp.lr), per_instance(hp.weight_decay))
        snaps = jax.tree.map(lambda p: jnp.zeros((static.n_snapshots,) + p.shape, jnp.float32), params)

        def step_fn(carry, step):
            params, opt_state, snaps = carry
            snaps = record_snapshot(static, snaps, params, step)
            draws = tdata.draw(jax.random.fold_in(data_key, step), static.batch_size, n, sets)
            grads, loss = step_grads(params, draws, sparsity, importance)
            if no_bias:
                grads = grads._replace(**{f: jnp.zeros_like(getattr(grads, f)) for f in no_bias})
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, snaps), loss

        (params, _, snaps), curve = run_steps(static, step_fn, (params, opt.init(params), snaps))
        snaps = record_snapshot(static, snaps, params, static.steps)
        final = eval_loss(params, tdata.draw(eval_key, static.eval_batch, n, sets), sparsity, importance)
        final = final.reshape(C, R)
        return select_best(final, params, curve, snaps)

    return train_cells


def make_train(static: StaticConfig):
    """Return ``train(hparams, key) -> TrainOutput`` for one cell (pure; jit it, or use :mod:`tms.runs.grid`)."""
    cells = make_train_cells(static)

    def train(hp: Hparams, key: jax.Array) -> TrainOutput:
        out = cells(jax.tree.map(lambda a: a[None], hp), key)
        return jax.tree.map(lambda a: a[0], out)

    return train
