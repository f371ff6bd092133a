"""Exact expected losses of small ReLU output models, and the theoretical phase diagrams.

Modules: :mod:`.integrals` (the exact one-dimensional integrals), :mod:`.solvers` (the optimal antipodal
pair), :mod:`.n2m1` and :mod:`.n3m2` (the paper's two phase diagrams), :mod:`.high_sparsity` (Chen et al.
2023: one feature active at a time, the k-gon critical points).

``DIAGRAMS`` maps ``(n_features, n_hidden)`` to the diagram function of that size; it is the one place that
says which model sizes have a theoretical phase diagram.
"""

from ...errors import TmsError
from ..phases import PHASES
from .high_sparsity import high_sparsity_loss, kgon_critical_points, kgon_params
from .integrals import err1
from .n2m1 import N2M1_CANDIDATES, n2m1_diagram, n2m1_loss, n2m1_losses, n2m1_phase
from .n3m2 import (
    N3M2_CONFIGS,
    N3M2_NULL_SPACE,
    N3M2_PHASE_OF,
    n3m2_diagram,
    n3m2_losses,
    n3m2_params,
    n3m2_phase,
)
from .solvers import (
    ANTIPODAL_MODES,
    AntipodalOptimum,
    antipodal_optimum,
    n2m1_loss_pair,
)

DIAGRAMS = {(2, 1): n2m1_diagram, (3, 2): n3m2_diagram}


def diagram_for(n_features: int, n_hidden: int):
    """The theoretical phase-diagram function for a model size; a ValueError naming the known sizes if none."""
    fn = DIAGRAMS.get((int(n_features), int(n_hidden)))
    if fn is None:
        known = ", ".join(f"n={n}, m={m}" for n, m in DIAGRAMS)
        raise TmsError(f"no theoretical phase diagram for n_features={n_features}, n_hidden={n_hidden} "
                       f"(known: {known})")
    return fn


__all__ = [
    "ANTIPODAL_MODES", "AntipodalOptimum", "DIAGRAMS", "N2M1_CANDIDATES", "N3M2_CONFIGS", "N3M2_NULL_SPACE",
    "N3M2_PHASE_OF", "PHASES", "antipodal_optimum", "diagram_for", "err1", "high_sparsity_loss",
    "kgon_critical_points", "kgon_params", "n2m1_diagram", "n2m1_loss", "n2m1_loss_pair", "n2m1_losses",
    "n2m1_phase", "n3m2_diagram", "n3m2_losses", "n3m2_params", "n3m2_phase",
]
