"""The grid sweep kind (``kind = "grid"``): sparsity × importance × lr × seed, one model shape.

A grid sweep file has the tables ``[model]``, ``[data]``, ``[train]``, ``[record]`` and ``[run]`` (see the
shipped sweeps in ``tms/experiments/sweeps/`` and docs/sweeps.md); each is one section dataclass below. A key
that sets a :class:`~tms.engine.config.StaticConfig` field has the field's name (``record.snapshots`` sets
``n_snapshots``); left out, it takes the field's default, so defaults live only in the engine's config.

**Chunks**: runs of ``chunk_size`` flat cells (the last one padded to the same shape, so one compilation
serves them all); every seed of a cell trains in its chunk (:func:`tms.runs.grid.run_chunk`). **Merged
arrays** have the grid axes ``(S, I, L, K)`` in front (:mod:`tms.runs.results`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np

from ...engine import data as tdata
from ...engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, StaticConfig
from ..grid import AXES, Grid, check_storable, chunks, grid_compilations, make_grid_fn, run_chunk, seed_keys
from ..results import Results
from ..sections import SpecError, Values, given, parse_section, seeds, spaced
from .registry import SweepKind, register_sweep_kind

IMPORTANCE_KINDS = (*tdata.IMPORTANCE_KINDS, tdata.IMPORTANCE_VALUES)


@dataclass(frozen=True)
class GridTop:
    name: str | None = None
    description: str = ""
    kind: str | None = None
    model: dict | None = None
    data: dict | None = None
    train: dict | None = None
    record: dict | None = None
    run: dict | None = None


@dataclass(frozen=True)
class GridModel:
    n_features: int | None = None
    n_hidden: int | None = None
    kind: str | None = None
    bias: bool | None = None
    init_scale: float | None = None


@dataclass(frozen=True)
class GridData:
    sparsity: Values | None = None
    density: Values | None = None
    importance: dict | None = None
    perturb: dict | None = None
    correlated: list | None = None
    anticorrelated: list | None = None


@dataclass(frozen=True)
class GridTrain:
    steps: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    schedule: str | None = None
    warmup_steps: int | None = None
    decay_every: int | None = None
    decay_factor: float | None = None
    restarts: int | None = None
    eval_batch: int | None = None
    lr: Values | None = None
    weight_decay: float | None = None
    seeds: list | None = None
    n_seeds: int | None = None


@dataclass(frozen=True)
class GridRecord:
    log_every: int | None = None
    snapshots: int | None = None


@dataclass(frozen=True)
class GridRun:
    chunk_size: int | None = None


SECTIONS = {"model": GridModel, "data": GridData, "train": GridTrain, "record": GridRecord, "run": GridRun}
RENAMED = {"snapshots": "n_snapshots"}  # sweep-file key -> StaticConfig field, where they differ


class GridChunk(NamedTuple):
    """Flat cell indices ``index`` into (S, I, L), trained padded to ``size`` cells."""

    index: np.ndarray
    size: int


@dataclass(frozen=True)
class SweepSpec:
    """A parsed grid sweep: the engine's :class:`StaticConfig`, the :class:`~tms.runs.grid.Grid` of values and
    the cells per chunk."""

    name: str
    description: str
    static: StaticConfig
    grid: Grid
    chunk_size: int
    source: str = ""
    kind: ClassVar[str] = "grid"

    def resolved(self) -> dict:
        return {"name": self.name, "static": self.static.to_dict(), "grid": self.grid.to_dict(),
                "chunk_size": self.chunk_size}

    @property
    def n_chunks(self) -> int:
        return len(chunks(self.grid.n_cells, self.chunk_size))

    def cells(self, chunk: GridChunk) -> int:
        return len(chunk.index)

    @property
    def work_per_cell(self) -> int:
        s = self.static
        return len(self.grid.seeds) * s.restarts * s.steps * s.batch_size

    @property
    def loop_steps(self) -> int:
        """Training steps one chunk's compiled call runs (its seeds one after another), for progress ticks."""
        return len(self.grid.seeds) * self.static.steps

    def estimate_seconds(self) -> float:
        """Rough wall time on a 2-core CPU, from model-sample rates measured there (docs/performance.md)."""
        from ...engine.models import UNROLL_LIMIT

        s = self.static
        nm = s.n_features * s.n_hidden
        rate = 1e8 * min(1.0, 10.0 / nm) if nm <= UNROLL_LIMIT else min(3.5e6, 3.5e9 / nm)
        # one compilation (every chunk is padded to the same shape) and a little dispatch per chunk
        return self.grid.n_cells * self.work_per_cell / rate + 5.0 + 0.1 * self.n_chunks

    def summary(self) -> str:
        s, g = self.static, self.grid
        return (f"{g.n_cells} cells x {len(g.seeds)} seed(s) x {s.restarts} restart(s) = "
                f"{g.n_cells * len(g.seeds) * s.restarts} models, {s.steps} steps, batch {s.batch_size}; "
                f"{self.n_chunks} chunk(s) of {self.chunk_size} cells")

    def quick(self) -> SweepSpec:
        """A reduced-cost version for smoke tests: fewer steps, at most 6 values per grid axis, 2 seeds."""
        s = self.static
        static = dataclasses.replace(s, steps=max(50, s.steps // 40), restarts=min(s.restarts, 2),
                                     eval_batch=min(s.eval_batch, 4096), batch_size=min(s.batch_size, 256),
                                     log_every=(10 if s.log_every else 0), n_snapshots=min(s.n_snapshots, 8))
        if static.log_every and static.steps % static.log_every:
            static = dataclasses.replace(static, steps=static.steps - static.steps % static.log_every)
        g = self.grid

        def sub(a):
            return np.unique(np.round(np.linspace(0, len(a) - 1, min(len(a), 6))).astype(int))

        grid = dataclasses.replace(g.subset(sub(g.sparsity), sub(g.importance)), seeds=g.seeds[:2])
        return dataclasses.replace(self, static=static, grid=grid, chunk_size=min(self.chunk_size, grid.n_cells))


def _importance(spec: dict, n: int, where: str):
    if len(spec) != 1 or next(iter(spec)) not in IMPORTANCE_KINDS:
        raise SpecError(f"{where}: data.importance must have exactly one of {IMPORTANCE_KINDS}, e.g. "
                        f"{{ decay = 0.9 }}; got {spec!r}")
    kind, value = next(iter(spec.items()))
    key = f"{where}: data.importance.{kind}"
    if kind == tdata.IMPORTANCE_VALUES:
        return tdata.check_importance(_numbers(value, key), n, key), {}
    return tdata.importance_settings(kind, spaced(value, key), n)


def _perturb(spec: dict | None, where: str) -> dict | None:
    """``data.perturb = { feature = i, density | sparsity = <values>, importance = <values> }``, values spaced."""
    if spec is None:
        return None
    allowed = ("feature", *tdata.PERTURB_KINDS)
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: unknown key 'data.perturb.{unknown[0]}'; allowed: {', '.join(allowed)}")
    if not isinstance(spec.get("feature"), int) or isinstance(spec.get("feature"), bool):
        raise SpecError(f"{where}: data.perturb.feature must be an integer feature index; got {spec.get('feature')!r}")
    return {k: (v if k == "feature" else spaced(v, f"{where}: data.perturb.{k}")) for k, v in spec.items()}


def _feature_sets(value: list, where: str) -> tuple[tuple[int, ...], ...]:
    """A list of feature sets, each a list of feature indices (``[[0, 1], [2, 3]]``)."""
    for s in value:
        if not isinstance(s, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in s):
            raise SpecError(f"{where}: must be an array of arrays of integer feature indices, e.g. [[0, 1], [2, 3]]; "
                            f"got {value!r}")
    return tuple(tuple(s) for s in value)


def _numbers(value, where: str) -> np.ndarray:
    """A list of numbers (no strings, booleans or tables) as float64."""
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise SpecError(f"{where}: must be an array of numbers; got {value!r}")
    return np.asarray(value, dtype=np.float64)


def _static(sections: dict, where: str) -> StaticConfig:
    fields = {f.name for f in dataclasses.fields(StaticConfig)}
    kwargs = {}
    for table, section in sections.items():
        for key, value in given(section).items():
            name = RENAMED.get(key, key)
            if name in ("correlated", "anticorrelated"):
                value = _feature_sets(value, f"{where}: {table}.{key}")
            if name in fields:
                kwargs[name] = value
    try:
        static = StaticConfig(**kwargs)
        check_storable(static, "model.kind")
        return static
    except (ValueError, TypeError) as e:
        raise SpecError(f"{where}: {e}") from None


def parse_grid_spec(doc: dict, where: str = "<spec>", source: str = "") -> SweepSpec:
    """Validate a grid sweep file (a parsed TOML document); every error names ``where`` and the key."""
    top = parse_section(GridTop, doc, "", where)
    sections = {name: parse_section(cls, getattr(top, name) or {}, name, where) for name, cls in SECTIONS.items()}
    dat, tr, run = sections["data"], sections["train"], sections["run"]
    static = _static(sections, where)
    if dat.sparsity is not None and dat.density is not None:
        raise SpecError(f"{where}: give data.sparsity or data.density, not both")
    try:
        sparsity = spaced(dat.sparsity, f"{where}: data.sparsity") if dat.sparsity is not None else None
        density = spaced(dat.density, f"{where}: data.density") if dat.density is not None else None
        if sparsity is None and density is None:
            sparsity = np.zeros(1)
        importance, params = _importance(dat.importance or {"constant": 1.0}, static.n_features, where)
        grid = Grid.make(static.n_features, sparsity=sparsity, density=density, importance=importance,
                         lr=spaced(DEFAULT_LR if tr.lr is None else tr.lr, f"{where}: train.lr"),
                         seeds=list(seeds(tr, where)),
                         weight_decay=DEFAULT_WEIGHT_DECAY if tr.weight_decay is None else tr.weight_decay,
                         importance_params=params, perturb=_perturb(dat.perturb, where))
    except SpecError:
        raise
    except ValueError as e:
        raise SpecError(f"{where}: {e}") from None
    chunk = grid.n_cells if run.chunk_size is None else run.chunk_size
    if chunk < 1:
        raise SpecError(f"{where}: run.chunk_size must be >= 1; got {chunk}")
    return SweepSpec(top.name or Path(where).stem, top.description, static, grid, min(chunk, grid.n_cells), source)


def grid_chunks(spec: SweepSpec, devices: int = 1) -> list[GridChunk]:
    """The chunks of ``spec``; with ``devices > 1`` chunks are rounded up to a multiple of it (sharded)."""
    size = spec.chunk_size
    if devices > 1 and size % devices:
        size += devices - size % devices
    return [GridChunk(index, size) for index in chunks(spec.grid.n_cells, size)]


def train_grid_chunk(spec: SweepSpec, chunk: GridChunk, devices: int = 1) -> dict:
    return run_chunk(make_grid_fn(spec.static, devices), spec.static, spec.grid, chunk.index, chunk.size,
                     seed_keys(spec.grid.seeds))


def merge_grid_chunks(spec: SweepSpec, parts: list[dict]) -> dict:
    """Chunk arrays ``(K, cells, ...)`` to grid arrays ``(S, I, L, K, ...)``."""
    S, I, L, K = spec.grid.shape
    merged = {}
    for name in parts[0]:
        a = np.concatenate([r[name] for r in parts], axis=1)  # (K, C, ...)
        merged[name] = np.moveaxis(a, 0, 1).reshape((S, I, L, K) + a.shape[2:])
    return merged


GRID = register_sweep_kind(SweepKind(
    name="grid", axes=AXES, parse=parse_grid_spec, chunks=grid_chunks, train_chunk=train_grid_chunk,
    merge=merge_grid_chunks, results=lambda spec, arrays: Results(spec.static, spec.grid, arrays),
    load=Results.load, preflight=lambda spec: check_storable(spec.static), compilations=grid_compilations))
