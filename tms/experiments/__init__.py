"""Named experiments: shipped sweep files (package data) and the figures and numbers each one draws.

``tms reproduce NAME`` runs one (``all`` runs every one, ``list`` prints them); ``tms sweep init NAME`` copies
a shipped sweep out for editing. Adding an experiment is one :func:`register` call.
"""

from .registry import EXPERIMENTS, Context, Experiment, init_sweep, register, shipped_spec, shipped_sweeps
from .reproduce import plot_folder, reproduce, run_named_sweep

__all__ = ["EXPERIMENTS", "Context", "Experiment", "init_sweep", "plot_folder", "register",
           "reproduce", "run_named_sweep", "shipped_spec", "shipped_sweeps"]
