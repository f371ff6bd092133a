"""Every figure on a small real run: trained for a few steps, drawn, saved."""

import numpy as np
import pytest

from tms import plots
from tms.runs.pipeline import train_grid


def panels(fig):
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


@pytest.fixture(scope="module")
def tiny_run():
    """A real n=5, m=2 grid, trained for a few steps with a loss curve and snapshots."""
    return train_grid(n_features=5, n_hidden=2, steps=60, batch_size=64, eval_batch=256, sparsity=[0.0, 0.9],
                      importance=0.9 ** np.arange(5), seeds=[0, 1], log_every=10, n_snapshots=5, progress=False)


def test_every_figure_on_real_results(tiny_run, tmp_path):
    figs = {"intro": plots.intro_figure(tiny_run), "census": plots.census_figure(tiny_run),
            "geometry": plots.feature_geometry_figure(tiny_run),
            "dynamics": plots.training_dynamics_figure(tiny_run, cell=(1, 0, 0, 1)),
            "varying": plots.varying_sparsity_figure(tiny_run)}
    counts = {"intro": 2, "census": 1, "geometry": 2, "dynamics": 2, "varying": 4}
    for name, fig in figs.items():
        axes = panels(fig)
        assert len(axes) == counts[name], name
        assert all(ax.get_xlabel() for ax in axes), name
        fig.savefig(tmp_path / f"{name}.png", dpi=40)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    census_titles = [ax.get_title() for ax in panels(figs["intro"])]
    assert census_titles[0].startswith("S=0:") and census_titles[1].startswith("S=0.9:")
