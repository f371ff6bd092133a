"""Running a finite-data sweep into the resumable store, and its merged results (:class:`FiniteResults`).

The folder is the same as any sweep's (``spec.toml``, ``resolved.json``, ``chunks/NNNNN.npz``, then
``config.json``, ``arrays.npz``, ``table.csv``); see :mod:`tms.runs.finite` for chunks and array shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.finite import FiniteConfig
from .finite import ARRAY_NAMES, FiniteGrid, FiniteSpec, available_memory, train_chunk
from .progress import Progress
from .results import ArrayFields
from .store import prepare_folder, read_chunk, write_chunk


@dataclass(frozen=True)
class FiniteResults(ArrayFields):
    """Merged arrays of a finite sweep (leading axes ``(M, K, n_T)``), its config and grid."""

    static: FiniteConfig
    grid: FiniteGrid
    arrays: dict

    def to_frame(self) -> pd.DataFrame:
        """One row per (m, seed, T): losses, the kept restart."""
        g = self.grid
        M, K, N = len(g.hidden_sizes), len(g.seeds), len(g.train_sizes)
        i, k, j = (a.ravel() for a in np.meshgrid(np.arange(M), np.arange(K), np.arange(N), indexing="ij"))
        return pd.DataFrame({
            "n_hidden": np.asarray(g.hidden_sizes)[i], "seed": np.asarray(g.seeds)[k],
            "train_size": np.asarray(g.train_sizes)[j], "train_loss": self.arrays["train_loss"].reshape(-1),
            "test_loss": self.arrays["test_loss"].reshape(-1), "best_restart": self.arrays["best_restart"].reshape(-1),
        })

    def summary_lines(self) -> list[str]:
        """One line per (m, T), seeds pooled: mean train and test loss, and how many seeds diverged (train loss
        non-finite or above n, the most the all-zero model can lose with importance 1: as for the grid)."""
        df = self.to_frame()
        df["diverged"] = ~(df["train_loss"] <= self.static.n_features)
        df = df.groupby(["n_hidden", "train_size"], sort=False).agg(
            train_loss=("train_loss", "mean"), test_loss=("test_loss", "mean"), diverged=("diverged", "sum"))
        return [f"m={m}, T={t}: train loss {r.train_loss:.5g}, test loss {r.test_loss:.5g}"
                + (f", {int(r.diverged)} DIVERGED" if r.diverged else "") for (m, t), r in df.iterrows()]

    def config(self) -> dict:
        return {"finite": self.static.to_dict(), "grid": self.grid.to_dict()}

    @staticmethod
    def load(folder) -> FiniteResults:
        """Read a finite sweep's folder, checked as :meth:`ArrayFields.read_folder` does, shapes included."""
        cfg, arrays = ArrayFields.read_folder(folder, ARRAY_NAMES)
        res = ArrayFields.from_config(folder, lambda: FiniteResults(FiniteConfig.from_dict(cfg["finite"]),
                                                                    FiniteGrid.from_dict(cfg["grid"]), arrays))
        g = res.grid
        lead = (len(g.hidden_sizes), len(g.seeds), len(g.train_sizes))
        res.check_shapes(folder, {name: lead for name in ("train_loss", "test_loss", "best_restart")}
                         | {"W": (*lead, max(g.hidden_sizes), res.static.n_features),
                            "b": (*lead, res.static.n_features)})
        return res


def merge(spec: FiniteSpec, parts: list[dict]) -> dict:
    """Chunk arrays -> grid arrays ``(M, K, ...)``, m padded to the largest with zero rows."""
    g = spec.grid
    M, K, m_max = len(g.hidden_sizes), len(g.seeds), max(g.hidden_sizes)
    pad_axis = {"W": -2, "hidden": -1}
    merged = {}
    for name in ARRAY_NAMES:
        rows = []
        for a in parts:
            x = np.asarray(a[name])
            if name in pad_axis:
                width = [(0, 0)] * x.ndim
                width[pad_axis[name]] = (0, m_max - x.shape[pad_axis[name]])
                x = np.pad(x, width)
            rows.append(x)
        merged[name] = np.stack(rows).reshape((M, K) + rows[0].shape)
    return merged


def run_finite_sweep(spec: FiniteSpec, out, overwrite: bool = False, progress: bool = True,
                     stop_after: int | None = None, memory: int | None = None) -> FiniteResults | None:
    """Run (or resume) a finite sweep into folder ``out``; returns the merged :class:`FiniteResults`.

    Before anything compiles, each hidden size's run is checked against ``memory`` bytes (default: this
    machine's physical memory): :class:`~tms.engine.finite.DataTooLargeError` if it would not fit.
    ``stop_after``: stop after training that many new chunks and return None (for tests of resuming).
    """
    limit = available_memory() if memory is None else memory
    for m in spec.grid.hidden_sizes:
        spec.config(m).check_memory(limit)
    out = prepare_folder(spec, out, overwrite)
    chunks = spec.grid.chunks
    parts = [read_chunk(out, cid) for cid in range(len(chunks))]
    s = spec.static
    bar = Progress(len(chunks), s.restarts * s.steps * s.batch * len(s.train_sizes), enabled=progress,
                   desc="finite")
    trained = 0
    try:
        for cid, (mi, ki) in enumerate(chunks):
            if parts[cid] is not None:
                bar.update(1, skipped=True)
                continue
            parts[cid] = train_chunk(spec, mi, ki)
            write_chunk(out, cid, parts[cid])
            bar.update(1)
            trained += 1
            if stop_after is not None and trained >= stop_after and cid < len(chunks) - 1:
                return None
    finally:
        bar.close()
    res = FiniteResults(spec.static, spec.grid, merge(spec, parts))
    res.save(out)
    return res
