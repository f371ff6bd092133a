"""Figures of finite-data training (Henighan et al. 2023): memorising data points, then learning features.

All take a :class:`tms.runs.kinds.finite.FiniteResults` (grid axes ``(M, K, n_T)`` = hidden size, seed,
training-set size) and draw seed ``seed`` (default the first):

- :func:`finite_geometry_figure`: for m = 2 and a few T, the columns W_i and the hidden training vectors
  h_t = W x_t in the plane, coloured by norm;
- :func:`finite_loss_figure`: test and train loss against T, one curve per m;
- :func:`finite_dimensionality_figure`: D_i of the features and D_{X_t} of the training points against T,
  with the line m/T (a regular T-gon of points);
- :func:`finite_heatmap_figure`: test loss over T × m.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.figure import Figure

from ..analysis import measures
from ..errors import TmsError
from .common import check_index


def _model(res, mi: int, seed: int, j: int):
    """``W: (m, n)`` and ``H: (T, m)`` of one model, padding removed."""
    m, T = res.grid.hidden_sizes[mi], res.grid.train_sizes[j]
    return np.asarray(res.W[mi, seed, j, :m], np.float64), np.asarray(res.hidden[mi, seed, j, :T, :m], np.float64)


def _m_index(res, m: int) -> int:
    if m not in res.grid.hidden_sizes:
        raise TmsError(f"n_hidden={m} is not in this sweep's hidden sizes {list(res.grid.hidden_sizes)}")
    return res.grid.hidden_sizes.index(m)


def finite_geometry_figure(res, train_sizes=None, seed: int = 0) -> Figure:
    """W columns (top row) and hidden training vectors (bottom row) of the m = 2 models, one column per T.

    ``train_sizes``: the T values to show (default: smallest, middle and largest of the sweep).
    """
    mi = _m_index(res, 2)
    k = check_index(seed, len(res.grid.seeds), "seed")
    sizes = list(res.grid.train_sizes)
    show = train_sizes or [sizes[0], sizes[len(sizes) // 2], sizes[-1]]
    for t in show:
        if t not in sizes:
            raise TmsError(f"train size {t} is not in this sweep's train_sizes {sizes}")
    fig = Figure(figsize=(3.3 * len(show) + 1.0, 6.6), layout="constrained")
    axes = fig.subplots(2, len(show), squeeze=False)
    cmap = colormaps["viridis"]
    for c, t in enumerate(show):
        W, H = _model(res, mi, k, sizes.index(t))
        for r, (vecs, what) in enumerate(((W.T, "features W_i"), (H, "training points h_t"))):
            ax = axes[r, c]
            norms = np.linalg.norm(vecs, axis=1)
            order = np.argsort(norms)
            lim = 1.15 * max(float(norms.max()), 1e-6)
            ax.plot([0, 0], [-lim, lim], color="0.9", lw=0.6, zorder=0)
            ax.plot([-lim, lim], [0, 0], color="0.9", lw=0.6, zorder=0)
            col = cmap(colors.Normalize(0, norms.max() or 1)(norms[order]))
            ax.quiver(np.zeros(len(order)), np.zeros(len(order)), vecs[order, 0], vecs[order, 1], color=col,
                      angles="xy", scale_units="xy", scale=1, width=0.012)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"T={t}: {what}", fontsize=9)
    fig.suptitle("m = 2: memorised points (small T) give way to features (large T); colour = norm", fontsize=10)
    return fig


def finite_loss_figure(res, seed: int = 0) -> Figure:
    """Test loss (solid) and train loss (dashed) against T (log axis), one colour per m."""
    k = check_index(seed, len(res.grid.seeds), "seed")
    T = np.asarray(res.grid.train_sizes)
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.subplots()
    cmap = colormaps["plasma"]
    M = len(res.grid.hidden_sizes)
    for mi, m in enumerate(res.grid.hidden_sizes):
        col = cmap(0.85 * mi / max(M - 1, 1))
        ax.plot(T, res.test_loss[mi, k], "-o", color=col, ms=3, label=f"m={m} test")
        ax.plot(T, res.train_loss[mi, k], "--", color=col, lw=1, label=f"m={m} train")
    ax.set_xscale("log")
    ax.set_xlabel("training-set size T")
    ax.set_ylabel("loss (1/T) Σ_x Σ_i I_i (x_i − x'_i)²")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("test loss peaks between memorising and generalising", fontsize=10)
    return fig


def dimensionality_frame(res, m: int, seed: int = 0) -> dict:
    """Per T: ``D_i`` and ``‖W_i‖`` of every feature and ``D_{X_t}``, ``‖h_t‖`` of every training point."""
    mi, k = _m_index(res, m), check_index(seed, len(res.grid.seeds), "seed")
    rows = []
    for j, t in enumerate(res.grid.train_sizes):
        W, H = _model(res, mi, k, j)
        rows.append({"T": t, "D_feat": measures.feature_dimensionality(W), "norm_feat": np.linalg.norm(W, axis=0),
                     "D_point": measures.datapoint_dimensionality(H), "norm_point": np.linalg.norm(H, axis=1)})
    return rows


def finite_dimensionality_figure(res, m: int = 2, seed: int = 0) -> Figure:
    """D_i (features) and D_{X_t} (training points) against T, marker size by norm, with m/T."""
    rows = dimensionality_frame(res, m, seed)
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # horizontal jitter only, for legibility
    for name, d, nrm, col in (("features D_i", "D_feat", "norm_feat", "tab:blue"),
                              ("training points D_X", "D_point", "norm_point", "tab:red")):
        for r in rows:
            D, nn = r[d], r[nrm]
            top = nn.max() or 1.0
            x = r["T"] * np.exp(rng.uniform(-0.08, 0.08, len(D)))
            ax.scatter(x, D, s=2 + 30 * (nn / top) ** 2, color=col, alpha=0.35, lw=0,
                       label=name if r is rows[0] else None)
    T = np.geomspace(min(r["T"] for r in rows), max(r["T"] for r in rows), 100)
    ax.plot(T, np.minimum(m / T, 1.0), "k--", lw=1, label="m/T")
    ax.set_xscale("log")
    ax.set_xlabel("training-set size T")
    ax.set_ylabel("dimensionality")
    ax.set_ylim(-0.02, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(f"m={m}: points hold the dimensions at small T, features at large T (size = norm)", fontsize=9)
    return fig


def finite_heatmap_figure(res, seed: int = 0) -> Figure:
    """Test loss over T (columns, log) × m (rows)."""
    k = check_index(seed, len(res.grid.seeds), "seed")
    loss = np.asarray(res.test_loss[:, k], np.float64)
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(loss, aspect="auto", origin="lower", cmap="magma",
                   norm=colors.LogNorm(vmin=np.nanmin(loss), vmax=np.nanmax(loss)))
    ax.set_xticks(range(len(res.grid.train_sizes)), [str(t) for t in res.grid.train_sizes], rotation=60, fontsize=7)
    ax.set_yticks(range(len(res.grid.hidden_sizes)), [str(m) for m in res.grid.hidden_sizes])
    ridge = [(measures.peak_index(row), i) for i, row in enumerate(loss)]
    ridge = [(j, i) for j, i in ridge if j is not None]
    if ridge:  # the test-loss peak of each m (the heat map's ridge): where the curve rises to and falls after
        ax.plot(*zip(*ridge), "o-", color="cyan", mfc="none", ms=9, mew=1.6, lw=1.0,
                label="test-loss peak of each m")
        ax.legend(loc="upper left", fontsize=7, framealpha=0.7)
    ax.set_xlabel("training-set size T")
    ax.set_ylabel("hidden size m")
    fig.colorbar(im, ax=ax, label="test loss")
    ax.set_title("test loss over T × m (paper: the peak moves to larger T as m grows)", fontsize=10)
    return fig
