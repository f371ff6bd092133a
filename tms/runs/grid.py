"""A whole grid of cells in compiled chunks: sparsity × importance × lr × seeds.

Compiled unit: ``jit(lax.map_seeds(train_cells))``. Cells of one seed share the seed's key, so they share
their initialisations and per-step uniform draws (common random numbers: each cell thresholds the same
uniforms at its own sparsity), which makes phase diagrams smoother and lets XLA generate the draws once per
seed. Different seeds see different data. A cell's result depends only on its own hparams and its seed, so
it is the same whichever chunk it is trained in (tested).

Grid axes, in this order everywhere: ``(sparsity S, importance I, lr L, seed K)``. A grid may perturb one
feature (``perturb_feature``): along the sparsity axis its sparsity varies while the others keep the base value
(``sparsity_rows: (S, n)``, described by the columns ``perturb_sparsity`` and ``perturb_density``), and/or
along the importance axis its importance does (rows of ``importance``, column ``perturb_importance``).
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from typing import Iterable

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import data as tdata
from ..engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, Hparams, StaticConfig, check_lr, check_weight_decay
from ..engine.kinds import get_kind
from ..engine.train import TrainOutput, compiler_options, make_train_cells
from ..errors import TmsError, check_seeds

AXES = ("sparsity", "importance", "lr", "seed")
_GRID_FNS = weakref.WeakSet()  # every compiled grid function this process made (for grid_compilations)


CELL_ARRAYS = ("final_loss", "restart_losses", "best_restart", "loss_curve")  # besides each kind's parameters
SNAPSHOT_PREFIX = "snapshots_"  # snapshots of parameter P are stored as snapshots_P


def stored_shapes(static: StaticConfig) -> dict[str, tuple[int, ...]]:
    """Every array a grid stores for one model (one cell and seed), name -> shape: the kind's parameters as
    it declares them (:meth:`~tms.engine.kinds.ModelKind.param_shapes`: ``W: (m, n)``, ``b: (n,)`` for the
    tied kinds), the losses, then each parameter's snapshots ``snapshots_P: (n_snapshots, *P.shape)``."""
    params = get_kind(static.kind).param_shapes(static.n_features, static.n_hidden)
    own = {"final_loss": (), "restart_losses": (static.restarts,), "best_restart": (), "loss_curve": (static.n_logs,)}
    return {**params, **own, **{SNAPSHOT_PREFIX + p: (static.n_snapshots, *shape) for p, shape in params.items()}}


def check_storable(static: StaticConfig, field: str = "kind") -> None:
    """A kind's parameter names must not collide with the other arrays a grid stores: a :class:`TmsError`
    naming ``field`` otherwise (a parameter named ``final_loss`` or ``snapshots_W``)."""
    try:
        names = tuple(get_kind(static.kind).param_shapes(static.n_features, static.n_hidden))
    except AttributeError:
        raise TmsError(f"{field}: model kind {static.kind!r}: its init must return a NamedTuple of arrays (the "
                       f"field names are the parameter names the results store)") from None
    clash = [p for p in names if p in CELL_ARRAYS or p.startswith(SNAPSHOT_PREFIX)]
    if clash:
        raise TmsError(f"{field}: model kind {static.kind!r} names parameters {clash}, which the results store uses "
                       f"for {CELL_ARRAYS} and {SNAPSHOT_PREFIX}*; rename them in the kind's module")


def seed_keys(seeds: Iterable[int]) -> jax.Array:
    """Raw PRNG keys ``(K, 2)`` for integer seeds."""
    return jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])


@functools.lru_cache(maxsize=32)
def make_grid_fn(static: StaticConfig, devices: int = 1):
    """``f(hp: Hparams with leading (C,), keys: (K, 2)) -> TrainOutput with leading (K, C)``, jitted.

    With ``devices > 1`` the cell axis is sharded over that many local devices (C must be divisible by it).
    Cached per (static, devices), so every grid of the same shapes in a process shares one compilation.
    """
    fn = _grid_fn(static, devices)
    _GRID_FNS.add(fn)
    return fn


def grid_compilations() -> int:
    """XLA compilations of grid functions in this process (one per grid shape trained, however many chunks)."""
    return sum(fn._cache_size() for fn in list(_GRID_FNS))


def _grid_fn(static: StaticConfig, devices: int):
    cells = make_train_cells(static)  # cells share the seed's key

    def seeds(hp, keys):  # different seeds, different data; seeds run one after another (lax.map): a
        return jax.lax.map(lambda k: cells(hp, k), keys)  # vmap over seeds would break the fast layout
    options = compiler_options(static)
    if devices <= 1:
        return jax.jit(seeds, compiler_options=options)
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(jax.local_devices()[:devices]), ("cells",))
    cell_sharded = NamedSharding(mesh, P("cells"))
    replicated = NamedSharding(mesh, P())
    out = NamedSharding(mesh, P(None, "cells"))
    return jax.jit(seeds, in_shardings=(cell_sharded, replicated), out_shardings=out, compiler_options=options)


