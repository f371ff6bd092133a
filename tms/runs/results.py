"""Results of a grid: weights with leading grid axes, losses, the resolved config; tidy tables; disk I/O.

Array shapes (grid axes ``(S, I, L, K)`` = sparsity, importance setting, lr, seed):

- ``W: (S, I, L, K, m, n)``, ``b: (S, I, L, K, n)``;
- ``final_loss: (S, I, L, K)`` (best restart, on the evaluation batch); ``restart_losses: (..., R)``;
- ``loss_curve: (..., n_logs)`` at ``static.log_steps``; ``snapshots_W: (..., n_snap, m, n)`` and
  ``snapshots_b: (..., n_snap, n)`` at ``static.snapshot_steps``.

On disk, a results folder holds ``config.json`` (static config + grid values), ``arrays.npz`` and
``table.csv`` (the :meth:`Results.to_frame` table, for reading without Python). Writes are atomic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, StaticConfig
from ..io import atomic_write, write_json
from .grid import Grid, run_grid

ARRAY_NAMES = ("W", "b", "final_loss", "restart_losses", "best_restart", "loss_curve", "snapshots_W",
               "snapshots_b")


class ArrayFields:
    """Results held as an ``arrays`` dict: its entries read as attributes (``res.W`` is ``res.arrays["W"]``),
    and ``save`` writes them with the config and the table."""

    def __getattr__(self, name):
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def save(self, folder) -> Path:
        """Write ``arrays.npz``, ``config.json`` (``self.config()``) and ``table.csv`` (``self.to_frame()``)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "arrays.npz", lambda f: np.savez(f, **self.arrays), binary=True)
        write_json(folder / "config.json", self.config())
        atomic_write(folder / "table.csv", lambda f: self.to_frame().to_csv(f, index=False))
        return folder


@dataclass(frozen=True)
class Results(ArrayFields):
    static: StaticConfig
    grid: Grid
    arrays: dict

    @property
    def nonfinite(self) -> np.ndarray:
        """``(S, I, L, K)`` True where the kept model's loss (or weights) is NaN/inf: not a usable model."""
        W_ok = np.all(np.isfinite(self.arrays["W"]), axis=(-2, -1))
        return ~(np.isfinite(self.arrays["final_loss"]) & W_ok)

    @property
    def density(self) -> np.ndarray:
        return 1.0 - self.grid.sparsity

    def to_frame(self) -> pd.DataFrame:
        """One row per (cell, seed): the cell's settings, its loss and whether it is non-finite.

        ``sparsity`` is S (probability a feature is zero), ``density`` is 1 − S; ``importance_index`` picks a
        row of ``grid.importance`` (its describing parameters, if any, are extra columns).
        """
        g = self.grid
        S, I, L, K = g.shape
        s, i, l, k = (a.ravel() for a in np.meshgrid(np.arange(S), np.arange(I), np.arange(L), np.arange(K),
                                                      indexing="ij"))
        df = pd.DataFrame({
            "sparsity": g.sparsity[s], "density": 1.0 - g.sparsity[s], "importance_index": i,
        })
        for name, values in g.table_columns(s, i).items():  # importance parameters, a perturbed feature
            df[name] = values
        df["lr"] = g.lr[l]
        df["seed"] = g.seeds[k]
        df["final_loss"] = self.arrays["final_loss"].reshape(-1)
        df["best_restart"] = self.arrays["best_restart"].reshape(-1)
        df["nonfinite"] = self.nonfinite.reshape(-1)
        return df

    def config(self) -> dict:
        return {"static": self.static.to_dict(), "grid": self.grid.to_dict()}

    @staticmethod
    def load(folder) -> "Results":
        folder = Path(folder)
        for name in ("config.json", "arrays.npz"):
            if not (folder / name).exists():
                raise FileNotFoundError(f"{folder} is not a results folder: {name} is missing")
        cfg = json.loads((folder / "config.json").read_text())
        with np.load(folder / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
        return Results(StaticConfig.from_dict(cfg["static"]), Grid.from_dict(cfg["grid"]), arrays)

    def summary_lines(self) -> list[str]:
        """One line per cell (seeds pooled): settings, mean loss, and how many seeds were non-finite."""
        df = self.to_frame()
        keys = ["sparsity", "importance_index", *self.grid.table_columns(np.zeros(0, int), np.zeros(0, int)), "lr"]
        lines = []
        for vals, g in df.groupby(keys, sort=False):
            desc = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(keys, vals))
            bad = int(g["nonfinite"].sum())
            lines.append(f"{desc}: loss {g['final_loss'].mean():.5g} over {len(g)} seed(s)"
                         + (f", {bad} NON-FINITE" if bad else ""))
        return lines


