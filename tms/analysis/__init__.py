"""Analysis of trained weights: NumPy/SciPy on any ``W: (..., m, n)``, independent of how it was trained.

:mod:`.measures` (norms, dimensionality, superposition, tidy per-feature frames), :mod:`.polytopes` (tegum
factors, the census, k-gon labels), :mod:`.phases` (the phase of one feature), :mod:`.theory` (exact losses
and theoretical phase diagrams). Nothing here imports the engine or the results store.
"""

from .measures import (
                       cosines,
                       datapoint_dimensionality,
                       dims_per_feature,
                       feature_dimensionality,
                       feature_frame,
                       feature_norms,
                       frobenius_count,
                       interference,
                       strong_items,
                       superposition,
)
from .phases import PHASES, Phase, phase, phase_frame
from .polytopes import (
                       POLYTOPES,
                       Factor,
                       Thresholds,
                       census_columns,
                       classify,
                       kgon_angle_error,
                       kgon_label,
                       kgon_labels,
                       polytope_census,
                       polytope_vectors,
)

__all__ = [
    "PHASES", "POLYTOPES", "Factor", "Phase", "Thresholds", "census_columns", "classify", "cosines",
    "datapoint_dimensionality", "dims_per_feature", "feature_dimensionality", "feature_frame", "feature_norms",
    "frobenius_count", "interference", "kgon_angle_error", "kgon_label", "kgon_labels", "phase", "phase_frame", "polytope_census",
    "polytope_vectors", "strong_items", "superposition",
]
