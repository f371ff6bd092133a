"""Finite-data figures and their numbers, from hand-built results (no training)."""

import numpy as np
import pytest

from tms.engine.finite import FiniteConfig
from tms.experiments.finite_data import finite_figures, peaks, strong_summary
from tms.runs.kinds.finite import FiniteGrid, FiniteResults


def hand_built():
    """m = 2 and 3, one seed, T = 3, 6, 12: training points on a regular T-gon, a pentagon of features."""
    T, n, M = (3, 6, 12), 7, (2, 3)
    W = np.zeros((2, 1, 3, 3, n))
    H = np.zeros((2, 1, 3, 12, 3))
    angles = 2 * np.pi * np.arange(5) / 5
    for mi in range(2):
        for j, t in enumerate(T):
            a = 2 * np.pi * np.arange(t) / t
            H[mi, 0, j, :t, :2] = np.stack([np.cos(a), np.sin(a)], axis=1)
            W[mi, 0, j, :2, :5] = np.stack([np.cos(angles), np.sin(angles)])
            W[mi, 0, j, :2, 5:] = 0.01
    test = np.array([[[1.0, 1.2, 0.9]], [[1.0, 1.05, 1.1]]])
    arrays = {"W": W, "b": np.zeros((2, 1, 3, n)), "train_loss": np.zeros((2, 1, 3)), "test_loss": test,
              "best_restart": np.zeros((2, 1, 3), int), "restart_train_losses": np.zeros((2, 1, 3, 1)),
              "hidden": H, "dropped": np.zeros((2, 1), int)}
    cfg = FiniteConfig(n_features=n, n_hidden=2, train_sizes=T)
    return FiniteResults(cfg, FiniteGrid(M, T, (0,)), arrays)


def test_strong_summary_and_peaks_read_hand_built_models():
    res = hand_built()
    s = strong_summary(res, 2)
    for t in (3, 6, 12):
        assert s[f"T={t}"]["strong_points"] == t
        np.testing.assert_allclose(s[f"T={t}"]["strong_points_mean_D"], 2 / t, rtol=1e-3)
        assert s[f"T={t}"]["strong_features"] == 5
        np.testing.assert_allclose(s[f"T={t}"]["strong_features_mean_D"], 2 / 5, rtol=1e-3)
    p = peaks(res)
    assert p["m=2"]["max_test_loss_T"] == 6 and p["m=2"]["interior_peak_T"] == 6
    assert p["m=3"]["max_test_loss_T"] == 12 and p["m=3"]["interior_peak_T"] is None


def test_every_figure_draws(tmp_path):
    files = finite_figures(hand_built(), tmp_path)
    assert sorted(f.name for f in files) == sorted(["finite_data_loss.png", "finite_data_heatmap.png",
                                                    "finite_data_geometry.png", "finite_data_dimensionality.png"])
    assert all(f.stat().st_size > 5_000 for f in files)


def test_a_missing_m_is_a_named_error():
    from tms.plots.finite import finite_dimensionality_figure

    with pytest.raises(ValueError, match="n_hidden=4 is not in"):
        finite_dimensionality_figure(hand_built(), 4)
