"""Settings of a training run: the static (shape-fixing) config, the traced hparams, and their defaults.

Every default of the engine is defined here once (``DEFAULT_LR``, ``DEFAULT_WEIGHT_DECAY`` and the
:class:`StaticConfig` field defaults); the sweep parser, the CLI and ``train_grid`` import them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import TmsError
from ..io import check_int
from . import data as tdata
from .kinds import get_kind
from .optim import OPTIMIZERS, SCHEDULES

DEFAULT_LR = 1e-3  # Anthropic's notebook
DEFAULT_WEIGHT_DECAY = 0.01  # AdamW only; PyTorch's default (optax's is 1e-4)


@dataclass(frozen=True)
class StaticConfig:
    """Shape-fixing settings of a training run (hashable; closed over by the compiled function).

    Defaults follow Anthropic's notebook: batch 1024, 10,000 steps (the lr, ``DEFAULT_LR``, is an
    :class:`Hparams` value, as is the weight decay, ``DEFAULT_WEIGHT_DECAY``).
    ``schedule``: multiplies the lr by 1 (constant), 1 − t/T (linear), ½(1 + cos πt/T) (cosine), or
    ``decay_factor ** (t // decay_every)`` (step), after an optional linear warm-up of ``warmup_steps``.
    ``log_every``: record the mean training loss of every block of that many steps (0: off).
    ``n_snapshots``: record (W, b) at that many log-spaced steps in [0, steps] (0: off).
    ``init_scale``: multiplies the kind's initial weights (its Xavier-normal draws; biases stay zero). 1 is
    Xavier for one model, std sqrt(2 / (m + n)); Anthropic's and ARENA's notebooks call ``xavier_normal_`` on
    the stacked ``(instances, ·, ·)`` tensor, whose fan-in is n·m, a smaller std (:func:`stacked_xavier_scale`).
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
    init_scale: float = 1.0

    def __post_init__(self):
        for name in ("n_features", "n_hidden", "batch_size", "steps", "restarts", "eval_batch",
                     "decay_every"):
            check_int(name, getattr(self, name), 1)
        for name in ("warmup_steps", "log_every", "n_snapshots"):
            check_int(name, getattr(self, name), 0)
        get_kind(self.kind)  # an unknown name: a TmsError naming ``kind`` and the registered kinds
        if self.optimizer not in OPTIMIZERS:
            raise TmsError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise TmsError(f"schedule must be one of {tuple(SCHEDULES)}; got {self.schedule!r}")
        if isinstance(self.init_scale, bool) or not isinstance(self.init_scale, (int, float)) or not (
                np.isfinite(self.init_scale) and self.init_scale > 0):
            raise TmsError(f"init_scale must be a number > 0 (1: Xavier for one model); got {self.init_scale!r}")
        if not (0 < self.decay_factor <= 1):
            raise TmsError(f"decay_factor must lie in (0, 1]; got {self.decay_factor}")
        if self.log_every and self.steps % self.log_every:
            raise TmsError(f"log_every must divide steps ({self.steps}); got {self.log_every}")
        if self.warmup_steps > self.steps:
            raise TmsError(f"warmup_steps must be <= steps ({self.steps}); got {self.warmup_steps}")
        if self.n_snapshots > self.steps + 1:
            raise TmsError(f"n_snapshots must be <= steps + 1 = {self.steps + 1}; got {self.n_snapshots}")
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
        for name, default in ADDED_FIELDS.items():  # left out at their default: older stores still resume
            if d[name] == default:
                del d[name]
        d["correlated"] = [list(s) for s in self.correlated]
        d["anticorrelated"] = [list(s) for s in self.anticorrelated]
        return d

    @staticmethod
    def from_dict(d: dict) -> "StaticConfig":
        d = dict(d)
        d["correlated"] = tuple(tuple(s) for s in d.get("correlated", ()))
        d["anticorrelated"] = tuple(tuple(s) for s in d.get("anticorrelated", ()))
        return StaticConfig(**d)


ADDED_FIELDS = {"init_scale": 1.0}
"""Fields added after sweep stores existed, and their defaults: :meth:`StaticConfig.to_dict` leaves them out at
the default, so a folder written before a field existed still counts as the same sweep on resume."""


def stacked_xavier_scale(n_features: int, n_hidden: int, instances: int) -> tuple[float, float]:
    """``init_scale`` values that give the std of PyTorch's ``xavier_normal_`` on a stacked
    ``(instances, m, n)`` tensor (W or W₁; fan-in n·m, fan-out instances·n) and on ``(instances, n, m)`` (W₂ or
    the notebook's W; fan-out instances·m), relative to one model's Xavier std sqrt(2 / (m + n))."""
    n, m, k = n_features, n_hidden, instances
    return (float(np.sqrt((n + m) / (n * m + k * n))), float(np.sqrt((n + m) / (n * m + k * m))))


class Hparams(NamedTuple):
    """Traced settings of one cell: ``sparsity: (n,)``, ``importance: (n,)``, ``lr: ()``,
    ``weight_decay: ()`` (used by adamw only)."""

    sparsity: jax.Array
    importance: jax.Array
    lr: jax.Array
    weight_decay: jax.Array


def hparams(static: StaticConfig, sparsity=0.0, importance=None, lr=DEFAULT_LR, weight_decay=DEFAULT_WEIGHT_DECAY) -> Hparams:
    """Validated :class:`Hparams` for one cell (sparsity scalar or per feature; importance default 1)."""
    n = static.n_features
    s = tdata.check_sparsity(np.broadcast_to(np.asarray(sparsity, dtype=np.float64), (n,)))
    imp = tdata.check_importance(np.ones(n) if importance is None else importance, n)
    if imp.shape[0] != 1:
        raise TmsError(f"importance for one cell must have shape ({n},); got {np.shape(importance)}")
    check_lr(lr)
    check_weight_decay(weight_decay)
    f = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return Hparams(f(s), f(imp[0]), f(lr), f(weight_decay))


def check_lr(lr) -> np.ndarray:
    a = np.asarray(lr, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise TmsError(f"lr must be > 0 and finite; got {np.ravel(a).tolist()}")
    return a


def check_weight_decay(wd) -> np.ndarray:
    a = np.asarray(wd, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise TmsError(f"weight_decay must be >= 0 and finite; got {np.ravel(a).tolist()}")
    return a
