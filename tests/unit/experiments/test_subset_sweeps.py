"""A shipped sweep that trains some cells of a larger one gives exactly those cells (feature_geometry)."""

import numpy as np

from tms.engine.config import StaticConfig
from tms.experiments.registry import shipped_spec
from tms.runs.pipeline import train_grid


def test_feature_geometry_is_every_other_cell_of_the_full_sweep():
    small, full = shipped_spec("feature_geometry"), shipped_spec("feature_geometry_full")
    assert small.static == full.static
    sub = [int(np.flatnonzero(full.grid.sparsity == s)[0]) for s in small.grid.sparsity]  # raises if absent
    assert sub == list(range(1, 22, 2)) + [23, 25]
    for field in ("importance", "lr", "seeds", "weight_decay"):
        np.testing.assert_array_equal(getattr(small.grid, field), getattr(full.grid, field), err_msg=field)
    assert small.n_chunks == 1 and full.n_chunks == 2


def test_a_subset_of_densities_trains_bit_identical_cells():
    """The premise of the subset sweeps: a cell depends only on its own settings and seed, not on which other
    cells share its chunk (compared exactly, not within a tolerance)."""
    static = StaticConfig(n_features=20, n_hidden=5, batch_size=128, steps=60, restarts=2, eval_batch=1024)
    dens = [1.0, 0.5, 0.2, 0.1, 0.05]
    full = train_grid(static, density=dens, seeds=[0, 3], chunk_size=3, progress=False)
    part = train_grid(static, density=[0.5, 0.05], seeds=[0, 3], chunk_size=2, progress=False)
    for name in ("W", "b", "final_loss", "restart_losses"):
        np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[[1, 4]], err_msg=name)
