"""The finite-data sweep kind (``kind = "finite"``; Henighan et al. 2023): training-set size T × hidden size m
× seed.

A finite sweep file says ``kind = "finite"`` (older files: a ``[data]`` table with ``train_sizes``; see the
shipped ``finite_data.toml`` and docs/finite_data.md); each table is one section dataclass below::

    [model]  n_features = 1000, n_hidden = [2, 3, 4]            (one value or a list: the m axis)
    [data]   sparsity = 0.99, train_sizes = { log = [3, 10000], num = 14 }, unit_norm = true,
             test_size = 10000, path = "auto"|"dense"|"sparse", max_active = 0
    [train]  steps, warmup_steps, lr, weight_decay, batch_size (0: full batch), restarts, seeds

**Chunks.** Every T of one (m, seed) trains in one compiled call (pad and mask, :mod:`tms.engine.finite`);
different m are different shapes, so each (m, seed) is one chunk (chunk ``i · K + k`` for the i-th m and k-th
seed). The data of a seed do not depend on m, on the chunk or on the restart, so a chunk trains the same in
any process (local or a Ray worker), and resumed results equal an uninterrupted run's.

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
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ...engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, check_lr, check_weight_decay
from ...engine.finite import FiniteConfig
from ...engine.finite_train import finite_train_in_parts, parts, slots_per_step
from ...io import check_int
from ..results import ArrayFields
from ..sections import SpecError, Values, given, parse_section, seeds, spaced
from .registry import SweepKind, register_sweep_kind

FINITE_KEY = "train_sizes"  # a sweep file without `kind` whose [data] has this key is a finite-data sweep
ARRAY_NAMES = ("W", "b", "train_loss", "test_loss", "best_restart", "restart_train_losses", "hidden", "dropped")
AXES = ("n_hidden", "seed", "train_size")


@dataclass(frozen=True)
class FiniteTop:
    name: str | None = None
    description: str = ""
    kind: str | None = None
    model: dict | None = None
    data: dict | None = None
    train: dict | None = None
    run: dict | None = None


@dataclass(frozen=True)
class FiniteModel:
    n_features: int | None = None
    n_hidden: int | list | None = None


@dataclass(frozen=True)
class FiniteData:
    sparsity: float | None = None
    train_sizes: Values | None = None
    unit_norm: bool | None = None
    test_size: int | None = None
    path: str | None = None
    max_active: int | None = None


@dataclass(frozen=True)
class FiniteTrain:
    steps: int | None = None
    warmup_steps: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    restarts: int | None = None
    seeds: list | None = None
    n_seeds: int | None = None


@dataclass(frozen=True)
class FiniteRun:
    pass


SECTIONS = {"model": FiniteModel, "data": FiniteData, "train": FiniteTrain, "run": FiniteRun}
RENAMED = {"path": "data_path"}  # sweep-file key -> FiniteConfig field, where they differ


def is_finite(doc: dict) -> bool:
    return isinstance(doc.get("data"), dict) and FINITE_KEY in doc["data"]


@dataclass(frozen=True)
class FiniteGrid:
    """The axes of a finite sweep: ``hidden_sizes (M,)``, ``train_sizes (n_T,)``, ``seeds (K,)``; lr and
    weight decay are shared by every model."""

    hidden_sizes: tuple[int, ...]
    train_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    lr: float = DEFAULT_LR
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
    kind: ClassVar[str] = "finite"

    def config(self, m: int) -> FiniteConfig:
        return dataclasses.replace(self.static, n_hidden=int(m))

    @property
    def n_chunks(self) -> int:
        return len(self.grid.chunks)

    @property
    def chunk_size(self) -> int:
        """Cells per chunk: every T of one hidden size."""
        return len(self.grid.train_sizes)

    def cells(self, chunk) -> int:
        return self.chunk_size

    @property
    def work_per_cell(self) -> int:
        s = self.static
        return s.restarts * s.steps * s.batch

    @property
    def loop_steps(self) -> int:
        """Training steps one chunk's calls run (one loop per part of its T, :func:`parts`), for progress ticks."""
        return self.static.steps * len(parts(self.static))

    def summary(self) -> str:
        s, g = self.static, self.grid
        return (f"{len(g.hidden_sizes)} hidden size(s) x {len(g.train_sizes)} training-set size(s) x "
                f"{len(g.seeds)} seed(s) x {s.restarts} restart(s), {s.steps} steps, batch {s.batch_size or 'full'}; "
                f"{self.n_chunks} chunk(s) of {self.chunk_size} cells")

    def resolved(self) -> dict:
        return {"name": self.name, "finite": self.static.to_dict(), "grid": self.grid.to_dict()}

    def estimate_seconds(self, rate: float = 3e8) -> float:
        """Rough wall time on an idle 2-core CPU: ``rate`` slot-example features per second, plus 5 s of
        compilation per chunk. Measured on the 2-core AVX2 machine of docs/performance.md: ``finite_data_full``
        909 s (3.0e8 per s), ``finite_data`` 187 s (3.1e8), ``finite_data_minibatch`` 164 s (2.5e8)."""
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
    top = parse_section(FiniteTop, doc, "", where)
    sections = {name: parse_section(cls, getattr(top, name) or {}, name, where) for name, cls in SECTIONS.items()}
    model, dat, tr = sections["model"], sections["data"], sections["train"]
    if dat.train_sizes is None:
        raise SpecError(f"{where}: data.train_sizes is required in a finite-data sweep (the T axis)")
    hidden = 2 if model.n_hidden is None else model.n_hidden
    hidden = tuple(hidden if isinstance(hidden, list) else [hidden])
    if not hidden:
        raise SpecError(f"{where}: model.n_hidden must be an integer >= 1 or a list of them; got []")
    for m in hidden:
        check_int(f"{where}: model.n_hidden (each)", m, 1, error=SpecError)
    sds = seeds(tr, where)
    kwargs = {RENAMED.get(k, k): v for section in (model, dat, tr) for k, v in given(section).items()
              if RENAMED.get(k, k) in {f.name for f in dataclasses.fields(FiniteConfig)}}
    kwargs.pop("n_hidden", None)
    try:
        sizes = train_sizes(dat.train_sizes, where)
        kwargs["train_sizes"] = sizes
        static = FiniteConfig(n_hidden=hidden[0], **kwargs)
        lr = float(check_lr(DEFAULT_LR if tr.lr is None else tr.lr))
        wd = float(check_weight_decay(DEFAULT_WEIGHT_DECAY if tr.weight_decay is None else tr.weight_decay))
    except SpecError:
        raise
    except ValueError as e:
        raise SpecError(f"{where}: {e}") from None
    grid = FiniteGrid(hidden, sizes, sds, lr, wd)
    return FiniteSpec(top.name or Path(where).stem, top.description, static, grid, source)


