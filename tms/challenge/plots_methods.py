"""Figures of the published methods (H&H's filters, resampling and perturbations; RGRGRG's attention heads).
Each function returns a matplotlib Figure built without pyplot; grids are (113, 113) arrays indexed [x, y],
drawn with x vertical and y horizontal (see :mod:`tms.challenge.plots`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure

from tms.challenge.plots import _grid_axes, draw_boundaries

LABELS = colors.ListedColormap(["#f0f0f0", "#2b5c8a"])


def _filter_map(ax, fig, values, threshold, title):
    g = np.asarray(values, np.float64) - threshold
    v = float(np.abs(g).max()) or 1.0
    im = ax.imshow(g, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    ax.contour(g, levels=[0.0], colors="k", linewidths=0.8)
    _grid_axes(ax, title)
    fig.colorbar(im, ax=ax, shrink=0.7)


def filter_figure(ext, rule, images, fixed_pred, full_pred) -> Figure:
    """What the α/β rule reads, under fixed attention. Top: the filter values f − t over the grid (the rule
    reads their sign; black line: f = t), the binary AND, and the labels of the fixed-attention and full
    models. Bottom: the four extended-embedding vectors d·E_x[x] and d·E_y[y] whose sums (plus d·c) make
    the filters."""
    fig = Figure(figsize=(17, 6.6), layout="constrained")
    top = fig.subfigures(2, 1, height_ratios=[1.35, 1])
    axes = top[0].subplots(1, 5)
    t = rule.thresholds
    for i, name in enumerate(("α", "β")):
        _filter_map(axes[i], top[0], images[i], t[i], f"{name} filter: {name}·(E_x[x] + E_y[y] + c) − t_{name}")
    both = (images[0] > t[0]) & (images[1] > t[1])
    for ax, grid, title in ((axes[2], both, "α AND β"), (axes[3], fixed_pred, "fixed-attention model"),
                            (axes[4], full_pred, "full model")):
        ax.imshow(np.asarray(grid, np.uint8), cmap=LABELS, vmin=0, vmax=1, interpolation="nearest")
        draw_boundaries(ax)
        agree = "" if grid is both else f" ({100 * (np.asarray(grid) == both).mean():.1f}% = AND)"
        _grid_axes(ax, title + agree)
    bottom = top[1].subplots(1, 2)
    d = np.asarray(rule.directions)
    v = np.arange(ext.x.shape[0])
    for ax, i, name in ((bottom[0], 0, "α"), (bottom[1], 1, "β")):
        ax.plot(v, ext.x @ d[i], label=f"{name}·E_x[x] (against x)")
        ax.plot(v, ext.y @ d[i], label=f"{name}·E_y[y] (against y)")
        ax.set_title(f"{name} filter = {name}·E_x[x] + {name}·E_y[y] + {ext.const @ d[i]:.3g}; "
                     f"label needs it > t_{name} = {t[i]:.3g}", fontsize=9)
        ax.set_xlabel("input value")
        ax.legend(fontsize=8)
    return fig


def margin_figure(images, thresholds, mistakes) -> Figure:
    """H&H's check: the fixed-attention model's mistakes drawn on each filter's value f − t; they should sit
    where one of the filters is near 0."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    xs, ys = np.nonzero(np.asarray(mistakes))
    for ax, i, name in ((axes[0], 0, "α"), (axes[1], 1, "β")):
        _filter_map(ax, fig, images[i], thresholds[i], f"{name} − t_{name}, fixed-attention mistakes (×)")
        ax.scatter(ys, xs, marker="x", s=10, color="k", lw=0.7)
    return fig


def resampling_figure(table: pd.DataFrame) -> Figure:
    """Agreement with the full model's labels and accuracy under each resampling variant (alone, on top of
    [1], all together), both models; bars are means over the permutation draws, whiskers their s.d."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, metric in zip(axes, ("agreement_full", "accuracy")):
        for j, (model, sub) in enumerate(table.groupby("model", sort=False)):
            x = np.arange(len(sub)) + (j - 0.5) * 0.38
            ax.bar(x, 100 * sub[metric], 0.38, yerr=100 * sub[f"{metric}_std"], capsize=2, label=model)
            ax.set_xticks(np.arange(len(sub)), sub["variant"], rotation=45, ha="right", fontsize=8)
        if metric == "agreement_full":
            ax.axhline(94, color="crimson", ls="--", lw=1, label="published, all, full model (94%)")
        ax.set_ylim(40, 100)
        ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
        ax.set_title("agreement with the full model's labels" if metric == "agreement_full"
                     else "accuracy (ground truth)")
        ax.legend(fontsize=7)
    return fig


def perturbation_figure(table: pd.DataFrame) -> Figure:
    """Rule agreement and changed labels against the shift length, per direction."""
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for name, sub in table.groupby("direction", sort=False):
        ls = "-" if name.startswith("random") else "--"
        axes[0].plot(sub["length"], 100 * sub["rule_agreement"], ls, marker="o", label=name)
        axes[1].plot(sub["length"], 100 * sub["changed"], ls, marker="o", label=name)
    axes[0].set_ylabel("model label = α/β rule (%)")
    axes[1].set_ylabel("model labels changed (%)")
    for ax in axes:
        ax.set_xlabel("length of the shift added to resid_mid")
        ax.legend(fontsize=7)
    axes[0].set_title("does the rule still predict the label?")
    axes[1].set_title("how much the shift changes")
    return fig


def heads_figure(pos: pd.DataFrame, tok: np.ndarray, add: pd.DataFrame, interp: pd.DataFrame) -> Figure:
    """Four panels: positional QK delta per head; token QK curves; heads added back to the mean pattern;
    interpolation from the mean pattern to the real one."""
    fig = Figure(figsize=(15, 3.8), layout="constrained")
    a1, a2, a3, a4 = fig.subplots(1, 4)
    a1.bar(pos["head"], pos["delta"])
    a1.axhline(0, color="k", lw=0.6)
    a1.set_xlabel("head")
    a1.set_ylabel("score(x pos) − score(y pos)")
    a1.set_title("QK on positional embeddings", fontsize=9)
    for h, curve in enumerate(np.asarray(tok)):
        a2.plot(curve, lw=1, label=f"head {h}")
    a2.set_xlabel("token value t")
    a2.set_ylabel("QK score of the last query")
    a2.set_title("QK on token embeddings", fontsize=9)
    a2.legend(fontsize=6, ncol=2)
    one = add[add["n_heads"] <= 1]
    a3.bar(one["heads"], 100 * one["agreement"])
    a3.axhline(100 * float(add[add["heads"] == "none"]["agreement"].iloc[0]), color="k", ls="--", lw=0.8)
    a3.set_ylim(80, 100)
    a3.set_xlabel("head restored (none: all at the mean)")
    a3.set_ylabel("agreement with the full model (%)")
    a3.set_title("all heads mean-ablated, one added back", fontsize=9)
    a4.plot(interp["t"], 100 * interp["agreement"], "o-", label="agreement with the full model")
    a4.plot(interp["t"], 100 * interp["accuracy"], "s-", label="accuracy")
    a4.set_xlabel("t in mean + t·(pattern − mean)")
    a4.set_ylabel("%")
    a4.set_title("interpolating the attention pattern", fontsize=9)
    a4.legend(fontsize=7)
    return fig
