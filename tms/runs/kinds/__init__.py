"""Sweep kinds: one module per kind of sweep, each registered by name in :data:`SWEEP_KINDS`.

- :mod:`.grid` (``kind = "grid"``, the default): sparsity × importance × lr × seed of one model shape;
- :mod:`.finite` (``kind = "finite"``): hidden size × training-set size × seed on finite training sets;
- :mod:`.sae` (``kind = "sae"``): sparse autoencoders × dictionary size × sparsity knob × seed, scored against
  the true features of their activation source (its ``[source]`` table: :mod:`.sae_source`).

:mod:`.registry` says what a kind declares (:class:`SweepKind`); docs/architecture.md shows how to add one.
"""

from .registry import (
    SWEEP_KINDS,
    SweepKind,
    UnknownSweepKind,
    kind_of_config,
    kind_of_doc,
    register_sweep_kind,
    sweep_kind,
    unregister_sweep_kind,
)

from .grid import GRID, SweepSpec, parse_grid_spec  # isort: skip - registers "grid" first (the default kind)
from .finite import FINITE, FiniteGrid, FiniteResults, FiniteSpec, parse_finite_spec  # isort: skip
from .sae import SAE, SaeResults, SaeSpec, parse_sae_spec  # isort: skip

__all__ = [
    "FINITE", "GRID", "SAE", "SWEEP_KINDS", "FiniteGrid", "FiniteResults", "FiniteSpec", "SaeResults", "SaeSpec",
    "SweepKind", "SweepSpec", "UnknownSweepKind", "kind_of_config", "kind_of_doc", "parse_finite_spec",
    "parse_grid_spec", "parse_sae_spec",
    "register_sweep_kind", "sweep_kind", "unregister_sweep_kind",
]
