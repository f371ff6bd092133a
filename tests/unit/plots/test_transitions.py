"""Figures of this package's geometry experiments on hand-built weights (no training): the polytope
transition figure and the 3D trajectories."""

import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.plots.trajectories3d import aligned_basis, feature_set_colours, trajectories_3d_figure
from tms.plots.transitions import perturbation_axis, polytope_transition_figure
from tms.runs.continuation import Branches
from tms.runs.grid import Grid
from tms.runs.results import Results


def pentagon():
    a = 2 * np.pi * np.arange(5) / 5 + 0.3
    return np.stack([np.cos(a), np.sin(a)])


def square_plus_dropped():
    W = np.zeros((2, 5))
    W[:, 1:] = [[1, -1, 0, 0], [0, 0, 1, -1]]
    return W


def perturbed_results(P=4):
    grid = Grid.make(5, density=0.05, perturb={"feature": 0, "density": np.geomspace(0.05, 0.002, P)})
    W = np.stack([pentagon() if j < P // 2 else square_plus_dropped() for j in range(P)])[:, None, None, None]
    b = np.zeros((P, 1, 1, 1, 5))
    loss = np.full((P, 1, 1, 1), 0.01)
    arrays = {"W": W, "b": b, "final_loss": loss, "restart_losses": loss[..., None],
              "best_restart": np.zeros((P, 1, 1, 1), np.int64), "loss_curve": np.zeros((P, 1, 1, 1, 0)),
              "snapshots_W": np.zeros((P, 1, 1, 1, 0, 2, 5)), "snapshots_b": np.zeros((P, 1, 1, 1, 0, 5))}
    return Results(StaticConfig(n_features=5, n_hidden=2), grid, arrays)


def test_polytope_transition_figure_marks_the_crossing(panels):
    res = perturbed_results()
    up = np.stack([pentagon()] * 4)
    down = np.stack([square_plus_dropped()] * 4)
    loss = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.5, 2.0, 1.0]]) * 1e-3
    br = Branches(np.stack([up, down]), np.zeros((2, 4, 5)), loss, np.arange(4), 100)
    fig = polytope_transition_figure(res, br, "sparsity", cold_loss=np.full(4, 2e-3))
    assert len(panels(fig)) == 4
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "pentagon" in texts and "2×digon + 1 dropped" in texts
    assert panels(fig)[2].get_title() == "Loss difference: the branches cross"
    x, label = perturbation_axis(res, "sparsity")
    np.testing.assert_allclose(x, np.geomspace(0.05, 0.002, 4), rtol=1e-12)
    assert label == "density of feature 0"
    with pytest.raises(ValueError, match="does not perturb feature 0 along 'importance'"):
        perturbation_axis(res, "importance")
    with pytest.raises(ValueError, match="branches must hold 2 × 4"):
        polytope_transition_figure(res, br._replace(W=br.W[:, :3]), "sparsity")


def test_trajectories_3d_figure_and_aligned_basis(tmp_path):
    rng = np.random.default_rng(0)
    W = np.concatenate([np.eye(3), -np.eye(3)[:, [1, 2, 0]]], axis=1)  # pairs (0, 5), (1, 3), (2, 4)
    snaps = np.stack([0.1 * rng.normal(size=(3, 6)), 0.5 * W, W])
    static = StaticConfig(n_features=6, n_hidden=3, correlated=((0, 1, 2), (3, 4, 5)), n_snapshots=3, steps=10)
    grid = Grid.make(6, sparsity=0.9)
    arrays = {"W": W[None, None, None, None], "b": np.zeros((1, 1, 1, 1, 6)),
              "final_loss": np.full((1, 1, 1, 1), 0.01), "best_restart": np.zeros((1, 1, 1, 1), np.int64),
              "restart_losses": np.full((1, 1, 1, 1, 1), 0.01), "loss_curve": np.zeros((1, 1, 1, 1, 0)),
              "snapshots_W": snaps[None, None, None, None],
              "snapshots_b": np.zeros((1, 1, 1, 1, 3, 6))}
    res = Results(static, grid, arrays)
    fig = trajectories_3d_figure(res)
    assert len(fig.axes) == 2 and "3×digon" in fig._suptitle.get_text()
    R = aligned_basis(W, (0, 1, 2))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(R[2], np.ones(3) / np.sqrt(3), atol=1e-12)  # the first set's mean direction
    colours, names = feature_set_colours(static)
    assert colours[0] == colours[2] != colours[3] and names == ["correlated set {0, 1, 2}",
                                                               "correlated set {3, 4, 5}"]
    from tms.experiments.reproduce import plot_folder

    res.save(tmp_path / "r")
    assert sorted(p.name for p in plot_folder(tmp_path / "r")) == ["census.png", "trajectories3d.png"]
