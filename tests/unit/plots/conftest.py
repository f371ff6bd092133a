"""Fixtures for the figure tests: Results around hand-built weights (no training), panel lookups."""

from __future__ import annotations

import numpy as np
import pytest

from tms.engine.config import StaticConfig
from tms.runs.grid import Grid
from tms.runs.results import Results


def pentagon(length=1.0):
    a = 2 * np.pi * np.arange(5) / 5 + 0.3
    return length * np.stack([np.cos(a), np.sin(a)])  # (2, 5)



def fake_results(W, b=None, loss=None, sparsity=None, importance=None, importance_params=None, **static_kw):
    """Results around hand-built ``W: (S, I, L, K, m, n)`` (no training)."""
    W = np.asarray(W, np.float64)
    S, I, L, K, m, n = W.shape
    b = np.zeros((S, I, L, K, n)) if b is None else np.asarray(b, np.float64)
    loss = np.full((S, I, L, K), 0.1) if loss is None else np.asarray(loss, np.float64)
    static = StaticConfig(n_features=n, n_hidden=m, **static_kw)
    grid = Grid.make(n, sparsity=np.linspace(0, 0.9, S) if sparsity is None else sparsity,
                     importance=np.ones((I, n)) if importance is None else importance,
                     lr=np.geomspace(1e-3, 1e-2, L), seeds=np.arange(K), importance_params=importance_params)
    n_logs, n_snap = static.n_logs, static.n_snapshots
    arrays = {"W": W, "b": b, "final_loss": loss, "restart_losses": loss[..., None],
              "best_restart": np.zeros((S, I, L, K), np.int64), "loss_curve": np.ones((S, I, L, K, n_logs)),
              "snapshots_W": np.repeat(W[..., None, :, :], n_snap, axis=4),
              "snapshots_b": np.repeat(b[..., None, :], n_snap, axis=4)}
    return Results(static, grid, arrays)



def panels(fig):
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]



def colourbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]



@pytest.fixture(name="pentagon")
def pentagon_fixture():
    return pentagon


@pytest.fixture(name="fake_results")
def fake_results_fixture():
    return fake_results


@pytest.fixture(name="panels")
def panels_fixture():
    return panels


@pytest.fixture(name="colourbars")
def colourbars_fixture():
    return colourbars


@pytest.fixture(scope="module")
def intro_like():
    """S=0: two dedicated dimensions and three dropped features; S=0.9: a regular pentagon."""
    W = np.zeros((2, 1, 1, 1, 2, 5))
    W[0, 0, 0, 0, :, :2] = np.eye(2)
    W[1, 0, 0, 0] = pentagon()
    return fake_results(W, sparsity=[0.0, 0.9], importance=0.9 ** np.arange(5))

