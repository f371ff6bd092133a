"""Training one cell: ``make_train(static) -> train(hparams, key)``.

Everything that fixes array shapes (n, m, batch, steps, restarts, recording) lives in the frozen
:class:`StaticConfig` and is closed over; what a sweep varies (sparsity, importance, lr, weight decay) is the
traced :class:`Hparams`, so one compilation serves every value (see :mod:`tms.grid` for the vmapped grid).

Within a cell, ``R`` restarts (different initialisations, the same data) are trained side by side and the
one with the lowest loss on a fixed evaluation batch is kept (the paper fits each model several times and
keeps the lowest loss). A non-finite loss never wins; if every restart diverged the cell is flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import data as tdata
from .models import MODEL_KINDS, Params, batch_loss, init_params

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


def make_optimizer(static: StaticConfig, lr: jax.Array, weight_decay: jax.Array) -> optax.GradientTransformation:
    """Adam / AdamW (decoupled decay, multiplied by the lr as in PyTorch and optax) / SGD, with the schedule."""
    parts = []
    if static.optimizer in ("adam", "adamw"):
        parts.append(optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8))
    if static.optimizer == "adamw":
        parts.append(optax.add_decayed_weights(weight_decay))
    parts.append(optax.scale_by_schedule(lambda step: -lr * lr_factor(static, step)))
    return optax.chain(*parts)


def make_train(static: StaticConfig):
    """Return ``train(hparams, key) -> TrainOutput`` for one cell (pure; jit/vmap it)."""
    n, m, R = static.n_features, static.n_hidden, static.restarts
    sets = static.sets
    snap_steps = jnp.asarray(static.snapshot_steps, jnp.int32)

    def loss_fn(params, X, importance):
        return batch_loss(params, X, importance, static.kind)

    grad_fn = jax.vmap(jax.value_and_grad(loss_fn), in_axes=(0, None, None))  # over restarts

    def train(hp: Hparams, key: jax.Array) -> TrainOutput:
        init_key, data_key, eval_key = jax.random.split(key, 3)
        params = jax.vmap(lambda k: init_params(k, n, m))(jax.random.split(init_key, R))
        opt = make_optimizer(static, hp.lr, hp.weight_decay)
        opt_state = jax.vmap(opt.init)(params)
        snaps = jax.tree.map(lambda a: jnp.zeros((R, len(static.snapshot_steps)) + a.shape[1:], a.dtype), params)

        def record(snaps, params, step):
            if not static.n_snapshots:
                return snaps
            hit = snap_steps == step
            return jax.tree.map(
                lambda s, p: jnp.where(hit.reshape((1, -1) + (1,) * (p.ndim - 1)), p[:, None], s), snaps, params)

        def step_fn(carry, step):
            params, opt_state, snaps = carry
            snaps = record(snaps, params, step)
            X = tdata.sample(jax.random.fold_in(data_key, step), static.batch_size, hp.sparsity, sets)
            loss, grads = grad_fn(params, X, hp.importance)
            if not static.bias:
                grads = grads._replace(b=jnp.zeros_like(grads.b))
            updates, opt_state = jax.vmap(opt.update)(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state, snaps), loss

        carry = (params, opt_state, snaps)
        if static.log_every:
            def block(carry, b):
                steps = b * static.log_every + jnp.arange(static.log_every)
                carry, losses = jax.lax.scan(step_fn, carry, steps)
                return carry, jnp.mean(losses, axis=0)

            carry, curve = jax.lax.scan(block, carry, jnp.arange(static.n_logs))  # (n_logs, R)
        else:
            carry, _ = jax.lax.scan(lambda c, s: (step_fn(c, s)[0], None), carry, jnp.arange(static.steps))
            curve = jnp.zeros((0, R), jnp.float32)
        params, _, snaps = carry
        snaps = record(snaps, params, static.steps)

        X_eval = tdata.sample(eval_key, static.eval_batch, hp.sparsity, sets)
        losses = jax.vmap(loss_fn, in_axes=(0, None, None))(params, X_eval, hp.importance)
        best = jnp.argmin(jnp.where(jnp.isfinite(losses), losses, jnp.inf))
        pick = lambda a: a[best]  # noqa: E731
        return TrainOutput(
            params=jax.tree.map(pick, params),
            final_loss=losses[best],
            restart_losses=losses,
            best_restart=best,
            loss_curve=curve[:, best],
            snapshots=jax.tree.map(pick, snaps),
        )

    return train
