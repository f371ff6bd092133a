"""Figures of the challenge diagnostics. Each function returns a matplotlib Figure built without
pyplot; the caller saves it. Grids are (113, 113) arrays indexed [x, y], drawn with x on the vertical axis
(row) and y on the horizontal axis, with the three boundary curves overlaid."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure

from tms.challenge import data

BOUNDARY_STYLE = {"a": ("tab:red", "x² = 200√y"), "b": ("tab:cyan", "y² = 600√x"), "c": ("tab:orange", "x + y = 133")}


def draw_boundaries(ax, legend: bool = False) -> None:
    """Overlay the three boundary curves on an imshow of a [x, y] grid (x vertical, y horizontal)."""
    for bd in data.boundaries():
        color, label = BOUNDARY_STYLE[bd.name]
        ax.plot(bd.y, bd.x, color=color, lw=1.2, label=label)
    ax.set_xlim(-0.5, data.N_VALUES - 0.5)
    ax.set_ylim(data.N_VALUES - 0.5, -0.5)
    if legend:
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)


def _grid_axes(ax, title):
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("y (second token)")
    ax.set_ylabel("x (first token)")


def label_maps_figure(maps: dict[str, np.ndarray]) -> Figure:
    """One panel per named (113, 113) 0/1 map (e.g. truth, our model, original model, errors)."""
    n = len(maps)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(3.6 * cols, 3.7 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for i, (ax, (name, grid)) in enumerate(zip(axes, maps.items())):
        err = "error" in name or "disagree" in name
        cmap = colors.ListedColormap(["white", "crimson"] if err else ["#f0f0f0", "#2b5c8a"])
        ax.imshow(np.asarray(grid), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        draw_boundaries(ax, legend=i == 0)
        _grid_axes(ax, f"{name} ({int(np.asarray(grid).sum())} ones)")
    return fig


def value_map_figure(maps: dict[str, np.ndarray], suptitle: str = "", cmap: str = "RdBu_r") -> Figure:
    """Panels of real-valued (113, 113) maps with a symmetric colour scale and a colour bar each."""
    n = len(maps)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(3.4 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, grid) in zip(axes, maps.items()):
        g = np.asarray(grid, np.float64)
        v = float(np.abs(g).max()) or 1.0
        im = ax.imshow(g, cmap=cmap, vmin=-v, vmax=v, interpolation="nearest")
        draw_boundaries(ax)
        _grid_axes(ax, name)
        fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in axes[n:]:
        ax.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def error_distance_figure(frame: pd.DataFrame) -> Figure:
    """Left: distribution of the distance to the nearest boundary, all inputs vs mistakes. Right: the
    mistakes on the grid, coloured by their nearest boundary."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    bins = np.linspace(0, frame["d_min"].max() + 1e-9, 40)
    ax1.hist(frame["d_min"], bins=bins, density=True, alpha=0.5, label=f"all inputs (n={len(frame)})")
    err = frame[frame["error"]]
    ax1.hist(err["d_min"], bins=bins, density=True, alpha=0.6, label=f"mistakes (n={len(err)})", color="crimson")
    ax1.set_xlabel("distance to the nearest boundary (grid units)")
    ax1.set_ylabel("density")
    ax1.set_title("Where the mistakes are")
    ax1.legend()
    ax2.imshow(np.zeros((data.N_VALUES, data.N_VALUES)), cmap="Greys", vmin=0, vmax=1)
    for name, (color, _) in BOUNDARY_STYLE.items():
        e = err[err["nearest"] == name]
        ax2.scatter(e["y"], e["x"], s=8, color=color, edgecolor="k", lw=0.3, label=f"nearest {name}: {len(e)}")
    draw_boundaries(ax2)
    ax2.legend(loc="lower left", fontsize=7)
    _grid_axes(ax2, "mistakes by nearest boundary")
    return fig


def attention_figure(mean_pattern, pattern_std) -> Figure:
    """Mean attention of the last query to keys x, y, "=" per head, with the spread over inputs (1 s.d.)."""
    mp, sd = np.asarray(mean_pattern), np.asarray(pattern_std)
    h = mp.shape[0]
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    w = 0.27
    for k, name in enumerate(("x", "y", "=")):
        ax.bar(np.arange(h) + (k - 1) * w, mp[:, k], w, yerr=sd[:, k], label=f"key {name}", capsize=2)
    ax.set_xticks(np.arange(h))
    ax.set_xlabel("head")
    ax.set_ylabel("attention from the last position")
    ax.set_title("Mean last-position attention (error bars: s.d. over the 12,769 inputs)")
    ax.legend()
    return fig


