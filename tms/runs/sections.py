"""Sweep-file sections as typed settings: one frozen dataclass per table, parsed and checked once.

A sweep kind describes each table of its sweep files (``[model]``, ``[data]``, ``[train]``, ...) by a frozen
dataclass whose fields are the table's keys; :func:`parse_section` refuses an unknown key or a value of the
wrong TOML type (naming the file, the key and what is allowed) and returns the dataclass. A field left out of
the file keeps its dataclass default; ``None`` there means "not given: the engine's default", so every
default lives once, in the engine's configs.

Field types read as TOML types: ``int``, ``float`` (an integer is accepted), ``bool``, ``str``, ``list`` (an
array), ``dict`` (a table) and :class:`Values` (a number, an array of numbers, or a spaced range
``{ lin|log = [a, b], num = k }``, expanded by :func:`spaced`). ``X | None`` is ``X``; ``int | list`` either.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import numpy as np

from ..errors import TmsError, check_seeds
from ..io import check_int

_NUM = (int, float)


class SpecError(TmsError):
    """A sweep file that cannot run: names the file, the key and what is allowed."""


class Values:
    """The TOML type of a list of values: a number, an array of numbers or a spaced range (see :func:`spaced`)."""


_TOML_TYPES = {int: (int,), float: _NUM, bool: (bool,), str: (str,), list: (list,), dict: (dict,),
               Values: (list, dict, *_NUM)}
_TYPE_NAMES = {int: "integer", float: "number", bool: "boolean", str: "string", list: "array", dict: "table",
               Values: "number/array/spaced range"}


def _field_types(cls) -> dict[str, tuple]:
    """``field name -> (python types)`` from the dataclass annotations."""
    out = {}
    for name, ann in typing.get_type_hints(cls).items():
        args = typing.get_args(ann) if isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union \
            else (ann,)
        out[name] = tuple(a for a in args if a is not type(None))
    return out


def allowed_keys(cls) -> dict[str, str]:
    """``key -> allowed TOML type(s)`` of a section dataclass, for messages and docs."""
    return {k: "/".join(_TYPE_NAMES[t] for t in ts) for k, ts in _field_types(cls).items()}


def parse_section(cls, table, section: str, where: str):
    """``cls(**table)`` after checking every key of ``table`` against the section dataclass ``cls``."""
    if not isinstance(table, dict):
        raise SpecError(f"{where}: [{section}] must be a table; got {type(table).__name__} {table!r}")
    fields = _field_types(cls)
    for key, val in table.items():
        path = f"{section}.{key}" if section else key
        if key not in fields:
            raise SpecError(f"{where}: unknown key '{path}'; allowed in [{section or 'top level'}]: "
                            f"{', '.join(sorted(fields))}")
        allowed = tuple(t for ann in fields[key] for t in _TOML_TYPES[ann])
        if not isinstance(val, allowed) or (isinstance(val, bool) and bool not in allowed):
            names = "/".join(_TYPE_NAMES[t] for t in fields[key])
            raise SpecError(f"{where}: '{path}' must be {names}; got {type(val).__name__} {val!r}")
    return cls(**{k: (float(v) if fields[k] == (float,) else v) for k, v in table.items()})


def given(section) -> dict:
    """The fields of a section that the file set (not None)."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)
            if getattr(section, f.name) is not None}


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
        check_int(f"{where}.num:", num, 1, error=SpecError)
        if kind == "log" and min(ends) <= 0:
            raise SpecError(f"{where}.log: ends must be > 0; got {ends}")
        return np.geomspace(*ends, num) if kind == "log" else np.linspace(*ends, num)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, _NUM) and not isinstance(v, bool) for v in values):
        raise SpecError(f"{where}: must be a number, a list of numbers or a spaced range; got {value!r}")
    return np.asarray(values, dtype=np.float64)


def seeds(train, where: str) -> tuple[int, ...]:
    """``train.seeds`` or ``range(train.n_seeds)`` (default one seed, 0), checked
    (:func:`~tms.errors.check_seeds`: distinct integers the random key tells apart)."""
    if train.seeds is not None and train.n_seeds is not None:
        raise SpecError(f"{where}: give train.seeds or train.n_seeds, not both")
    values = train.seeds if train.seeds is not None else range(train.n_seeds if train.n_seeds is not None else 1)
    try:
        return check_seeds(values, "train.seeds")
    except TmsError as e:
        raise SpecError(f"{where}: {e}") from None
