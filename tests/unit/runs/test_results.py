"""Results: best-restart selection, non-finite flags, save and load."""

import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.runs.results import Results, train_grid

SMALL = dict(n_features=5, n_hidden=2, batch_size=256, steps=300, restarts=2, eval_batch=2048)


def test_best_restart_is_lowest_loss_and_nan_is_flagged():
    static = StaticConfig(**{**SMALL, "restarts": 3, "optimizer": "sgd", "steps": 50})
    res = train_grid(static, sparsity=[0.0], lr=[1e-2, 1e4], progress=False)
    rl = res.restart_losses[0, 0]  # (L, K, R)
    np.testing.assert_array_equal(res.best_restart[0, 0, 0, 0], np.argmin(rl[0, 0]))
    np.testing.assert_allclose(res.final_loss[0, 0, 0, 0], rl[0, 0].min())
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