def resid_mid_figure(explained, proj, pred, thresholds, agreement: float) -> Figure:
    """Left: PCA spectrum of resid_mid. Right: α·r against β·r, coloured by the model's label, with the AND
    thresholds."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ex = np.asarray(explained)[:20]
    ax1.bar(np.arange(1, len(ex) + 1), ex, label="per component")
    ax1.plot(np.arange(1, len(ex) + 1), np.cumsum(ex), "k.-", label="cumulative")
    ax1.set_xlabel("principal component of resid_mid (last position)")
    ax1.set_ylabel("fraction of variance")
    ax1.set_title("resid_mid PCA")
    ax1.legend()
    proj, pred = np.asarray(proj), np.asarray(pred)
    for lab, c in ((0, "#bbbbbb"), (1, "#2b5c8a")):
        sel = pred == lab
        ax2.scatter(proj[sel, 0], proj[sel, 1], s=2, color=c, label=f"model label {lab}", rasterized=True)
    ax2.axvline(thresholds[0], color="crimson", lw=1)
    ax2.axhline(thresholds[1], color="crimson", lw=1)
    ax2.set_xlabel("α · resid_mid")
    ax2.set_ylabel("β · resid_mid")
    ax2.set_title(f"AND of two thresholds: {100 * agreement:.1f}% agreement")
    ax2.legend(markerscale=5)
    return fig


def neuron_embedding_figure(ext, neurons, names=()) -> Figure:
    """RGRGRG's extended embeddings through W_in (mean attention, no ReLU): each neuron's pre-activation is
    N_x[x, n] + N_y[y, n] + const; the x part (solid, against x) and the y part (dashed, against y)."""
    neurons, names = list(neurons), list(names) or [""] * len(list(neurons))
    fig = Figure(figsize=(3.4 * max(1, len(neurons)), 3.4), layout="constrained")
    axes = fig.subplots(1, max(1, len(neurons)), squeeze=False)[0]
    t = np.arange(ext.x.shape[0])
    for ax, n, name in zip(axes, neurons, names):
        ax.plot(t, ext.neuron_x[:, n], label="x part (against x)")
        ax.plot(t, ext.neuron_y[:, n], ls="--", label="y part (against y)")
        ax.axhline(-ext.neuron_const[n], color="k", lw=0.6, label="−const (ReLU edge for the sum)")
        ax.set_xlabel("input value")
        ax.set_title(f"neuron {n} {name}".strip(), fontsize=9)
        ax.legend(fontsize=6)
    axes[0].set_ylabel("pre-activation part")
    return fig


def subset_figure(table: pd.DataFrame, published: tuple[int, float] | None = (4, 0.987)) -> Figure:
    """Agreement with the model's labels of the best k-neuron sets found, k = 1..K."""
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["k"], 100 * table["agreement"], "o-", label="this model")
    if published is not None:
        ax.plot([published[0]], [100 * published[1]], "r*", ms=12,
                label="original model (published, zero-ablation, one per family)")
    ax.set_xlabel("k (neurons kept; the rest mean-ablated; greedy, no family constraint)")
    ax.set_ylabel("agreement with the model (%)")
    ax.set_title("Smallest neuron sets (extra: mean-ablation)")
    ax.legend()
    return fig


def geometry_figure(dims: dict[str, np.ndarray]) -> Figure:
    """Histograms of per-feature dimensionality D_i for each object and its random baseline."""
    names = [k for k in dims if not k.endswith(":random")]
    fig = Figure(figsize=(3.3 * len(names), 3.2), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        hi = max(float(np.max(dims[name])), float(np.max(dims.get(f"{name}:random", [0])))) + 1e-9
        bins = np.linspace(0, hi, 30)
        ax.hist(dims[name], bins=bins, alpha=0.6, label="trained")
        if f"{name}:random" in dims:
            ax.hist(dims[f"{name}:random"], bins=bins, alpha=0.5, label="random, same norms")
        ax.set_xlabel("feature dimensionality D_i")
        ax.set_ylabel("features")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    return fig


def history_figure(history: pd.DataFrame) -> Figure:
    """Training curves: loss (log scale) and accuracy against epoch."""
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for split in ("train", "test"):
        ax1.plot(history["epoch"], history[f"{split}_loss"], label=split)
        ax2.plot(history["epoch"], history[f"{split}_acc"], label=split)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax1.set_title("loss")
    ax2.set_title("accuracy")
    ax1.legend()
    return fig
