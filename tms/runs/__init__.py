"""Grids of training runs and their results on disk.

:mod:`.grid` (cells, chunks, the compiled grid function), :mod:`.results` (:class:`Results`, tidy tables,
best-model selection), :mod:`.spec` (sweep files), :mod:`.store` (the resumable store), :mod:`.progress`,
:mod:`.backends` (where chunks train: this process, or Ray workers). Uses the engine; never imports analysis, figures or the command line.
"""

from .backends import BACKENDS, BackendError, LocalBackend, RayBackend, make_backend
from .grid import AXES, Grid, make_grid_fn, run_grid, seed_keys
from .results import BestModels, Results, best_models, check_results, train_grid
from .spec import SpecError, SweepSpec, load_spec, parse_spec
from .store import load, run_sweep, show

__all__ = [
    "AXES", "BACKENDS", "BackendError", "LocalBackend", "RayBackend", "make_backend", "BestModels", "Grid", "Results", "SpecError", "SweepSpec", "best_models", "check_results", "load",
    "load_spec", "make_grid_fn", "parse_spec", "run_grid", "run_sweep", "seed_keys", "show", "train_grid",
]
