"""tms: a lab for toy models of superposition (Elhage et al., 2022).

Layers, each usable alone, dependencies flowing one way: :mod:`tms.engine` (pure JAX training) ->
:mod:`tms.runs` (grids, results, sweep files, the resumable store) -> :mod:`tms.analysis` (geometry, phases,
exact theory; NumPy on any W) -> :mod:`tms.plots` (figures) -> :mod:`tms.experiments` (named experiments)
-> :mod:`tms.cli` (the ``tms`` command). :mod:`tms.challenge` is the challenge #2 transformer.

Example (trains 3 models of 5 features in 2 dimensions in one compiled call, a few seconds on a CPU)::

    >>> import tms
    >>> res = tms.train_grid(n_features=5, n_hidden=2, steps=2000, sparsity=[0.0, 0.7, 0.9],
    ...                      importance=tms.importance_geometric(5, 0.9), progress=False)
    >>> census = tms.polytope_census(res.W[:, 0, 0, 0], res.b[:, 0, 0, 0])
    >>> list(census["label"])  # doctest: +SKIP
    ['2×dedicated + 3 dropped', '2×digon + 1 dropped', 'pentagon']
"""

from .analysis import (
                       PHASES,
                       POLYTOPES,
                       classify,
                       dims_per_feature,
                       feature_dimensionality,
                       feature_frame,
                       feature_norms,
                       frobenius_count,
                       interference,
                       kgon_label,
                       kgon_labels,
                       phase,
                       phase_frame,
                       polytope_census,
                       superposition,
)
from .engine import (
                       FeatureSets,
                       Hparams,
                       ModelKind,
                       Params,
                       StaticConfig,
                       batch_forward,
                       batch_loss,
                       forward,
                       get_kind,
                       hparams,
                       importance_constant,
                       importance_extra,
                       importance_geometric,
                       init_params,
                       kind_names,
                       make_train,
                       make_train_cells,
                       register_kind,
                       sample,
                       sparsity_from,
)
from .runs import Grid, Results, load, load_spec, make_grid_fn, run_sweep, train_grid

from .analysis.measures import datapoint_dimensionality, strong_items  # isort: skip
from .engine.finite import FiniteConfig  # isort: skip
from .engine.finite_train import make_finite_train  # isort: skip

__version__ = "0.1.0"

__all__ = [
    "PHASES", "POLYTOPES", "FeatureSets", "Grid", "Hparams", "Params", "Results", "StaticConfig",
    "batch_forward", "batch_loss", "classify", "dims_per_feature", "feature_dimensionality", "feature_frame",
    "feature_norms", "forward", "frobenius_count", "hparams", "importance_constant", "importance_extra",
    "importance_geometric", "init_params", "interference", "kgon_label", "kgon_labels", "load", "load_spec",
    "make_grid_fn", "make_train", "make_train_cells", "phase", "phase_frame", "polytope_census", "run_sweep",
    "sample", "sparsity_from", "superposition", "train_grid",
]
__all__ += ["ModelKind", "get_kind", "kind_names", "register_kind"]  # model kinds (tms.engine.kinds)
__all__ += ["FiniteConfig", "datapoint_dimensionality", "make_finite_train", "strong_items"]  # finite training sets
