"""Named experiments: the shipped sweep files and the figures and numbers each experiment draws from them.

An :class:`Experiment` names the sweeps it needs (files in this package's ``sweeps/`` folder) and a ``draw``
function that turns their results into figures and a dict of numbers worth quoting. Adding an experiment
is one :func:`register` call; ``tms reproduce NAME`` and ``tms reproduce list`` read this registry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from ..errors import RefusedOverwriteError, TmsError
from ..runs.results import Results
from ..runs.spec import SweepSpec, parse_spec_text


@dataclass(frozen=True)
class Context:
    """What a draw function gets: the results of its sweeps by name, the output folder and options."""

    results: dict[str, Results]
    out: Path
    fmt: str = "png"
    quick: bool = False
    progress: bool = True
    retrain: bool = False
    named: bool = False  # the experiment was named on the command line (not run as part of "all")


@dataclass(frozen=True)
class Experiment:
    """A named figure set: its sweeps, what it draws, and whether it has a reduced-cost (``--quick``) version."""

    name: str
    sweeps: tuple[str, ...]
    draw: Callable[[Context], tuple[list[Path], dict]]
    description: str
    quick: bool = True
    extra: dict = field(default_factory=dict)
    in_all: bool = True  # False: run only when named (too slow for reproduce all's budget)
    seconds: float = 1.0  # the draw's own work (its sweeps aside), estimated as sweeps estimate theirs (below)


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, sweeps=(), description: str = "", quick: bool = True, in_all: bool = True,
             seconds: float = 1.0):
    """Decorator: register ``draw(ctx) -> (files, numbers)`` as experiment ``name``.

    ``seconds``: the draw's own run time (training it does itself, figures; not its sweeps') in the unit of the
    sweeps' estimates, seconds on a 2-core AVX2 CPU; ``tms reproduce all`` orders its work by these. Measured
    draws: their seconds in ``reproduce all`` on the 2-core Intel AVX-512 machine (figures/timings.json) × 1.7,
    the two machines' ratio on ``feature_geometry`` (461 s estimated there, 266 s measured here)."""

    def wrap(draw):
        if name in EXPERIMENTS:
            raise TmsError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = Experiment(name, tuple(sweeps), draw, description, quick, in_all=in_all, seconds=seconds)
        return draw

    return wrap


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise TmsError(f"unknown experiment {name!r}; choose one of: all, list, {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


# ------------------------------------------------------------------------------------- shipped sweeps


def _sweeps_dir():
    return resources.files(__package__) / "sweeps"


def shipped_sweeps() -> list[str]:
    """Names of the sweep files shipped with the package (package data), sorted."""
    return sorted(p.name[:-5] for p in _sweeps_dir().iterdir() if p.name.endswith(".toml"))


def sweep_text(name: str) -> str:
    """The text of shipped sweep ``name`` (without ``.toml``)."""
    path = _sweeps_dir() / f"{name}.toml"
    if not path.is_file():
        raise TmsError(f"no shipped sweep {name!r}; shipped: {', '.join(shipped_sweeps())}")
    return path.read_text()


def shipped_spec(name: str) -> SweepSpec:
    """The parsed shipped sweep ``name``; errors name the file as ``<name>.toml``."""
    return parse_spec_text(sweep_text(name), f"{name}.toml")


def init_sweep(name: str, dest=None, overwrite: bool = False) -> Path:
    """Copy shipped sweep ``name`` to ``dest`` (a file, or a folder: an existing one or a path ending in ``/``;
    default ``./<name>.toml``) for editing; returns the path."""
    text = sweep_text(name)
    folder = dest is not None and (Path(dest).is_dir() or str(dest).endswith(("/", os.sep)))
    dest = Path(dest) / f"{name}.toml" if folder else Path(dest if dest is not None else f"{name}.toml")
    if dest.exists() and not overwrite:
        raise RefusedOverwriteError(f"{dest} exists; choose another destination or pass --overwrite")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest
