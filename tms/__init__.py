"""tms: a lab for toy models of superposition (Elhage et al., 2022).

Layers, each usable alone: models/data (pure functions) -> train/grid (compiled training) -> results and
sweeps (tidy tables, a resumable store) -> geometry/theory (analysis as DataFrames) -> plots (figures).
"""

from .data import (FeatureSets, importance_constant, importance_extra, importance_geometric, sample,
                   sparsity_from)
from .geometry import (PHASES, classify, dims_per_feature, feature_dimensionality, feature_frame,
                       feature_norms, frobenius_count, interference, kgon_label, kgon_labels, phase,
                       phase_frame, polytope_census, superposition)
from .grid import Grid, make_grid_fn
from .models import Params, batch_forward, batch_loss, forward, init_params
from .results import Results, train_grid
from .sweep import load, load_spec, run_sweep
from .train import Hparams, StaticConfig, hparams, make_train, make_train_cells

__version__ = "0.1.0"
