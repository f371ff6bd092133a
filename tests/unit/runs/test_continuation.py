"""Warm starts and followed branches: a warm start starts where it is told, the branches' ends are the cold
solutions, the evaluation loss matches float64 NumPy on the same draws, and the crossing finder."""

import jax
import numpy as np
import pytest

from tms.engine import data as tdata
from tms.engine.config import StaticConfig
from tms.engine.models import Params
from tms.engine.train import make_train_cells
from tms.runs.continuation import cell_losses, crossing, follow_branches
from tms.runs.grid import Grid
from tms.runs.pipeline import train_grid


def test_warm_start_starts_from_init():
    st = StaticConfig(n_features=4, n_hidden=2, steps=3, batch_size=8, restarts=2)
    g = Grid.make(4, sparsity=[0.5, 0.7], lr=1e-9)
    rng = np.random.default_rng(0)
    init = Params(W=rng.normal(size=(2, 2, 4)).astype(np.float32), b=rng.normal(size=(2, 4)).astype(np.float32))
    out = jax.jit(make_train_cells(st))(g.cell_hparams(4, np.arange(2)), jax.random.PRNGKey(0), init)
    np.testing.assert_allclose(np.asarray(out.params.W), init.W, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out.params.b), init.b, rtol=0, atol=1e-5)


def test_cell_losses_match_float64_numpy():
    st = StaticConfig(n_features=3, n_hidden=2, steps=1, batch_size=8)
    g = Grid.make(3, sparsity=[0.2, 0.6], importance=[[1.0, 0.5, 2.0]])
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(2, 2, 3)), rng.normal(scale=0.1, size=(2, 3))
    got = cell_losses(st, g, np.arange(2), W, b, batch=512, seed=3)
    d = tdata.draw(jax.random.PRNGKey(3), 512, 3)
    mask, value = np.asarray(d.mask, np.float64), np.asarray(d.value, np.float64)
    for c, s in enumerate(g.sparsity):
        X = np.where(mask < 1 - s, value, 0.0).T  # (batch, n)
        y = np.maximum(X @ W[c].T @ W[c] + b[c], 0.0)
        ref = np.mean(np.sum(g.importance[0] * (X - y) ** 2, axis=1))
        np.testing.assert_allclose(got[c], ref, rtol=2e-5, atol=1e-9)


def test_follow_branches_ends_are_the_cold_solutions():
    res = train_grid(n_features=3, n_hidden=2, steps=40, batch_size=32, sparsity=[0.5, 0.7, 0.9], progress=False)
    br = follow_branches(res, "sparsity", steps=10, eval_batch=256, progress=False)
    assert br.W.shape == (2, 3, 2, 3) and br.loss.shape == (2, 3) and br.steps == 10
    np.testing.assert_array_equal(br.W[0, 0], res.W[0, 0, 0, 0])
    np.testing.assert_array_equal(br.W[1, 2], res.W[2, 0, 0, 0])
    assert not np.allclose(br.W[0, 1], res.W[1, 0, 0, 0])  # trained from cell 0's solution, not cold
    np.testing.assert_array_equal(br.cells, [0, 1, 2])
    with pytest.raises(ValueError, match="at least 2 cells along importance"):
        follow_branches(res, "importance", progress=False)
    with pytest.raises(ValueError, match="axis must be one of"):
        follow_branches(res, "lr", progress=False)


def test_crossing():
    assert crossing(np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.5, 2.0, 1.0]])) == 1
    assert crossing(np.array([[1.0, 2.0], [2.0, 3.0]])) is None
    # equal configurations (difference within rtol of the loss) carry no sign
    assert crossing(np.array([[1.0, 1.0 + 1e-6, 1.0], [1.0 + 1e-6, 1.0, 1.0 + 1e-6]])) is None
    assert crossing(np.array([[1.0, 2.0, 2.0], [2.0, 2.0, 1.0]])) == 0  # through a touching point
