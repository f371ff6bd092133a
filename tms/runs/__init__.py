"""Sweeps of training runs and their results on disk: one pipeline for every sweep kind.

:mod:`.kinds` (the sweep-kind registry: ``grid``, ``finite``), :mod:`.sections` (typed sweep-file sections),
:mod:`.spec` (sweep files: ``kind = ...`` picks the kind), :mod:`.pipeline` (the one chunk driver, with
progress), :mod:`.backends` (where chunks train: this process, or Ray workers), :mod:`.store` (the resumable
store), :mod:`.grid` (grid cells and the compiled grid function), :mod:`.results` (:class:`Results`, tidy
tables, best-model selection). Uses the engine and :mod:`tms.io`; never imports analysis, figures or the
command line.
"""

from .backends import BACKENDS, BackendError, LocalBackend, RayBackend, make_backend
from .grid import AXES, Grid, make_grid_fn, seed_keys
from .kinds import SWEEP_KINDS, FiniteResults, FiniteSpec, SweepKind, register_sweep_kind, sweep_kind
from .pipeline import run_chunks, train_grid
from .results import BestModels, Results, best_models, check_results
from .spec import SpecError, SweepSpec, load_spec, parse_spec
from .store import load, run_sweep, show

__all__ = [
    "AXES", "BACKENDS", "SWEEP_KINDS", "BackendError", "BestModels", "FiniteResults", "FiniteSpec", "Grid",
    "LocalBackend", "RayBackend", "Results", "SpecError", "SweepKind", "SweepSpec", "best_models", "check_results",
    "load", "load_spec", "make_backend", "make_grid_fn", "parse_spec", "register_sweep_kind", "run_chunks",
    "run_sweep", "seed_keys", "show", "sweep_kind", "train_grid",
]
