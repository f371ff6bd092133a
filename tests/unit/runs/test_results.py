"""Results: best-restart selection, non-finite flags, save and load."""

import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.runs.grid import Grid
from tms.runs.pipeline import train_grid
from tms.runs.results import Results, best_models

SMALL = dict(n_features=5, n_hidden=2, batch_size=256, steps=300, restarts=2, eval_batch=2048)


def test_best_restart_is_lowest_loss_and_nan_is_flagged():
    static = StaticConfig(**{**SMALL, "restarts": 3, "optimizer": "sgd", "steps": 50})
    res = train_grid(static, sparsity=[0.0], lr=[1e-2, 1e4], progress=False)
    rl = res.restart_losses[0, 0]  # (L, K, R)
    np.testing.assert_array_equal(res.best_restart[0, 0, 0, 0], np.argmin(rl[0, 0]))
    np.testing.assert_allclose(res.final_loss[0, 0, 0, 0], rl[0, 0].min(), rtol=1e-7, atol=1e-12)
    df = res.to_frame()
    assert list(df["nonfinite"]) == [False, True]
    assert "NON-FINITE" in res.summary_lines()[1]


def test_results_round_trip(tmp_path):
    static = StaticConfig(**{**SMALL, "steps": 20, "log_every": 10, "n_snapshots": 3})
    res = train_grid(static, density=[1.0, 0.1], importance=np.stack([np.ones(5), 0.8 ** np.arange(5)]),
                     importance_params={"importance_decay": [1.0, 0.8]}, seeds=[0, 1], progress=False)
    res.save(tmp_path / "r")
    back = Results.load(tmp_path / "r")
    assert back.static == static
    for k, v in res.arrays.items():
        np.testing.assert_array_equal(back.arrays[k], v)
        assert back.arrays[k].dtype == v.dtype
    df = back.to_frame()
    assert len(df) == 2 * 2 * 1 * 2
    assert {"sparsity", "density", "importance_decay", "seed", "final_loss", "nonfinite"} <= set(df.columns)
    np.testing.assert_allclose(df["sparsity"] + df["density"], 1.0)
    with pytest.raises(FileNotFoundError, match="config.json"):
        Results.load(tmp_path)



def hand_results(W, loss):
    """Results around hand-built ``W: (S, I, L, K, m, n)`` and ``loss: (S, I, L, K)`` (no training)."""
    S, n_imp, L, K, m, n = W.shape
    static = StaticConfig(n_features=n, n_hidden=m)
    grid = Grid.make(n, sparsity=np.linspace(0, 0.9, S), importance=np.ones((n_imp, n)),
                     lr=np.geomspace(1e-3, 1e-2, L), seeds=np.arange(K))
    b = np.zeros((S, n_imp, L, K, n))
    arrays = {"W": W, "b": b, "final_loss": loss, "restart_losses": loss[..., None],
              "best_restart": np.zeros((S, n_imp, L, K), np.int64), "loss_curve": np.ones((S, n_imp, L, K, 0)),
              "snapshots_W": np.zeros((S, n_imp, L, K, 0, m, n)), "snapshots_b": np.zeros((S, n_imp, L, K, 0, n))}
    return Results(static, grid, arrays)


def test_best_models_picks_lowest_finite_loss_over_lr_and_seed():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 1, 2, 3, 2, 4))
    loss = np.array([[[[0.5, np.nan, 0.2], [0.3, 0.9, 0.8]]], [[[np.inf, 0.4, 0.6], [0.7, 0.05, 0.1]]]])
    best = best_models(hand_results(W, loss))
    np.testing.assert_array_equal(best.lr_index, [[0], [1]])
    np.testing.assert_array_equal(best.seed_index, [[2], [1]])
    np.testing.assert_allclose(best.loss, [[0.2], [0.05]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(best.W[0, 0], W[0, 0, 0, 2], rtol=0, atol=0)
    np.testing.assert_allclose(best.W[1, 0], W[1, 0, 1, 1], rtol=0, atol=0)
