"""The lab's figures: matplotlib Figures drawn from :class:`tms.runs.results.Results` and tidy DataFrames.

Every function returns a :class:`matplotlib.figure.Figure` (built without pyplot, so nothing global is
touched); the caller saves it with ``fig.savefig(path)`` (PNG by default, SVG/PDF by the suffix).

Grid axes as in :mod:`tms.runs.results`: ``(S, I, L, K)`` = sparsity, importance setting, lr, seed. Figures
that show one model per (sparsity, importance) cell keep, over the lr and seed axes, the model with the
lowest final loss (:func:`tms.runs.results.best_models`; the engine has already kept the best of its
restarts). Sparsity S is the probability that a feature is zero; density is 1 − S. Weights ``W: (m, n)``,
column ``W_i`` is feature i.

Modules: :mod:`.vectors` (intro, varying sparsity), :mod:`.geometry` (feature geometry, census),
:mod:`.dynamics` (training dynamics), :mod:`.phase` (phase diagrams), :mod:`.transitions` (phase transitions
in polytopes), :mod:`.trajectories3d` (weight trajectories of m = 3 models in 3D), :mod:`.common`.
"""

from .dynamics import training_dynamics_figure
from .geometry import census_colour, census_counts, census_figure, feature_geometry_figure
from .phase import (
                    empirical_phases,
                    match_cells,
                    phase_agreement,
                    phase_colours,
                    phase_diagram_figure,
                    relative_importance,
                    theory_diagram,
)
from .trajectories3d import trajectories_3d_figure
from .transitions import polytope_transition_figure
from .vectors import intro_figure, varying_sparsity_figure

__all__ = [
    "census_colour", "census_counts", "census_figure", "empirical_phases", "feature_geometry_figure",
    "intro_figure", "match_cells", "phase_agreement", "phase_colours", "phase_diagram_figure",
    "polytope_transition_figure", "relative_importance", "theory_diagram", "training_dynamics_figure",
    "trajectories_3d_figure", "varying_sparsity_figure",
]
