"""Sweep files (TOML), their validation, and a results store that resumes.

A sweep file has the tables ``[model]``, ``[data]``, ``[train]``, ``[record]`` and ``[run]`` (see
``sweeps/*.toml`` and the README). A list of values may be written out, or spaced:
``{ lin = [a, b], num = k }`` / ``{ log = [a, b], num = k }``.

Store layout of ``tms sweep run SPEC --out DIR``::

    DIR/spec.toml          the file as written
    DIR/resolved.json      the resolved configuration (what "the same spec" means on resume)
    DIR/chunks/NNNNN.npz   one file per finished chunk (written atomically: a chunk file exists only once
                           complete, so the chunk files are the record of what finished)
    DIR/config.json, arrays.npz, table.csv   the merged results (:class:`tms.results.Results`)

Launching again into DIR with the same spec skips the finished chunks; since a cell's result depends only
on its own settings and seed, the merged results equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data as tdata
from .grid import Grid, chunks, run_grid
from .results import Results, atomic_write
from .train import StaticConfig

# Allowed keys per table: key -> (allowed types, description used in errors).
_NUM = (int, float)
SCHEMA = {
    "": {"name": (str,), "description": (str,), "model": (dict,), "data": (dict,), "train": (dict,),
         "record": (dict,), "run": (dict,)},
    "model": {"n_features": (int,), "n_hidden": (int,), "kind": (str,), "bias": (bool,)},
    "data": {"sparsity": (list, dict, *_NUM), "density": (list, dict, *_NUM), "importance": (dict,),
             "correlated": (list,), "anticorrelated": (list,)},
    "train": {"steps": (int,), "batch_size": (int,), "optimizer": (str,), "schedule": (str,),
              "lr": (list, dict, *_NUM), "weight_decay": _NUM, "warmup_steps": (int,), "decay_every": (int,),
              "decay_factor": _NUM, "restarts": (int,), "seeds": (list,), "n_seeds": (int,),
              "eval_batch": (int,)},
    "record": {"log_every": (int,), "snapshots": (int,)},
    "run": {"chunk_size": (int,)},
}
IMPORTANCE_KINDS = ("constant", "decay", "values", "extra")


class SpecError(ValueError):
    """A sweep file that cannot run: names the file, the key and what is allowed."""


@dataclass(frozen=True)
class SweepSpec:
    name: str
    description: str
    static: StaticConfig
    grid: Grid
    chunk_size: int
    source: str = ""

    def resolved(self) -> dict:
        return {"name": self.name, "static": self.static.to_dict(), "grid": self.grid.to_dict(),
                "chunk_size": self.chunk_size}

    @property
    def n_chunks(self) -> int:
        return len(chunks(self.grid.n_cells, self.chunk_size))

    def estimate_seconds(self) -> float:
        """Rough wall time on a 2-core CPU, from model-sample rates measured there (README, Performance)."""
        from .models import UNROLL_LIMIT

        s = self.static
        nm = s.n_features * s.n_hidden
        rate = 1e8 * min(1.0, 10.0 / nm) if nm <= UNROLL_LIMIT else min(3.5e6, 3.5e9 / nm)
        work = self.grid.n_cells * len(self.grid.seeds) * s.restarts * s.steps * s.batch_size
        return work / rate + 5.0 * self.n_chunks


def spaced(value, where: str) -> np.ndarray:
    """A list of numbers from a number, a list, or ``{lin|log = [a, b], num = k}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"lin", "log", "num"}
        if unknown or "num" not in value or len({"lin", "log"} & set(value)) != 1:
            raise SpecError(f"{where}: a spaced range is {{ lin = [a, b], num = k }} or {{ log = [a, b], num = k }}; "
                            f"got keys {sorted(value)}")
        kind = "lin" if "lin" in value else "log"
        ends, num = value[kind], value["num"]
        if not (isinstance(ends, list) and len(ends) == 2 and all(isinstance(e, _NUM) for e in ends)):
            raise SpecError(f"{where}.{kind}: needs two numbers [a, b]; got {ends!r}")
        if not isinstance(num, int) or num < 1:
            raise SpecError(f"{where}.num: must be an integer >= 1; got {num!r}")
        if kind == "log" and min(ends) <= 0:
            raise SpecError(f"{where}.log: ends must be > 0; got {ends}")
        return np.geomspace(*ends, num) if kind == "log" else np.linspace(*ends, num)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, _NUM) and not isinstance(v, bool) for v in values):
        raise SpecError(f"{where}: must be a number, a list of numbers or a spaced range; got {value!r}")
    return np.asarray(values, dtype=np.float64)


