"""Following trained solutions along one grid axis by warm starts, from both ends (two branches).

At a first-order transition two configurations are both stable near the switch, and a cold start (random
initialisation) lands on whichever basin it falls into. To draw both configurations' losses across the
switch, each one is *followed*: branch ``up`` starts at the first cell of the axis from the cold-trained
solution there and trains every next cell starting from the previous cell's result; branch ``down`` does
the same from the last cell backwards. The two branches' losses are then measured on one common evaluation
batch per cell (common random numbers, so their difference has little noise) and cross where the cheaper
configuration changes.

Shapes: ``P`` cells along the axis; ``W: (2, P, m, n)``, ``b: (2, P, n)``, ``loss: (2, P)`` with branch 0 =
up (from cell 0), 1 = down (from cell P − 1).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import data as tdata
from ..engine import train as engine_train
from ..engine.config import StaticConfig
from ..engine.kinds import get_kind
from ..engine.models import Params
from ..engine.train import compiler_options, make_train_cells
from ..errors import TmsError
from ..io import check_int
from .progress import Progress
from .results import best_models

FOLLOW_AXES = ("sparsity", "importance")


class Branches(NamedTuple):
    """Both followed branches along one axis (see the module docstring for shapes); ``cells``: the flat
    (S, I, L) cell index of each position, ``steps``: training steps per warm-started cell."""

    W: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    cells: np.ndarray
    steps: int


@functools.lru_cache(maxsize=8)
def _warm_fn(static: StaticConfig):
    cells = make_train_cells(static)
    return jax.jit(lambda hp, key, W, b: cells(hp, key, Params(W, b)), compiler_options=compiler_options(static))


@functools.lru_cache(maxsize=8)
def _eval_fn(static: StaticConfig, batch: int):
    sets = static.sets
    evaluate = get_kind(static.kind).make_eval(static, fast=engine_train.FAST_PATHS)

    def loss(hp, key, W, b):  # W: (C, m, n) -> (C,) on one shared batch of draws
        draws = tdata.draw(key, batch, static.n_features, sets)
        return evaluate(Params(jnp.moveaxis(W, 0, -1), b.T), draws, hp.sparsity.T, hp.importance.T)

    return jax.jit(loss, compiler_options=compiler_options(static))


def cell_losses(static: StaticConfig, grid, cells: np.ndarray, W: np.ndarray, b: np.ndarray, batch: int = 2 ** 17,
             seed: int = 0) -> np.ndarray:
    """Training loss of models ``W: (C, m, n)``, ``b: (C, n)`` at grid cells ``cells: (C,)`` on one shared
    evaluation batch of ``batch`` examples drawn from ``seed`` (each cell thresholds the same draws)."""
    hp = grid.cell_hparams(static.n_features, np.asarray(cells))
    W, b = jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)
    out = _eval_fn(static, int(batch))(hp, jax.random.PRNGKey(seed), W, b)
    return np.asarray(out, np.float64)


def follow_branches(res, axis: str = "sparsity", steps: int | None = None, eval_batch: int = 2 ** 17,
                    progress: bool = True, desc: str = "follow branches") -> Branches:
    """Follow the best models of ``res`` along ``axis`` (``"sparsity"`` or ``"importance"``; the other grid
    indices at 0) from both ends, ``steps`` training steps per cell (default the sweep's), seed 0's key.
    ``desc`` names the progress bar."""
    if axis not in FOLLOW_AXES:
        raise TmsError(f"axis must be one of {FOLLOW_AXES}; got {axis!r}")
    if steps is not None:
        check_int("steps", steps, 1)
    grid, static = res.grid, res.static
    S, I, L, _ = grid.shape
    P = S if axis == "sparsity" else I
    if P < 2:
        raise TmsError(f"following branches needs at least 2 cells along {axis}; the grid has {P}")
    cells = np.ravel_multi_index((np.arange(P), 0, 0) if axis == "sparsity" else (0, np.arange(P), 0), (S, I, L))
    best = best_models(res)
    cold_W = best.W[:, 0] if axis == "sparsity" else best.W[0]
    cold_b = best.b[:, 0] if axis == "sparsity" else best.b[0]
    warm = dataclasses.replace(static, steps=steps or static.steps, restarts=1, log_every=0, n_snapshots=0)
    fn, key = _warm_fn(warm), jax.random.PRNGKey(int(grid.seeds[0]))
    W = np.zeros((2, P) + cold_W.shape[1:])
    b = np.zeros((2, P) + cold_b.shape[1:])
    W[0, 0], b[0, 0], W[1, P - 1], b[1, P - 1] = cold_W[0], cold_b[0], cold_W[P - 1], cold_b[P - 1]
    bar = Progress(P - 1, 2 * warm.steps * warm.batch_size, enabled=progress, desc=desc)
    try:
        for j in range(1, P):
            up, down = j, P - 1 - j
            hp = grid.cell_hparams(static.n_features, cells[[up, down]])
            init_W = np.stack([W[0, up - 1], W[1, down + 1]]).astype(np.float32)
            init_b = np.stack([b[0, up - 1], b[1, down + 1]]).astype(np.float32)
            out = jax.device_get(fn(hp, key, init_W, init_b))
            W[0, up], W[1, down] = out.params.W
            b[0, up], b[1, down] = out.params.b
            bar.update(1)
    finally:
        bar.close()
    loss = np.stack([cell_losses(static, grid, cells, W[k], b[k], eval_batch) for k in range(2)])
    return Branches(W, b, loss, cells, warm.steps)


def crossing(loss: np.ndarray, rtol: float = 1e-3) -> int | None:
    """Index j where the branches' loss difference ``loss[0] − loss[1]`` (``(2, P)``) first changes sign
    between positions j and j + 1 (None if it never does). Differences within ``rtol`` of the loss (both
    branches in the same configuration) carry no sign and are skipped: j is then the last signed position
    before the flip."""
    loss = np.asarray(loss, np.float64)
    d = loss[0] - loss[1]
    signed = np.flatnonzero(np.abs(d) > rtol * np.abs(loss).mean(axis=0))
    flips = np.flatnonzero(np.sign(d[signed[:-1]]) * np.sign(d[signed[1:]]) < 0)
    return int(signed[flips[0]]) if flips.size else None