def available_memory() -> int:
    """Physical memory of this machine in bytes (the limit a CPU run's arrays must fit)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


_TRAINERS: dict = {}


def trainer(cfg: FiniteConfig):
    """``finite_train_in_parts(cfg)`` (``make_finite_train(cfg)``'s training, one compiled loop per part), cached
    per config (its programs compiled once per config, however many chunks use it)."""
    if cfg not in _TRAINERS:
        _TRAINERS[cfg] = finite_train_in_parts(cfg)
    return _TRAINERS[cfg]


def finite_chunks(spec: FiniteSpec, devices: int = 1) -> list[tuple[int, int]]:
    if devices != 1:
        raise SpecError(f"{spec.name}: a finite-data sweep trains each chunk on one device; got devices={devices}")
    return spec.grid.chunks


def train_finite_chunk(spec: FiniteSpec, chunk: tuple[int, int], devices: int = 1) -> dict:
    """Train every T of hidden size ``grid.hidden_sizes[mi]`` on seed ``grid.seeds[ki]``; numpy arrays."""
    mi, ki = chunk
    g = spec.grid
    cfg = spec.config(g.hidden_sizes[mi])
    out = trainer(cfg)(jax.random.PRNGKey(g.seeds[ki]), jnp.float32(g.lr), jnp.float32(g.weight_decay),
                       jnp.ones(cfg.n_features, jnp.float32))
    out = jax.device_get(out)
    return {"W": out.params.W, "b": out.params.b, "train_loss": out.train_loss, "test_loss": out.test_loss,
            "best_restart": out.best_restart, "restart_train_losses": out.restart_train_losses,
            "hidden": out.hidden, "dropped": out.dropped}


def merge_finite_chunks(spec: FiniteSpec, parts: list[dict]) -> dict:
    """Chunk arrays -> grid arrays ``(M, K, ...)``, m padded to the largest with zero rows."""
    g = spec.grid
    M, K, m_max = len(g.hidden_sizes), len(g.seeds), max(g.hidden_sizes)
    pad_axis = {"W": -2, "hidden": -1}
    merged = {}
    for name in ARRAY_NAMES:
        rows = []
        for a in parts:
            x = np.asarray(a[name])
            if name in pad_axis:
                width = [(0, 0)] * x.ndim
                width[pad_axis[name]] = (0, m_max - x.shape[pad_axis[name]])
                x = np.pad(x, width)
            rows.append(x)
        merged[name] = np.stack(rows).reshape((M, K) + rows[0].shape)
    return merged


def check_memory(spec: FiniteSpec, memory: int | None = None) -> None:
    """Each hidden size's run checked against ``memory`` bytes (default: this machine's physical memory),
    before anything compiles: :class:`~tms.engine.finite.DataTooLargeError` if it would not fit."""
    limit = available_memory() if memory is None else memory
    for m in spec.grid.hidden_sizes:
        spec.config(m).check_memory(limit)


@dataclass(frozen=True)
class FiniteResults(ArrayFields):
    """Merged arrays of a finite sweep (leading axes ``(M, K, n_T)``), its config and grid."""

    static: FiniteConfig
    grid: FiniteGrid
    arrays: dict
    kind: ClassVar[str] = "finite"

    def to_frame(self) -> pd.DataFrame:
        """One row per (m, seed, T): losses, the kept restart."""
        g = self.grid
        M, K, N = len(g.hidden_sizes), len(g.seeds), len(g.train_sizes)
        i, k, j = (a.ravel() for a in np.meshgrid(np.arange(M), np.arange(K), np.arange(N), indexing="ij"))
        return pd.DataFrame({
            "n_hidden": np.asarray(g.hidden_sizes)[i], "seed": np.asarray(g.seeds)[k],
            "train_size": np.asarray(g.train_sizes)[j], "train_loss": self.arrays["train_loss"].reshape(-1),
            "test_loss": self.arrays["test_loss"].reshape(-1), "best_restart": self.arrays["best_restart"].reshape(-1),
        })

    def summary_lines(self) -> list[str]:
        """One line per (m, T), seeds pooled: mean train and test loss, and how many seeds diverged (train loss
        non-finite or above n, the most the all-zero model can lose with importance 1: as for the grid)."""
        df = self.to_frame()
        df["diverged"] = ~(df["train_loss"] <= self.static.n_features)
        df = df.groupby(["n_hidden", "train_size"], sort=False).agg(
            train_loss=("train_loss", "mean"), test_loss=("test_loss", "mean"), diverged=("diverged", "sum"))
        return [f"m={m}, T={t}: train loss {r.train_loss:.5g}, test loss {r.test_loss:.5g}"
                + (f", {int(r.diverged)} DIVERGED" if r.diverged else "") for (m, t), r in df.iterrows()]

    def table_text(self) -> str:
        return "\n".join(self.summary_lines())

    def describe(self) -> str:
        s = self.static
        return (f"finite data, n={s.n_features}, S={s.sparsity}, {s.steps} steps, batch {s.batch or 'full'}, "
                f"{s.restarts} restart(s)")

    def config(self) -> dict:
        return {"kind": self.kind, "finite": self.static.to_dict(), "grid": self.grid.to_dict()}

    @staticmethod
    def load(folder) -> FiniteResults:
        """Read a finite sweep's folder, checked as :meth:`ArrayFields.read_folder` does, shapes included."""
        cfg, arrays = ArrayFields.read_folder(folder, ARRAY_NAMES)
        res = ArrayFields.from_config(folder, lambda: FiniteResults(FiniteConfig.from_dict(cfg["finite"]),
                                                                    FiniteGrid.from_dict(cfg["grid"]), arrays))
        g = res.grid
        lead = (len(g.hidden_sizes), len(g.seeds), len(g.train_sizes))
        res.check_shapes(folder, {name: lead for name in ("train_loss", "test_loss", "best_restart")}
                         | {"W": (*lead, max(g.hidden_sizes), res.static.n_features),
                            "b": (*lead, res.static.n_features)})
        return res


FINITE = register_sweep_kind(SweepKind(
    name="finite", axes=AXES, parse=parse_finite_spec, chunks=finite_chunks, train_chunk=train_finite_chunk,
    merge=merge_finite_chunks, results=lambda spec, arrays: FiniteResults(spec.static, spec.grid, arrays),
    load=FiniteResults.load, recognises=is_finite, preflight=check_memory,
    compilations=lambda: sum(fn._cache_size() for fn in _TRAINERS.values())))
