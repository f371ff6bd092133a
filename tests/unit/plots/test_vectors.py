"""Weight figures (tms.plots.vectors): the intro figure and varying sparsity, on hand-built weights.

Checks are about content, not pixels: panel counts, labelled axes, census labels in titles, the numbers
drawn (arrows, heatmaps, bars) against independent NumPy computations.
"""

import numpy as np
import pytest
from matplotlib.quiver import Quiver

from tms import plots


def test_intro_figure_hand_built(intro_like, panels, colourbars, pentagon):
    fig = plots.intro_figure(intro_like)
    axes = panels(fig)
    assert len(axes) == 2 and len(colourbars(fig)) == 1
    assert axes[0].get_title() == "S=0: 2×dedicated + 3 dropped"
    assert axes[1].get_title() == "S=0.9: pentagon"
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert "importance" in colourbars(fig)[0].get_ylabel()
    # The arrows are the columns of W (drawn least important first).
    q = [c for c in axes[1].collections if isinstance(c, Quiver)][0]
    order = np.argsort(0.9 ** np.arange(5))
    np.testing.assert_allclose(q.U, pentagon()[0, order], atol=1e-12)
    np.testing.assert_allclose(q.V, pentagon()[1, order], atol=1e-12)



def test_intro_figure_rejects_wrong_sizes(fake_results):
    with pytest.raises(ValueError, match="n_hidden"):
        plots.intro_figure(fake_results(np.zeros((1, 1, 1, 1, 3, 4))))
    with pytest.raises(ValueError, match="importance_index"):
        plots.intro_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 4))), importance_index=3)
    with pytest.raises(ValueError, match="Results"):
        plots.intro_figure(np.zeros((2, 5)))



def test_varying_sparsity_figure_heatmaps_and_bars(fake_results, panels, colourbars):
    rng = np.random.default_rng(1)
    relu = fake_results(rng.normal(size=(3, 1, 1, 1, 3, 6)) * 0.5, sparsity=[0.9, 0.0, 0.5])
    lin = fake_results(rng.normal(size=(2, 1, 1, 1, 3, 6)) * 0.5, sparsity=[0.0, 0.5], kind="linear")
    fig = plots.varying_sparsity_figure(relu, lin)
    axes = np.asarray(panels(fig)).reshape(4, 3)
    assert len(colourbars(fig)) == 2
    assert not axes[2, 2].axison and not axes[3, 2].axison  # the linear run has only two densities
    W_sorted = relu.W[[1, 2, 0], 0, 0, 0]  # columns sorted by sparsity: 0, 0.5, 0.9
    G = np.einsum("smi,smj->sij", W_sorted, W_sorted)
    vmax = max(np.abs(G).max(), np.abs(np.einsum("smi,smj->sij", lin.W[:, 0, 0, 0], lin.W[:, 0, 0, 0])).max())
    for c in range(3):
        im = axes[0, c].images[0]
        np.testing.assert_allclose(im.get_array(), G[c], atol=1e-12)
        np.testing.assert_allclose(im.get_clim(), (-vmax, vmax))  # diverging, centred at 0
        widths = [p.get_width() for p in axes[1, c].patches]
        np.testing.assert_allclose(widths, np.linalg.norm(W_sorted[c], axis=0))
        assert "density" in axes[0, c].get_title() and axes[1, c].get_xlabel()
    assert axes[0, 0].get_title().startswith("ReLU") and axes[2, 0].get_title().startswith("linear")
    assert "superposition" in colourbars(fig)[1].get_ylabel()



def test_varying_sparsity_figure_rejects_mismatched_linear(fake_results):
    with pytest.raises(ValueError, match="n_features"):
        plots.varying_sparsity_figure(fake_results(np.zeros((1, 1, 1, 1, 3, 6))),
                                      fake_results(np.zeros((1, 1, 1, 1, 3, 5))))

