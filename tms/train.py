"""Training one cell: ``make_train(static) -> train(hparams, key)``.

Everything that fixes array shapes (n, m, batch, steps, restarts, recording) lives in the frozen
:class:`StaticConfig` and is closed over; what a sweep varies (sparsity, importance, lr, weight decay) is the
traced :class:`Hparams`, so one compilation serves every value (see :mod:`tms.grid` for the vmapped grid).

Within a cell, ``R`` restarts (different initialisations, the same data) are trained side by side and the
one with the lowest loss on a fixed evaluation batch is kept (the paper fits each model several times and
keeps the lowest loss). A non-finite loss never wins; if every restart diverged the cell is flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import data as tdata
from .models import MODEL_KINDS, UNROLL_LIMIT, Params, init_params, instance_loss, single_loss

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine", "step")


@dataclass(frozen=True)
class StaticConfig:
    """Shape-fixing settings of a training run (hashable; closed over by the compiled function).

    Defaults follow Anthropic's notebook: batch 1024, 10,000 steps (lr 1e-3 is an :class:`Hparams` value).
    ``weight_decay`` defaults (in :func:`hparams`) to 0.01, PyTorch's AdamW default (optax's is 1e-4).
    ``schedule``: multiplies the lr by 1 (constant), 1 − t/T (linear), ½(1 + cos πt/T) (cosine), or
    ``decay_factor ** (t // decay_every)`` (step), after an optional linear warm-up of ``warmup_steps``.
    ``log_every``: record the mean training loss of every block of that many steps (0: off).
    ``n_snapshots``: record (W, b) at that many log-spaced steps in [0, steps] (0: off).
    """

    n_features: int = 5
    n_hidden: int = 2
    kind: str = "relu"
    bias: bool = True
    batch_size: int = 1024
    steps: int = 10_000
    optimizer: str = "adam"
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_every: int = 1000
    decay_factor: float = 0.5
    restarts: int = 1
    eval_batch: int = 8192
    log_every: int = 0
    n_snapshots: int = 0
    correlated: tuple[tuple[int, ...], ...] = ()
    anticorrelated: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self):
        def positive(name, allow_zero=False):
            v = getattr(self, name)
            lo = 0 if allow_zero else 1
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}; got {v!r}")

        for name in ("n_features", "n_hidden", "batch_size", "steps", "restarts", "eval_batch",
                     "decay_every"):
            positive(name)
        for name in ("warmup_steps", "log_every", "n_snapshots"):
            positive(name, allow_zero=True)
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}; got {self.kind!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {self.schedule!r}")
        if not (0 < self.decay_factor <= 1):
            raise ValueError(f"decay_factor must lie in (0, 1]; got {self.decay_factor}")
        if self.log_every and self.steps % self.log_every:
            raise ValueError(f"log_every must divide steps ({self.steps}); got {self.log_every}")
        if self.n_snapshots > self.steps + 1:
            raise ValueError(f"n_snapshots must be <= steps + 1 = {self.steps + 1}; got {self.n_snapshots}")
        sets = tdata.FeatureSets.make(self.n_features, self.correlated, self.anticorrelated)
        object.__setattr__(self, "correlated", sets.correlated)
        object.__setattr__(self, "anticorrelated", sets.anticorrelated)

    @property
    def sets(self) -> tdata.FeatureSets:
        return tdata.FeatureSets(self.correlated, self.anticorrelated)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every if self.log_every else 0

    @property
    def log_steps(self) -> np.ndarray:
        """Step at the end of each recorded block: ``(n_logs,)``."""
        return np.arange(1, self.n_logs + 1) * self.log_every

    @property
    def snapshot_steps(self) -> np.ndarray:
        """Log-spaced distinct steps in [0, steps] (0 is the initialisation): ``(n_snapshots,)``."""
        if not self.n_snapshots:
            return np.zeros(0, dtype=np.int64)
        k = self.n_snapshots
        # Grow the log-spaced grid until it has k distinct integers (small steps collide after rounding).
        for total in range(k, 100 * k):
            s = np.unique(np.round(np.geomspace(1, self.steps + 1, total) - 1).astype(np.int64))
            if len(s) >= k:
                break
        idx = np.round(np.linspace(0, len(s) - 1, k)).astype(np.int64)
        return s[idx]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["correlated"] = [list(s) for s in self.correlated]
        d["anticorrelated"] = [list(s) for s in self.anticorrelated]
        return d

    @staticmethod
    def from_dict(d: dict) -> "StaticConfig":
        d = dict(d)
        d["correlated"] = tuple(tuple(s) for s in d.get("correlated", ()))
        d["anticorrelated"] = tuple(tuple(s) for s in d.get("anticorrelated", ()))
        return StaticConfig(**d)


class Hparams(NamedTuple):
    """Traced settings of one cell: ``sparsity: (n,)``, ``importance: (n,)``, ``lr: ()``,
    ``weight_decay: ()`` (used by adamw only)."""

    sparsity: jax.Array
    importance: jax.Array
    lr: jax.Array
    weight_decay: jax.Array


def hparams(static: StaticConfig, sparsity=0.0, importance=None, lr=1e-3, weight_decay=0.01) -> Hparams:
    """Validated :class:`Hparams` for one cell (sparsity scalar or per feature; importance default 1)."""
    n = static.n_features
    s = tdata.check_sparsity(np.broadcast_to(np.asarray(sparsity, dtype=np.float64), (n,)))
    imp = tdata.check_importance(np.ones(n) if importance is None else importance, n)
    if imp.shape[0] != 1:
        raise ValueError(f"importance for one cell must have shape ({n},); got {np.shape(importance)}")
    check_lr(lr)
    check_weight_decay(weight_decay)
    f = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return Hparams(f(s), f(imp[0]), f(lr), f(weight_decay))


def check_lr(lr) -> np.ndarray:
    a = np.asarray(lr, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"lr must be > 0 and finite; got {np.ravel(a).tolist()}")
    return a


def check_weight_decay(wd) -> np.ndarray:
    a = np.asarray(wd, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"weight_decay must be >= 0 and finite; got {np.ravel(a).tolist()}")
    return a


class TrainOutput(NamedTuple):
    """What ``train`` returns for one cell (the best restart unless noted).

    ``params``: best :class:`Params`; ``final_loss: ()`` its loss on the evaluation batch;
    ``restart_losses: (R,)`` every restart's evaluation loss; ``best_restart: ()``;
    ``loss_curve: (n_logs,)`` mean training loss per block; ``snapshots``: Params with a leading
    ``(n_snapshots,)`` axis.
    """

    params: Params
    final_loss: jax.Array
    restart_losses: jax.Array
    best_restart: jax.Array
    loss_curve: jax.Array
    snapshots: Params


def lr_factor(static: StaticConfig, step: jax.Array) -> jax.Array:
    """Schedule multiplier at ``step`` (0-based)."""
    t = step.astype(jnp.float32)
    T = float(static.steps)
    if static.schedule == "constant":
        f = jnp.ones_like(t)
    elif static.schedule == "linear":
        f = 1.0 - t / T
    elif static.schedule == "cosine":
        f = 0.5 * (1.0 + jnp.cos(jnp.pi * t / T))
    else:  # step decay
        f = static.decay_factor ** jnp.floor(t / static.decay_every)
    if static.warmup_steps:
        f = f * jnp.minimum(1.0, (t + 1.0) / static.warmup_steps)
    return f


def _per_instance(a: jax.Array, leaf: jax.Array) -> jax.Array:
    """Reshape a per-instance vector ``(I,)`` to broadcast against a leaf ``(..., I)``."""
    return a.reshape((1,) * (leaf.ndim - 1) + (-1,))


def make_optimizer(static: StaticConfig, lr: jax.Array, weight_decay: jax.Array) -> optax.GradientTransformation:
    """Adam / AdamW / SGD with the schedule; ``lr`` and ``weight_decay`` are per instance, ``(I,)``.

    AdamW's decay is decoupled and multiplied by the lr, as in PyTorch and optax.
    """

    def scale_and_decay(updates, state, params):
        count = state
        f = lr_factor(static, count)
        def leaf(u, p):
            if static.optimizer == "adamw":
                u = u + _per_instance(weight_decay, p) * p
            return -f * _per_instance(lr, u) * u
        return jax.tree.map(leaf, updates, params), count + 1

    tail = optax.GradientTransformation(lambda params: jnp.zeros((), jnp.int32), scale_and_decay)
    if static.optimizer in ("adam", "adamw"):
        return optax.chain(optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8), tail)
    return tail


def make_train_cells(static: StaticConfig):
    """Return ``train_cells(hparams, key) -> TrainOutput`` for ``C`` cells that share one key.

    ``hparams`` has a leading cell axis ``(C,)``; the output too. All cells and restarts share the key's
    initialisations (restart ``r`` starts from the same W in every cell) and per-step draws (common random
    numbers); each cell thresholds them at its own sparsity. Internally the ``C · R`` models sit on a
    trailing instance axis (see :func:`tms.models.instance_loss`).
    """
    n, m, R = static.n_features, static.n_hidden, static.restarts
    sets = static.sets
    snap_steps = jnp.asarray(static.snapshot_steps, jnp.int32)
    n_snap = len(static.snapshot_steps)

    def losses(params, X, importance):
        return instance_loss(params.W, params.b, X, importance, static.kind)

    def total_loss(params, X, importance):
        per = losses(params, X, importance)
        return jnp.sum(per), per

    grad_fn = jax.grad(total_loss, has_aux=True)
    single_grad = jax.value_and_grad(lambda W, b, X, imp: single_loss(W, b, X, imp, static.kind), argnums=(0, 1))
    unrolled = n * m <= UNROLL_LIMIT

    def step_grads(params, draws, sparsity, importance):
        """Per-instance gradients and losses ``(I,)`` for one step's shared draws."""
        if unrolled:
            return grad_fn(params, tdata.features(draws, sparsity, sets), importance)

        def one(args):  # one instance at a time: dense matmuls (see models.single_loss)
            W, b, s, imp = args
            X = tdata.features(draws, s[:, None], sets)[:, :, 0]
            return single_grad(W, b, X, imp)

        loss, (gW, gb) = jax.lax.map(one, (jnp.moveaxis(params.W, -1, 0), params.b.T, sparsity.T, importance.T))
        return Params(W=jnp.moveaxis(gW, 0, -1), b=gb.T), loss

    def train_cells(hp: Hparams, key: jax.Array) -> TrainOutput:
        C = hp.lr.shape[0]
        I = C * R
        inst = lambda a: jnp.repeat(a, R, axis=0)  # (C, ...) -> (C·R, ...), instance = c·R + r  # noqa: E731
        sparsity, importance = inst(hp.sparsity).T, inst(hp.importance).T  # (n, I)
        init_key, data_key, eval_key = jax.random.split(key, 3)
        p0 = jax.vmap(lambda k: init_params(k, n, m))(jax.random.split(init_key, R))  # (R, m, n), (R, n)
        params = Params(W=jnp.transpose(jnp.tile(p0.W, (C, 1, 1)), (1, 2, 0)),  # (m, n, I)
                        b=jnp.tile(p0.b, (C, 1)).T)  # (n, I)
        opt = make_optimizer(static, inst(hp.lr), inst(hp.weight_decay))
        opt_state = opt.init(params)
        snaps = Params(W=jnp.zeros((n_snap, m, n, I), jnp.float32), b=jnp.zeros((n_snap, n, I), jnp.float32))

        def record(snaps, params, step):
            if not n_snap:
                return snaps
            hit = snap_steps == step
            return jax.tree.map(lambda s, p: jnp.where(hit.reshape((-1,) + (1,) * p.ndim), p[None], s),
                                snaps, params)

        def step_fn(carry, step):
            params, opt_state, snaps = carry
            snaps = record(snaps, params, step)
            d = tdata.draw(jax.random.fold_in(data_key, step), static.batch_size, n, sets)
            grads, loss = step_grads(params, d, sparsity, importance)
            if not static.bias:
                grads = grads._replace(b=jnp.zeros_like(grads.b))
            updates, opt_state = opt.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state, snaps), loss

        carry = (params, opt_state, snaps)
        if static.log_every:
            def block(carry, b):
                steps = b * static.log_every + jnp.arange(static.log_every)
                carry, ls = jax.lax.scan(step_fn, carry, steps)
                return carry, jnp.mean(ls, axis=0)

            carry, curve = jax.lax.scan(block, carry, jnp.arange(static.n_logs))  # (n_logs, I)
        else:
            carry, _ = jax.lax.scan(lambda c, s: (step_fn(c, s)[0], None), carry, jnp.arange(static.steps))
            curve = jnp.zeros((0, I), jnp.float32)
        params, _, snaps = carry
        snaps = record(snaps, params, static.steps)

        X_eval = tdata.features(tdata.draw(eval_key, static.eval_batch, n, sets), sparsity, sets)
        final = losses(params, X_eval, importance).reshape(C, R)
        best = jnp.argmin(jnp.where(jnp.isfinite(final), final, jnp.inf), axis=1)  # (C,)
        pick = jnp.arange(C) * R + best  # instance index of each cell's best restart

        def take(a):  # (..., I) -> (C, ...)
            return jnp.moveaxis(jnp.take(a, pick, axis=-1), -1, 0)

        return TrainOutput(
            params=Params(W=take(params.W), b=take(params.b)),
            final_loss=jnp.take_along_axis(final, best[:, None], axis=1)[:, 0],
            restart_losses=final,
            best_restart=best,
            loss_curve=take(curve),
            snapshots=Params(W=take(snaps.W), b=take(snaps.b)),
        )

    return train_cells


def make_train(static: StaticConfig):
    """Return ``train(hparams, key) -> TrainOutput`` for one cell (pure; jit it, or use :mod:`tms.grid`)."""
    cells = make_train_cells(static)

    def train(hp: Hparams, key: jax.Array) -> TrainOutput:
        out = cells(jax.tree.map(lambda a: a[None], hp), key)
        return jax.tree.map(lambda a: a[0], out)

    return train