@dataclass(frozen=True)
class Grid:
    """The values of a grid. ``sparsity: (S,)``, ``importance: (I, n)``, ``lr: (L,)``, ``seeds: (K,)``.

    ``importance_params`` names scalar parameters that describe each importance setting (e.g.
    ``{"importance_decay": (I,)}`` or ``{"extra_importance": (I,)}``); they become table columns.
    ``sparsity_rows: (S, n)`` (or None) overrides ``sparsity`` per feature, with ``sparsity_params`` its
    describing columns; ``perturb_feature`` is the one perturbed feature (−1: none).
    """

    sparsity: np.ndarray
    importance: np.ndarray
    lr: np.ndarray
    seeds: np.ndarray
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    importance_params: dict = field(default_factory=dict)
    sparsity_rows: np.ndarray | None = None
    sparsity_params: dict = field(default_factory=dict)
    perturb_feature: int = -1

    @staticmethod
    def make(n_features: int, sparsity=None, density=None, importance=None, lr=DEFAULT_LR, seeds=(0,),
             weight_decay=DEFAULT_WEIGHT_DECAY, importance_params=None, perturb=None) -> "Grid":
        """``perturb = {"feature": i, "density" | "sparsity": values, "importance": values}`` varies feature i
        along the sparsity axis (the base ``sparsity``/``density`` must then be one value) and/or the importance
        axis (the base ``importance`` one setting); see :func:`perturbed`."""
        s = tdata.sparsity_from(sparsity=sparsity, density=density).reshape(-1)
        if perturb:
            return perturbed(n_features, s, importance, lr, seeds, weight_decay, importance_params, perturb)
        imp = tdata.check_importance(np.ones(n_features) if importance is None else importance, n_features)
        lr = check_lr(lr).reshape(-1)
        check_weight_decay(weight_decay)
        seeds = np.asarray(check_seeds(np.asarray(seeds, dtype=object).reshape(-1).tolist()), dtype=np.int64)
        params = {}
        for k, v in (importance_params or {}).items():
            v = np.asarray(v, dtype=np.float64).reshape(-1)
            if v.shape != (imp.shape[0],):
                raise TmsError(f"importance_params[{k!r}] needs one value per importance setting "
                               f"({imp.shape[0]}); got {v.shape}")
            params[k] = v
        return Grid(s, imp, lr, seeds.astype(np.int64), float(weight_decay), params)

    def subset(self, si, ii) -> Grid:
        """The grid restricted to sparsity indices ``si`` and importance indices ``ii`` (other axes kept)."""
        return Grid(self.sparsity[si], self.importance[ii], self.lr, self.seeds, self.weight_decay,
                    {k: v[ii] for k, v in self.importance_params.items()},
                    None if self.sparsity_rows is None else self.sparsity_rows[si],
                    {k: v[si] for k, v in self.sparsity_params.items()}, self.perturb_feature)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.sparsity), len(self.importance), len(self.lr), len(self.seeds))

    @property
    def n_cells(self) -> int:
        """Cells per seed (S · I · L)."""
        S, I, L, _ = self.shape
        return S * I * L

    def cell_hparams(self, n_features: int, index: np.ndarray) -> Hparams:
        """Stacked :class:`Hparams` ``(C,)`` for flat cell indices into (S, I, L)."""
        s, i, l = np.unravel_index(index, self.shape[:3])
        f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
        rows = (np.repeat(self.sparsity[s][:, None], n_features, axis=1) if self.sparsity_rows is None
                else self.sparsity_rows[s])
        return Hparams(
            sparsity=f32(rows),
            importance=f32(self.importance[i]),
            lr=f32(self.lr[l]),
            weight_decay=f32(np.full(len(index), self.weight_decay)),
        )

    def to_dict(self) -> dict:
        return {
            "sparsity": self.sparsity.tolist(), "importance": self.importance.tolist(),
            "lr": self.lr.tolist(), "seeds": self.seeds.tolist(), "weight_decay": self.weight_decay,
            "importance_params": {k: v.tolist() for k, v in self.importance_params.items()},
            **({} if self.perturb_feature < 0 else {
                "perturb_feature": self.perturb_feature,
                "sparsity_rows": None if self.sparsity_rows is None else self.sparsity_rows.tolist(),
                "sparsity_params": {k: v.tolist() for k, v in self.sparsity_params.items()}}),
        }

    @staticmethod
    def from_dict(d: dict) -> "Grid":
        return Grid(np.asarray(d["sparsity"], np.float64), np.asarray(d["importance"], np.float64),
                    np.asarray(d["lr"], np.float64), np.asarray(d["seeds"], np.int64), float(d["weight_decay"]),
                    {k: np.asarray(v, np.float64) for k, v in d["importance_params"].items()},
                    None if d.get("sparsity_rows") is None else np.asarray(d["sparsity_rows"], np.float64),
                    {k: np.asarray(v, np.float64) for k, v in d.get("sparsity_params", {}).items()},
                    int(d.get("perturb_feature", -1)))

    def table_columns(self, s: np.ndarray, i: np.ndarray) -> dict[str, np.ndarray]:
        """Describing columns for cells at sparsity indices ``s`` and importance indices ``i`` (equal length):
        ``perturb_feature`` and the perturbed values when a feature is perturbed, then the importance kind's
        parameters."""
        cols = {}
        if self.perturb_feature >= 0:
            cols["perturb_feature"] = np.full(len(s), self.perturb_feature)
            cols.update({k: v[s] for k, v in self.sparsity_params.items()})
        cols.update({k: v[i] for k, v in self.importance_params.items()})
        return cols


