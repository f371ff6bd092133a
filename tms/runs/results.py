"""Results of a grid: weights with leading grid axes, losses, the resolved config; tidy tables; disk I/O.

Array shapes (grid axes ``(S, I, L, K)`` = sparsity, importance setting, lr, seed; per model the arrays of
:func:`tms.runs.grid.stored_shapes`):

- the model kind's parameters as it declares them: ``W: (S, I, L, K, m, n)``, ``b: (S, I, L, K, n)`` for the
  tied kinds (``relu``, ``linear``, ``relu_hidden``); ``W1: (..., m, n)``, ``W2: (..., n, m)``, ``b`` for
  ``abs``; ``W``, ``b_hidden: (..., m)``, ``b`` for ``relu_hidden_bias``;
- ``final_loss: (S, I, L, K)`` (best restart, on the evaluation batch); ``restart_losses: (..., R)``;
- ``loss_curve: (..., n_logs)`` at ``static.log_steps``; each parameter's snapshots ``snapshots_W:
  (..., n_snap, m, n)``, ``snapshots_b: (..., n_snap, n)``, ... at ``static.snapshot_steps``.

On disk, a results folder holds ``config.json`` (static config + grid values), ``arrays.npz`` and
``table.csv`` (the :meth:`Results.to_frame` table, for reading without Python). Writes are atomic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd

from ..engine.config import StaticConfig
from ..engine.kinds import get_kind
from ..errors import CorruptFileError, MissingFileError, TmsError
from ..io import atomic_write, read_json, read_npz, strict, write_json
from .grid import CELL_ARRAYS, Grid, stored_shapes
from .ownership import claim, read_marker


class ArrayFields:
    """Results held as an ``arrays`` dict: its entries read as attributes (``res.W`` is ``res.arrays["W"]``),
    and ``save`` writes them with the config and the table. ``kind`` names the sweep kind that made them
    (:mod:`tms.runs.kinds`); ``config()`` records it, and loading a folder dispatches on it."""

    kind: ClassVar[str]

    def __getattr__(self, name):
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def save(self, folder, overwrite: bool = False) -> Path:
        """Write ``arrays.npz``, ``config.json`` (``self.config()``) and ``table.csv`` (``self.to_frame()``).

        ``folder`` must be new, empty or the lab's own (:mod:`tms.runs.ownership`): results already there are
        replaced only with ``overwrite`` (a sweep's store saves its merged results into its own folder).
        ``arrays.npz`` also records the config (``__config__``), so that loading notices an edited config.json.
        """
        folder = claim(folder, "results", overwrite=overwrite, keep=(Path(folder) / "resolved.json").is_file())
        config = self.config()
        record = np.array(json.dumps(strict(config), sort_keys=True))
        atomic_write(folder / "arrays.npz", lambda f: np.savez(f, **self.arrays, __config__=record), binary=True)
        write_json(folder / "config.json", config)
        atomic_write(folder / "table.csv", lambda f: self.to_frame().to_csv(f, index=False))
        return folder

    @staticmethod
    def read_folder(folder, array_names) -> tuple[dict, dict]:
        """``(config, arrays)`` of a results folder, checked: both files there and readable, a schema this
        version reads, config.json equal to the config recorded in arrays.npz, every array in ``array_names``
        present. Errors name the file and say what to do."""
        folder = Path(folder)
        redo = "run the sweep (or tms train) again into a new --out to rebuild it"
        if (folder / "resolved.json").is_file():
            redo = ("delete it and run the same tms sweep run again: the finished chunks are kept, so nothing is "
                    "retrained")
        for name in ("config.json", "arrays.npz"):
            if not (folder / name).is_file():
                raise MissingFileError(f"{folder} is not a results folder: {name} is missing")
        read_marker(folder)
        cfg = read_json(folder / "config.json", redo)
        arrays = read_npz(folder / "arrays.npz", redo)
        if "__config__" in arrays:  # folders written before the record have none
            try:
                recorded = json.loads(str(arrays.pop("__config__")))
            except ValueError as e:
                raise CorruptFileError(f"{folder / 'arrays.npz'}: damaged config record ({e}); {redo}") from None
            if json.dumps(strict(cfg), sort_keys=True) != json.dumps(recorded, sort_keys=True):
                key = first_difference(cfg, recorded)
                raise CorruptFileError(f"{folder / 'config.json'}: {key} disagrees with the config recorded in "
                                       f"arrays.npz (config.json was edited after the results were written); "
                                       f"restore it, or {redo}")
        missing = [n for n in array_names if n not in arrays]
        if not isinstance(cfg, dict) or missing:
            raise CorruptFileError(f"{folder / 'arrays.npz'}: missing arrays {missing}; {redo}")
        return cfg, arrays

    @staticmethod
    def from_config(folder, make):
        """``make()`` (results built from a folder's config); a CorruptFileError naming config.json if the config
        is not one (a key added, removed or of the wrong type)."""
        try:
            return make()
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CorruptFileError(f"{Path(folder) / 'config.json'}: not a results config ({type(e).__name__}: "
                                   f"{e})") from None

    def check_shapes(self, folder, expected: dict) -> None:
        """Every array's shape against ``expected`` (name -> shape from the config): a CorruptFileError naming
        the array (or the arrays missing) otherwise."""
        missing = [name for name in expected if name not in self.arrays]
        if missing:
            raise CorruptFileError(f"{Path(folder) / 'arrays.npz'}: missing arrays {missing} that config.json's "
                                   f"model kind stores; restore the folder or rebuild it")
        for name, shape in expected.items():
            got = np.shape(self.arrays[name])
            if tuple(got) != tuple(shape):
                raise CorruptFileError(f"{Path(folder) / 'arrays.npz'}: {name} has shape {tuple(got)} but "
                                       f"config.json says {tuple(shape)}; the config does not describe these "
                                       f"arrays: restore config.json or rebuild the folder")


def first_difference(a, b, path: str = "") -> str:
    """The first key path at which two JSON values differ (``"static.n_features"``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, ...) != b.get(k, ...):
                return first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    return path or "the config"


@dataclass(frozen=True)
class Results(ArrayFields):
    static: StaticConfig
    grid: Grid
    arrays: dict

    @property
    def param_names(self) -> tuple[str, ...]:
        """The model kind's parameter names, as stored (``("W", "b")`` for the tied kinds)."""
        return tuple(get_kind(self.static.kind).param_shapes(self.static.n_features, self.static.n_hidden))

    @property
    def nonfinite(self) -> np.ndarray:
        """``(S, I, L, K)`` True where the kept model's loss (or any parameter) is NaN/inf: not a usable model."""
        ok = np.isfinite(self.arrays["final_loss"])
        for name in self.param_names:
            a = self.arrays[name]
            ok = ok & np.all(np.isfinite(a), axis=tuple(range(ok.ndim, a.ndim)))
        return ~ok

    @property
    def diverged(self) -> np.ndarray:
        """``(S, I, L, K)`` True where the kept model is non-finite or its loss exceeds Σ_i I_i: the most the
        all-zero model can lose (every target lies in [0, 1]: x_i, or |x_i| for abs, so E[y_i²] <= 1), so training
        made it worse than outputting nothing (a too-large lr: ``--lr 1e6`` gives losses near 1e22)."""
        bound = self.grid.importance.sum(axis=-1)[None, :, None, None]  # (1, I, 1, 1)
        return self.nonfinite | (np.asarray(self.arrays["final_loss"], np.float64) > bound)

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
        df["diverged"] = self.diverged.reshape(-1)
        return df

    kind: ClassVar[str] = "grid"

    def config(self) -> dict:
        return {"kind": self.kind, "static": self.static.to_dict(), "grid": self.grid.to_dict()}

    def describe(self) -> str:
        """Header lines for ``tms sweep show``: the model and training settings, and the grid's size."""
        s, g = self.static, self.grid
        return (f"n={s.n_features}, m={s.n_hidden}, {s.kind}{'' if s.bias else ' (no bias)'}, "
                f"{s.steps} steps x batch {s.batch_size}, {s.optimizer}/{s.schedule}, {s.restarts} restart(s)\n"
                f"grid: {len(g.sparsity)} sparsity x {len(g.importance)} importance x {len(g.lr)} lr x "
                f"{len(g.seeds)} seed(s); non-finite cells: {int(self.nonfinite.sum())}; "
                f"diverged (non-finite or loss above sum(importance)): {int(self.diverged.sum())}")

    def table_text(self) -> str:
        """The per-(cell, seed) table as text (for ``tms sweep show``)."""
        df = self.to_frame()
        cols = [c for c in df.columns if c not in ("importance_index", "best_restart")]
        return df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")

    @staticmethod
    def load(folder) -> "Results":
        """Read a results folder, checked (:meth:`ArrayFields.read_folder`) and its arrays' shapes against its
        config."""
        cfg, arrays = ArrayFields.read_folder(folder, CELL_ARRAYS)
        res = ArrayFields.from_config(folder, lambda: Results(StaticConfig.from_dict(cfg["static"]),
                                                              Grid.from_dict(cfg["grid"]), arrays))
        res.check_shapes(folder, res.expected_shapes())
        return res

    def expected_shapes(self) -> dict:
        """The shape of every array, from the config: grid axes ``(S, I, L, K)`` then each array's own
        (:func:`tms.runs.grid.stored_shapes`, the model kind's parameters included)."""
        return {name: (*self.grid.shape, *shape) for name, shape in stored_shapes(self.static).items()}

    def summary_lines(self) -> list[str]:
        """One line per cell (seeds pooled): settings, mean loss, and how many seeds were non-finite."""
        df = self.to_frame()
        keys = ["sparsity", "importance_index", *self.grid.table_columns(np.zeros(0, int), np.zeros(0, int)), "lr"]
        lines = []
        for vals, g in df.groupby(keys, sort=False):
            desc = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(keys, vals))
            bad, worse = int(g["nonfinite"].sum()), int((g["diverged"] & ~g["nonfinite"]).sum())
            lines.append(f"{desc}: loss {g['final_loss'].mean():.5g} over {len(g)} seed(s)"
                         + (f", {bad} NON-FINITE" if bad else "")
                         + (f", {worse} DIVERGED (loss above sum(importance))" if worse else ""))
        return lines


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
            raise TmsError(f"{who}: expected a tms.runs.results.Results; got {type(res).__name__}")
    st = res.static
    if n_features is not None and st.n_features not in np.atleast_1d(n_features):
        raise TmsError(f"{who}: needs n_features in {list(np.atleast_1d(n_features))}; "
                       f"got n_features={st.n_features}")
    if n_hidden is not None and st.n_hidden not in np.atleast_1d(n_hidden):
        raise TmsError(f"{who}: needs n_hidden in {list(np.atleast_1d(n_hidden))}; got n_hidden={st.n_hidden}")


def best_params(res) -> tuple[dict[str, np.ndarray], BestModels]:
    """Reduce the lr and seed axes of ``res`` to the lowest-final-loss finite model per cell: every parameter
    of its model kind as float64 with leading ``(S, I)`` (``W1: (S, I, m, n)`` for ``abs``), and the
    :class:`BestModels` record of the tied kinds' ``W``, ``b`` (None for kinds without them) and the choice."""
    loss = np.where(res.nonfinite, np.inf, np.asarray(res.final_loss, np.float64))
    S, I, L, K = loss.shape
    flat = loss.reshape(S, I, L * K)
    j = np.argmin(flat, axis=-1)  # (S, I)

    def pick(a):
        a = np.asarray(a, np.float64).reshape((S, I, L * K) + np.shape(a)[4:])
        return np.take_along_axis(a, j.reshape((S, I, 1) + (1,) * (a.ndim - 3)), axis=2)[:, :, 0]

    params = {name: pick(res.arrays[name]) for name in res.param_names}
    best = BestModels(W=params.get("W"), b=params.get("b"), lr_index=j // K, seed_index=j % K,
                      loss=np.take_along_axis(flat, j[..., None], axis=-1)[..., 0])
    return params, best


def best_models(res) -> BestModels:
    """Reduce the lr and seed axes of ``res`` to the lowest-final-loss finite model per cell (``W`` and ``b``:
    a model kind without them is a TmsError; :func:`best_params` takes any kind)."""
    names = res.param_names
    if not {"W", "b"} <= set(names):
        raise TmsError(f"this figure draws W and b; model kind {res.static.kind!r} has parameters {names} "
                       f"(tms.runs.results.best_params reads them)")
    return best_params(res)[1]