def train_grid(static: StaticConfig | None = None, *, sparsity=None, density=None, importance=None,
               lr=DEFAULT_LR, seeds=(0,), weight_decay=DEFAULT_WEIGHT_DECAY, importance_params=None,
               perturb=None, chunk_size=None, progress=True,
               devices=1, **static_kwargs) -> Results:
    """Train a sparsity × importance × lr × seed grid; returns :class:`Results`.

    ``static`` or keyword settings of :class:`StaticConfig` (``n_features=5, n_hidden=2, steps=...``).
    Give exactly one of ``sparsity`` / ``density`` (scalars or lists). ``perturb = {"feature": i, "density":
    values}`` (or ``"sparsity"``, and/or ``"importance"``) varies one feature (:meth:`tms.runs.grid.Grid.make`).
    """
    if static is None:
        static = StaticConfig(**static_kwargs)
    elif static_kwargs:
        raise ValueError(f"give either static or keyword settings, not both: {sorted(static_kwargs)}")
    if sparsity is None and density is None:
        sparsity = 0.0
    grid = Grid.make(static.n_features, sparsity=sparsity, density=density, importance=importance, lr=lr,
                     seeds=seeds, weight_decay=weight_decay, importance_params=importance_params, perturb=perturb)
    arrays = run_grid(static, grid, chunk_size=chunk_size, progress=progress, devices=devices)
    return Results(static, grid, arrays)


class BestModels(NamedTuple):
    """One model per (sparsity, importance) cell, the lowest-loss one over lr × seed.

    ``W: (S, I, m, n)``, ``b: (S, I, n)``, ``loss: (S, I)`` (inf where every model was non-finite),
    ``lr_index``, ``seed_index: (S, I)`` (which lr and seed were kept).
    """

    W: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    lr_index: np.ndarray
    seed_index: np.ndarray


def check_results(res, who: str, n_features=None, n_hidden=None):
    """Raise a ValueError unless ``res`` is a Results with the required sizes (``None``: any)."""
    for name in ("static", "grid", "arrays"):
        if not hasattr(res, name):
            raise ValueError(f"{who}: expected a tms.runs.results.Results; got {type(res).__name__}")
    st = res.static
    if n_features is not None and st.n_features not in np.atleast_1d(n_features):
        raise ValueError(f"{who}: needs n_features in {list(np.atleast_1d(n_features))}; "
                         f"got n_features={st.n_features}")
    if n_hidden is not None and st.n_hidden not in np.atleast_1d(n_hidden):
        raise ValueError(f"{who}: needs n_hidden in {list(np.atleast_1d(n_hidden))}; got n_hidden={st.n_hidden}")


def best_models(res) -> BestModels:
    """Reduce the lr and seed axes of ``res`` to the lowest-final-loss finite model per cell."""
    W, b = np.asarray(res.W, np.float64), np.asarray(res.b, np.float64)
    loss = np.where(res.nonfinite, np.inf, np.asarray(res.final_loss, np.float64))
    S, I, L, K = loss.shape
    m, n = W.shape[-2:]
    flat = loss.reshape(S, I, L * K)
    j = np.argmin(flat, axis=-1)  # (S, I)
    pick = lambda a: np.take_along_axis(a, j.reshape((S, I, 1) + (1,) * (a.ndim - 3)), axis=2)[:, :, 0]  # noqa
    return BestModels(W=pick(W.reshape(S, I, L * K, m, n)), b=pick(b.reshape(S, I, L * K, n)),
                      loss=np.take_along_axis(flat, j[..., None], axis=-1)[..., 0],
                      lr_index=j // K, seed_index=j % K)
