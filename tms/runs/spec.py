"""Sweep files (TOML): the schema, validation with errors that name the key, and the resolved spec.

A sweep file has the tables ``[model]``, ``[data]``, ``[train]``, ``[record]`` and ``[run]`` (see the shipped
sweeps in ``tms/experiments/sweeps/`` and docs/sweeps.md). A list of values may be written out, or spaced:
``{ lin = [a, b], num = k }`` / ``{ log = [a, b], num = k }``.

The keys that set a :class:`~tms.engine.config.StaticConfig` field are listed once in ``STATIC_KEYS``; a key
left out takes the field's default, so defaults live only in the engine's config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine import data as tdata
from ..engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, StaticConfig
from ..errors import TmsError, check_seeds
from ..io import load_toml
from .grid import Grid, check_storable, chunks

_NUM = (int, float)

# Sweep-file keys that set StaticConfig fields: (table, key) -> field name.
STATIC_KEYS = {
    ("model", "n_features"): "n_features", ("model", "n_hidden"): "n_hidden", ("model", "kind"): "kind",
    ("model", "bias"): "bias", ("train", "steps"): "steps", ("train", "batch_size"): "batch_size",
    ("train", "optimizer"): "optimizer", ("train", "schedule"): "schedule",
    ("train", "warmup_steps"): "warmup_steps", ("train", "decay_every"): "decay_every",
    ("train", "decay_factor"): "decay_factor", ("train", "restarts"): "restarts",
    ("train", "eval_batch"): "eval_batch", ("record", "log_every"): "log_every",
    ("record", "snapshots"): "n_snapshots", ("data", "correlated"): "correlated",
    ("data", "anticorrelated"): "anticorrelated",
}
_FIELD_TYPES = {"int": (int,), "bool": (bool,), "str": (str,), "float": _NUM}


def _static_types(field: str) -> tuple:
    ann = StaticConfig.__dataclass_fields__[field].type
    return _FIELD_TYPES.get(ann, (list,))


# Allowed keys per table: key -> allowed TOML types.
SCHEMA = {
    "": {"name": (str,), "description": (str,), "model": (dict,), "data": (dict,), "train": (dict,),
         "record": (dict,), "run": (dict,)},
    "model": {}, "record": {},
    "data": {"sparsity": (list, dict, *_NUM), "density": (list, dict, *_NUM), "importance": (dict,),
             "perturb": (dict,)},
    "train": {"lr": (list, dict, *_NUM), "weight_decay": _NUM, "seeds": (list,), "n_seeds": (int,)},
    "run": {"chunk_size": (int,)},
}
for (_table, _key), _field in STATIC_KEYS.items():
    SCHEMA[_table][_key] = _static_types(_field)

IMPORTANCE_KINDS = (*tdata.IMPORTANCE_KINDS, tdata.IMPORTANCE_VALUES)


class SpecError(TmsError):
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
        """Rough wall time on a 2-core CPU, from model-sample rates measured there (docs/performance.md)."""
        from ..engine.models import UNROLL_LIMIT

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


def _check_keys(table: dict, section: str, where: str, schema: dict | None = None):
    allowed = (schema or SCHEMA)[section]
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
    if not isinstance(value, list) or not all(isinstance(v, _NUM) and not isinstance(v, bool) for v in value):
        raise SpecError(f"{where}: must be an array of numbers; got {value!r}")
    return np.asarray(value, dtype=np.float64)


def _static(doc: dict, where: str) -> StaticConfig:
    kwargs = {}
    for (table, key), field in STATIC_KEYS.items():
        if key in doc.get(table, {}):
            value = doc[table][key]
            if field in ("correlated", "anticorrelated"):
                value = _feature_sets(value, f"{where}: {table}.{key}")
            elif field == "decay_factor":
                value = float(value)
            kwargs[field] = value
    try:
        static = StaticConfig(**kwargs)
        check_storable(static, "model.kind")
        return static
    except (ValueError, TypeError) as e:
        raise SpecError(f"{where}: {e}") from None


def parse_spec(doc: dict, where: str = "<spec>", source: str = "") -> SweepSpec:
    """Validate a parsed TOML document; every error names ``where`` and the key.

    A file whose ``[data]`` has ``train_sizes`` is a finite-data sweep: parsed by
    :func:`tms.runs.finite.parse_finite_spec` into a :class:`~tms.runs.finite.FiniteSpec`.
    """
    from . import finite

    if finite.is_finite(doc):
        return finite.parse_finite_spec(doc, where, source)
    _check_keys(doc, "", where)
    for section in ("model", "data", "train", "record", "run"):
        _check_keys(doc.get(section, {}), section, where)
    dat, tr, run = doc.get("data", {}), doc.get("train", {}), doc.get("run", {})
    static = _static(doc, where)
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
        seeds = check_seeds(tr.get("seeds", list(range(tr.get("n_seeds", 1)))), "train.seeds")
        grid = Grid.make(n, sparsity=sparsity, density=density, importance=importance,
                         lr=spaced(tr.get("lr", DEFAULT_LR), f"{where}: train.lr"), seeds=seeds,
                         weight_decay=tr.get("weight_decay", DEFAULT_WEIGHT_DECAY), importance_params=params,
                         perturb=_perturb(dat.get("perturb"), where))
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
    doc, text = load_toml(path, error=SpecError)
    return parse_spec(doc, str(path), text)