def _check_keys(table: dict, section: str, where: str):
    allowed = SCHEMA[section]
    for key, val in table.items():
        path = f"{section}.{key}" if section else key
        if key not in allowed:
            raise SpecError(f"{where}: unknown key '{path}'; allowed in [{section or 'top level'}]: "
                            f"{', '.join(sorted(allowed))}")
        if not isinstance(val, allowed[key]) or (isinstance(val, bool) and bool not in allowed[key]):
            names = "/".join(sorted({t.__name__.replace('dict', 'table').replace('list', 'array')
                                     for t in allowed[key]}))
            raise SpecError(f"{where}: '{path}' must be {names}; got {type(val).__name__} {val!r}")


def _importance(spec: dict, n: int, where: str):
    if len(spec) != 1 or next(iter(spec)) not in IMPORTANCE_KINDS:
        raise SpecError(f"{where}: data.importance must have exactly one of {IMPORTANCE_KINDS}, e.g. "
                        f"{{ decay = 0.9 }}; got {spec!r}")
    kind, value = next(iter(spec.items()))
    key = f"{where}: data.importance.{kind}"
    if kind == "values":
        return tdata.check_importance(np.asarray(value, dtype=np.float64), n, key), {}
    vals = spaced(value, key)
    if kind == "constant":
        return np.stack([tdata.importance_constant(n, v) for v in vals]), {"importance_constant": vals}
    if kind == "decay":
        return np.stack([tdata.importance_geometric(n, v) for v in vals]), {"importance_decay": vals}
    return np.stack([tdata.importance_extra(n, v) for v in vals]), {"extra_importance": vals}


def parse_spec(doc: dict, where: str = "<spec>", source: str = "") -> SweepSpec:
    """Validate a parsed TOML document; every error names ``where`` and the key."""
    _check_keys(doc, "", where)
    for section in ("model", "data", "train", "record", "run"):
        _check_keys(doc.get(section, {}), section, where)
    model, dat, tr = doc.get("model", {}), doc.get("data", {}), doc.get("train", {})
    rec, run = doc.get("record", {}), doc.get("run", {})
    try:
        static = StaticConfig(
            n_features=model.get("n_features", 5), n_hidden=model.get("n_hidden", 2),
            kind=model.get("kind", "relu"), bias=model.get("bias", True),
            batch_size=tr.get("batch_size", 1024), steps=tr.get("steps", 10_000),
            optimizer=tr.get("optimizer", "adam"), schedule=tr.get("schedule", "constant"),
            warmup_steps=tr.get("warmup_steps", 0), decay_every=tr.get("decay_every", 1000),
            decay_factor=float(tr.get("decay_factor", 0.5)), restarts=tr.get("restarts", 1),
            eval_batch=tr.get("eval_batch", 8192), log_every=rec.get("log_every", 0),
            n_snapshots=rec.get("snapshots", 0),
            correlated=tuple(tuple(s) for s in dat.get("correlated", [])),
            anticorrelated=tuple(tuple(s) for s in dat.get("anticorrelated", [])))
    except (ValueError, TypeError) as e:
        raise SpecError(f"{where}: {e}") from None
    n = static.n_features
    if "sparsity" in dat and "density" in dat:
        raise SpecError(f"{where}: give data.sparsity or data.density, not both")
    if "seeds" in tr and "n_seeds" in tr:
        raise SpecError(f"{where}: give train.seeds or train.n_seeds, not both")
    try:
        sparsity = spaced(dat["sparsity"], f"{where}: data.sparsity") if "sparsity" in dat else None
        density = spaced(dat["density"], f"{where}: data.density") if "density" in dat else None
        if sparsity is None and density is None:
            sparsity = np.zeros(1)
        importance, params = _importance(dat.get("importance", {"constant": 1.0}), n, where)
        seeds = tr.get("seeds", list(range(tr.get("n_seeds", 1))))
        grid = Grid.make(n, sparsity=sparsity, density=density, importance=importance,
                         lr=spaced(tr.get("lr", 1e-3), f"{where}: train.lr"), seeds=seeds,
                         weight_decay=tr.get("weight_decay", 0.01), importance_params=params)
    except SpecError:
        raise
    except ValueError as e:
        raise SpecError(f"{where}: {e}") from None
    chunk = run.get("chunk_size", grid.n_cells)
    if chunk < 1:
        raise SpecError(f"{where}: run.chunk_size must be >= 1; got {chunk}")
    return SweepSpec(doc.get("name", Path(where).stem), doc.get("description", ""), static, grid,
                     min(chunk, grid.n_cells), source)