def perturbed(n_features: int, sparsity: np.ndarray, importance, lr, seeds, weight_decay, importance_params,
              perturb: dict) -> Grid:
    """A :class:`Grid` that perturbs one feature (see :meth:`Grid.make`); errors name ``perturb.<key>``."""
    unknown = set(perturb) - {"feature", *tdata.PERTURB_KINDS}
    if unknown or "feature" not in perturb:
        raise TmsError(f"perturb needs 'feature' and one or both of density (or sparsity) and importance; "
                       f"got keys {sorted(perturb)}")
    if {"density", "sparsity"} <= set(perturb) or not {"density", "sparsity", "importance"} & set(perturb):
        raise TmsError("perturb: give one of perturb.density / perturb.sparsity, and/or perturb.importance")
    f = tdata.check_feature(perturb["feature"], n_features)
    base = Grid.make(n_features, sparsity=sparsity, importance=importance, lr=lr, seeds=seeds,
                     weight_decay=weight_decay, importance_params=importance_params)
    rows, sparams = None, {}
    if "density" in perturb or "sparsity" in perturb:
        if len(base.sparsity) != 1:
            raise TmsError(f"perturb.density/sparsity: the other features need one base sparsity; got "
                           f"{len(base.sparsity)} values")
        kind = "density" if "density" in perturb else "sparsity"
        try:
            ps = tdata.sparsity_from(**{kind: perturb[kind]}).reshape(-1)
        except ValueError as e:
            raise TmsError(f"perturb.{kind}: {e}") from None
        rows = tdata.perturb_rows(np.full(n_features, base.sparsity[0]), f, ps)
        sparams = {"perturb_sparsity": ps, "perturb_density": 1.0 - ps}
    imp, iparams = base.importance, base.importance_params
    if "importance" in perturb:
        if len(imp) != 1:
            raise TmsError(f"perturb.importance: the other features need one base importance setting; got {len(imp)}")
        values = np.asarray(perturb["importance"], np.float64).reshape(-1)
        imp = tdata.check_importance(tdata.perturb_rows(imp[0], f, values), n_features, "perturb.importance")
        iparams = {"perturb_importance": values}
    sp = base.sparsity if rows is None else np.full(len(rows), base.sparsity[0])
    return Grid(sp, imp, base.lr, base.seeds, base.weight_decay, iparams, rows, sparams, f)


def chunks(n_cells: int, chunk_size: int) -> list[np.ndarray]:
    """Flat cell indices split into chunks of ``chunk_size`` (the last one may be shorter)."""
    if chunk_size < 1:
        raise TmsError(f"chunk_size must be >= 1; got {chunk_size}")
    return [np.arange(a, min(a + chunk_size, n_cells)) for a in range(0, n_cells, chunk_size)]


def run_chunk(fn, static: StaticConfig, grid: Grid, index: np.ndarray, chunk_size: int, keys) -> dict:
    """Train the cells ``index`` (padded to ``chunk_size`` so the shape, and the compilation, is shared).

    Returns numpy arrays with leading ``(K, len(index))``, named and ordered as :func:`stored_shapes`.
    """
    padded = np.concatenate([index, np.full(chunk_size - len(index), index[-1])]) if len(index) < chunk_size else index
    out: TrainOutput = fn(grid.cell_hparams(static.n_features, padded), keys)
    out = jax.device_get(out)
    take = lambda a: np.asarray(a)[:, : len(index)]  # noqa: E731
    params, snaps = out.params._asdict(), out.snapshots._asdict()
    return {**{p: take(a) for p, a in params.items()},
            "final_loss": take(out.final_loss), "restart_losses": take(out.restart_losses),
            "best_restart": take(out.best_restart), "loss_curve": take(out.loss_curve),
            **{SNAPSHOT_PREFIX + p: take(a) for p, a in snaps.items()}}
