"""Weight trajectories of three-dimensional models (matplotlib 3D): a top view and a perspective view.

Each column ``W_i`` is drawn as its path through the weight snapshots (a dot at the first, an arrow from the
origin to the last), coloured by its correlated (or anticorrelated) feature set; features in no set are grey.
The hidden space is rotated (the same rotation for every snapshot, so the geometry is unchanged) to put the
final mean direction of the first feature set on the vertical axis: an octahedron whose antipodal pairs join
two sets then shows, from the top, as the hexagon of a triangular antiprism, as in the talk's figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis import polytopes
from ..errors import TmsError
from ..runs.results import check_results
from .common import check_index

VIEWS = (("top view", 90.0, -90.0), ("perspective", 22.0, 35.0))


def feature_set_colours(static) -> tuple[list, list[str]]:
    """One colour per feature (by correlated / anticorrelated set; grey for none) and one legend entry per set."""
    n = static.n_features
    palette = colormaps["tab10"]
    colour, names = ["0.55"] * n, []
    for k, (kind, s) in enumerate([("correlated", s) for s in static.correlated]
                                  + [("anticorrelated", s) for s in static.anticorrelated]):
        for i in s:
            colour[i] = palette(k % 10)
        names.append(f"{kind} set {{{', '.join(str(i) for i in s)}}}")
    return colour, names


def aligned_basis(W: np.ndarray, features) -> np.ndarray:
    """Rotation ``(3, 3)`` (rows: new axes) whose third axis is the mean direction of ``features`` of ``W: (3, n)``
    (identity when they cancel out)."""
    U = W / np.maximum(np.linalg.norm(W, axis=0), 1e-12)
    z = U[:, list(features)].sum(axis=1) if len(features) else np.zeros(3)
    if np.linalg.norm(z) < 1e-6:
        return np.eye(3)
    z = z / np.linalg.norm(z)
    x = np.eye(3)[int(np.argmin(np.abs(z)))]
    x = x - (x @ z) * z
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def _draw_view(ax, snap_W, colour, title, elev, azim):
    n = snap_W.shape[-1]
    lim = 1.1 * max(1.0, float(np.max(np.abs(snap_W))))
    for i in range(n):
        path = snap_W[:, :, i]
        ax.plot(path[:, 0], path[:, 1], path[:, 2], "-", color=colour[i], lw=1.0, alpha=0.7)
        ax.scatter(*path[0], color=colour[i], s=8)
        ax.quiver(0, 0, 0, *path[-1], color=colour[i], lw=2.0, arrow_length_ratio=0.12)
        ax.text(*(1.12 * path[-1]), str(i), color=colour[i], fontsize=9, fontweight="bold")
    for a in "xyz":
        getattr(ax, f"set_{a}lim")(-lim, lim)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=elev, azim=azim)
    if elev == 90.0:
        ax.set_zticks([])
    ax.set_xlabel("rotated h1")
    ax.set_ylabel("rotated h2")
    ax.set_zlabel("rotated h3 (first set's mean)")
    ax.set_title(title, fontsize=10)


def trajectories_3d_figure(res, cell=(0, 0, 0, 0)) -> Figure:
    """Top and perspective 3D views of the columns' trajectories of one cell ``(sparsity, importance, lr,
    seed)`` of a model with m = 3 trained with snapshots; the title gives the final census label."""
    check_results(res, "trajectories_3d_figure", n_hidden=3)
    st = res.static
    if st.n_snapshots < 2:
        raise TmsError(f"trajectories_3d_figure needs n_snapshots >= 2; got {st.n_snapshots}")
    if len(cell) != 4:
        raise TmsError(f"cell must be 4 indices (sparsity, importance, lr, seed); got {cell!r}")
    cell = tuple(check_index(c, size, f"cell[{k}]") for k, (c, size) in enumerate(zip(cell, res.grid.shape)))
    snap_W = np.asarray(res.snapshots_W[cell], np.float64)  # (n_snap, 3, n)
    sets = st.correlated + st.anticorrelated
    snap_W = aligned_basis(snap_W[-1], sets[0] if sets else ()) @ snap_W
    label = polytopes.polytope_census(np.asarray(res.W[cell]), np.asarray(res.b[cell]))["label"].iloc[0]
    colour, names = feature_set_colours(st)
    fig = Figure(figsize=(12, 5.8), layout="constrained")
    for k, (title, elev, azim) in enumerate(VIEWS):
        _draw_view(fig.add_subplot(1, 2, k + 1, projection="3d"), snap_W, colour, title, elev, azim)
    palette = colormaps["tab10"]
    handles = [Line2D([], [], color=palette(k % 10), lw=2, label=nm) for k, nm in enumerate(names)]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9)
    s = res.grid.sparsity[cell[0]]
    fig.suptitle(f"Feature weight trajectories: n={st.n_features}, m=3, S={s:.3g}, seed {res.grid.seeds[cell[3]]}; "
                 f"steps {st.snapshot_steps[0]}..{st.snapshot_steps[-1]}; final: {label}")
    return fig