def load_spec(path) -> SweepSpec:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sweep file not found: {path}")
    text = path.read_text()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {e}") from None
    return parse_spec(doc, str(path), text)


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def run_sweep(spec: SweepSpec, out, overwrite: bool = False, progress: bool = True, devices: int = 1,
              stop_after: int | None = None) -> Results | None:
    """Run (or resume) ``spec`` into folder ``out``; returns the merged :class:`Results`.

    ``stop_after``: stop after training that many new chunks and return None (for tests of resuming).
    """
    out = Path(out)
    resolved = spec.resolved()
    rpath = out / "resolved.json"
    if rpath.exists():
        old = json.loads(rpath.read_text())
        if not _same(old, resolved):
            if not overwrite:
                raise FileExistsError(f"{out} holds a different sweep ('{old.get('name')}', other settings); "
                                      f"choose another --out or pass --overwrite to discard it")
            shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not a sweep folder; choose another --out or pass --overwrite")
    elif out.exists() and overwrite:
        shutil.rmtree(out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    if not rpath.exists():
        atomic_write(out / "spec.toml", lambda f: f.write(spec.source))
        atomic_write(rpath, lambda f: json.dump(resolved, f, indent=1))

    trained = 0

    class Stop(Exception):
        pass

    def done(cid):
        p = out / "chunks" / f"{cid:05d}.npz"
        if not p.exists():
            return None
        with np.load(p) as z:
            return {k: z[k] for k in z.files}

    def on_chunk(cid, arrays):
        nonlocal trained
        atomic_write(out / "chunks" / f"{cid:05d}.npz", lambda f: np.savez(f, **arrays), binary=True)
        trained += 1
        if stop_after is not None and trained >= stop_after:
            raise Stop

    try:
        arrays = run_grid(spec.static, spec.grid, chunk_size=spec.chunk_size, progress=progress,
                          devices=devices, done=done, on_chunk=on_chunk)
    except Stop:
        return None
    res = Results(spec.static, spec.grid, arrays)
    res.save(out)
    return res


def load(folder) -> Results:
    """The merged results of a finished sweep (or a ``tms train`` folder)."""
    folder = Path(folder)
    if (folder / "resolved.json").exists() and not (folder / "arrays.npz").exists():
        n = len(list((folder / "chunks").glob("*.npz")))
        raise FileNotFoundError(f"{folder}: sweep not finished ({n} chunk(s) done); run it again to resume")
    return Results.load(folder)


def show(folder) -> str:
    """A summary table of a results folder: settings and per-cell losses."""
    res = load(folder)
    s = res.static
    head = [f"{folder}: n={s.n_features}, m={s.n_hidden}, {s.kind}{'' if s.bias else ' (no bias)'}, "
            f"{s.steps} steps x batch {s.batch_size}, {s.optimizer}/{s.schedule}, {s.restarts} restart(s)",
            f"grid: {len(res.grid.sparsity)} sparsity x {len(res.grid.importance)} importance x "
            f"{len(res.grid.lr)} lr x {len(res.grid.seeds)} seed(s); non-finite cells: {int(res.nonfinite.sum())}"]
    df = res.to_frame()
    cols = [c for c in df.columns if c not in ("importance_index", "best_restart")]
    return "\n".join(head) + "\n" + df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
