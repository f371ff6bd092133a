"""Finite-data sweeps (Henighan et al. 2023): training-set size T × hidden size m × seed, resumable on disk.

A finite sweep file is a sweep file whose ``[data]`` table has ``train_sizes`` (see the shipped
``finite_data.toml`` and docs/finite_data.md)::

    [model]  n_features = 1000, n_hidden = [2, 3, 4]            (one value or a list: the m axis)
    [data]   sparsity = 0.99, train_sizes = { log = [3, 10000], num = 14 }, unit_norm = true,
             test_size = 10000, path = "auto"|"dense"|"sparse", max_active = 0
    [train]  steps, warmup_steps, lr, weight_decay, batch_size (0: full batch), restarts, seeds

**Chunks.** Every T of one (m, seed) trains in one compiled call (pad and mask, :mod:`tms.engine.finite`);
different m are different shapes, so each (m, seed) is one chunk, written atomically to
``chunks/NNNNN.npz`` (chunk ``i · K + k`` for the i-th m and k-th seed). A resumed sweep skips finished chunks;
the data of a seed do not depend on m, on the chunk or on the restart, so resumed results equal an
uninterrupted run's.

**Arrays** (grid axes ``(M, K, n_T)`` = hidden size, seed, training-set size; m padded to the largest with
zero rows, which change no norm or dimensionality): ``W: (M, K, n_T, m_max, n)``, ``b: (M, K, n_T, n)``,
``train_loss``, ``test_loss``, ``best_restart: (M, K, n_T)``, ``restart_train_losses: (..., R)``,
``hidden: (M, K, n_T, T_max, m_max)`` (zero for t >= T), ``dropped: (M, K)``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..engine.config import DEFAULT_WEIGHT_DECAY, check_lr, check_weight_decay
from ..engine.finite import FiniteConfig
from ..engine.finite_train import make_finite_train, slots_per_step
from ..errors import TmsError, check_seeds
from .spec import SpecError, _check_keys, spaced

FINITE_KEY = "train_sizes"  # a sweep file whose [data] has this key is a finite-data sweep
FINITE_LR = 1e-3  # the paper's peak lr
FINITE_SCHEMA = {
    "": {"name": (str,), "description": (str,), "model": (dict,), "data": (dict,), "train": (dict,),
         "run": (dict,)},
    "model": {"n_features": (int,), "n_hidden": (int, list)},
    "data": {"sparsity": (int, float), "train_sizes": (list, dict), "unit_norm": (bool,), "test_size": (int,),
             "path": (str,), "max_active": (int,)},
    "train": {"steps": (int,), "warmup_steps": (int,), "lr": (int, float), "weight_decay": (int, float),
              "batch_size": (int,), "restarts": (int,), "seeds": (list,), "n_seeds": (int,)},
    "run": {},
}
ARRAY_NAMES = ("W", "b", "train_loss", "test_loss", "best_restart", "restart_train_losses", "hidden", "dropped")


def is_finite(doc: dict) -> bool:
    return isinstance(doc.get("data"), dict) and FINITE_KEY in doc["data"]


@dataclass(frozen=True)
class FiniteGrid:
    """The axes of a finite sweep: ``hidden_sizes (M,)``, ``train_sizes (n_T,)``, ``seeds (K,)``; lr and
    weight decay are shared by every model."""

    hidden_sizes: tuple[int, ...]
    train_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    lr: float = FINITE_LR
    weight_decay: float = DEFAULT_WEIGHT_DECAY

    @property
    def n_cells(self) -> int:
        return len(self.hidden_sizes) * len(self.train_sizes)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """``(m index, seed index)`` of each chunk, in chunk order."""
        return [(i, k) for i in range(len(self.hidden_sizes)) for k in range(len(self.seeds))]

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @staticmethod
    def from_dict(d: dict) -> FiniteGrid:
        return FiniteGrid(tuple(d["hidden_sizes"]), tuple(d["train_sizes"]), tuple(d["seeds"]), d["lr"],
                          d["weight_decay"])


@dataclass(frozen=True)
class FiniteSpec:
    """A parsed finite sweep: ``static`` (the :class:`FiniteConfig`, at the first m) and ``grid``."""

    name: str
    description: str
    static: FiniteConfig
    grid: FiniteGrid
    source: str = ""
    finite = True

    def config(self, m: int) -> FiniteConfig:
        return dataclasses.replace(self.static, n_hidden=int(m))

    @property
    def n_chunks(self) -> int:
        return len(self.grid.chunks)

    @property
    def chunk_size(self) -> int:
        """Cells per chunk: every T of one hidden size."""
        return len(self.grid.train_sizes)

    def resolved(self) -> dict:
        return {"name": self.name, "finite": self.static.to_dict(), "grid": self.grid.to_dict()}

    def estimate_seconds(self, rate: float = 1e9) -> float:
        """Rough wall time on an idle 2-core CPU: ``rate`` slot-example features per second (from the
        measured ``finite_data`` run, docs/finite_data.md), plus 5 s of compilation per chunk."""
        s, g = self.static, self.grid
        work = len(g.hidden_sizes) * len(g.seeds) * s.steps * slots_per_step(s) * s.n_features
        return work / rate + 5.0 * self.n_chunks

    def quick(self) -> FiniteSpec:
        """A reduced-cost version for smoke tests: 150 steps, 2 hidden sizes, 5 training-set sizes."""
        pick = lambda a, k: tuple(a[j] for j in np.unique(np.round(np.linspace(0, len(a) - 1, k)).astype(int)))
        static = dataclasses.replace(self.static, steps=150, warmup_steps=10, restarts=1,
                                     test_size=min(self.static.test_size, 2048),
                                     train_sizes=pick(self.grid.train_sizes, 5))
        grid = dataclasses.replace(self.grid, hidden_sizes=pick(self.grid.hidden_sizes, 2),
                                   train_sizes=static.train_sizes, seeds=self.grid.seeds[:1])
        return dataclasses.replace(self, static=dataclasses.replace(static, n_hidden=grid.hidden_sizes[0]),
                                   grid=grid)


def train_sizes(value, where: str) -> tuple[int, ...]:
    """Distinct ascending integers: a list written out is taken as it stands (no sorting or rounding: anything
    else is refused with the reason); a spaced range ``{ log = [a, b], num = k }`` is rounded to integers and
    duplicates after rounding are dropped (as its documentation says)."""
    key = f"{where}: data.train_sizes"
    if isinstance(value, list):
        if not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise SpecError(f"{key}: training-set sizes T must be integers (write 3 or 4, not 3.5); got {value!r}")
        if any(b <= a for a, b in zip(value, value[1:])):
            raise SpecError(f"{key}: list the training-set sizes T distinct and in ascending order; got {value!r}")
    t = spaced(value, key)
    if np.any(t < 1):
        raise SpecError(f"{key} (T) must all be >= 1; got {t.tolist()}")
    return tuple(int(v) for v in np.unique(np.round(t).astype(np.int64)))


def parse_finite_spec(doc: dict, where: str = "<spec>", source: str = "") -> FiniteSpec:
    """Validate a finite sweep file; every error names ``where`` and the key."""
    for section in ("", "model", "data", "train", "run"):
        _check_keys(doc if not section else doc.get(section, {}), section, where, FINITE_SCHEMA)
    model, dat, tr = doc.get("model", {}), doc["data"], doc.get("train", {})
    hidden = model.get("n_hidden", 2)
    hidden = tuple(hidden if isinstance(hidden, list) else [hidden])
    if not hidden or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in hidden):
        raise SpecError(f"{where}: model.n_hidden must be an integer >= 1 or a list of them; got {hidden!r}")
    if "seeds" in tr and "n_seeds" in tr:
        raise SpecError(f"{where}: give train.seeds or train.n_seeds, not both")
    try:
        seeds = check_seeds(tr.get("seeds", list(range(tr.get("n_seeds", 1)))), "train.seeds")
    except TmsError as e:
        raise SpecError(f"{where}: {e}") from None
    keys = {"n_features": ("model", "n_features"), "sparsity": ("data", "sparsity"),
            "unit_norm": ("data", "unit_norm"), "test_size": ("data", "test_size"),
            "data_path": ("data", "path"), "max_active": ("data", "max_active"), "steps": ("train", "steps"),
            "warmup_steps": ("train", "warmup_steps"), "batch_size": ("train", "batch_size"),
            "restarts": ("train", "restarts")}
    kwargs = {f: doc.get(t, {})[k] for f, (t, k) in keys.items() if k in doc.get(t, {})}
    try:
        sizes = train_sizes(dat["train_sizes"], where)
        static = FiniteConfig(n_hidden=hidden[0], train_sizes=sizes, **kwargs)
        lr = float(check_lr(tr.get("lr", FINITE_LR)))
        wd = float(check_weight_decay(tr.get("weight_decay", DEFAULT_WEIGHT_DECAY)))
    except SpecError:
        raise
    except ValueError as e:
        raise SpecError(f"{where}: {e}") from None
    grid = FiniteGrid(hidden, sizes, seeds, lr, wd)
    return FiniteSpec(doc.get("name", Path(where).stem), doc.get("description", ""), static, grid, source)


def available_memory() -> int:
    """Physical memory of this machine in bytes (the limit a CPU run's arrays must fit)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


_TRAINERS: dict = {}


def trainer(cfg: FiniteConfig):
    """The jitted ``make_finite_train(cfg)``, cached per config (one compilation per shape)."""
    if cfg not in _TRAINERS:
        _TRAINERS[cfg] = jax.jit(make_finite_train(cfg))
    return _TRAINERS[cfg]


def train_chunk(spec: FiniteSpec, mi: int, ki: int) -> dict:
    """Train every T of hidden size ``grid.hidden_sizes[mi]`` on seed ``grid.seeds[ki]``; numpy arrays."""
    g = spec.grid
    cfg = spec.config(g.hidden_sizes[mi])
    out = trainer(cfg)(jax.random.PRNGKey(g.seeds[ki]), jnp.float32(g.lr), jnp.float32(g.weight_decay),
                       jnp.ones(cfg.n_features, jnp.float32))
    out = jax.device_get(out)
    return {"W": out.params.W, "b": out.params.b, "train_loss": out.train_loss, "test_loss": out.test_loss,
            "best_restart": out.best_restart, "restart_train_losses": out.restart_train_losses,
            "hidden": out.hidden, "dropped": out.dropped}
