"""Weights drawn directly: the introduction's arrows in the plane, and WᵀW with feature norms across sparsity.
"""

from __future__ import annotations

import numpy as np
from matplotlib import cm, colormaps, colors
from matplotlib.figure import Figure

from ..analysis import measures, polytopes
from ..errors import TmsError
from ..runs.results import best_models, check_results
from .common import IMPORTANCE_CMAP, SUPERPOSITION_CMAP, check_index, importance_norm, sparsity_text


def intro_figure(res, importance_index: int = 0, title: str | None = None) -> Figure:
    """Columns ``W_i`` of two-dimensional models drawn as arrows in the plane, one panel per sparsity.

    Arrows are coloured by feature importance (colour bar); each panel's title gives S and the polytope
    census label of :func:`tms.analysis.polytopes.polytope_census` (e.g. "S=0.9: pentagon").
    """
    check_results(res, "intro_figure", n_hidden=2)
    i = check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    W, b = best.W[:, i], best.b[:, i]  # (S, 2, n), (S, n)
    census = polytopes.polytope_census(W, b)
    imp = res.grid.importance[i]
    norm, cmap = importance_norm(imp), colormaps[IMPORTANCE_CMAP]
    S = len(res.grid.sparsity)
    ncol = min(S, 4)
    nrow = -(-S // ncol)
    fig = Figure(figsize=(3.2 * ncol + 1.0, 3.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    lim = 1.25 * max(1.0, float(np.max(measures.feature_norms(W))))
    circle = np.linspace(0, 2 * np.pi, 200)
    for k, ax in enumerate(axes.flat):
        if k >= S:
            ax.set_axis_off()
            continue
        w = W[k]
        ax.plot(np.cos(circle), np.sin(circle), color="0.85", lw=0.8, zorder=0)
        ax.axhline(0, color="0.9", lw=0.6, zorder=0)
        ax.axvline(0, color="0.9", lw=0.6, zorder=0)
        order = np.argsort(imp)  # most important drawn last (on top)
        ax.quiver(np.zeros(len(order)), np.zeros(len(order)), w[0, order], w[1, order],
                  color=cmap(norm(imp[order])), angles="xy", scale_units="xy", scale=1, width=0.018)
        ax.scatter(w[0, order], w[1, order], c=cmap(norm(imp[order])), s=18, zorder=3)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"S={res.grid.sparsity[k]:.3g}: {census['label'].iloc[k]}", fontsize=10)
        ax.set_xlabel("hidden dimension 1")
        ax.set_ylabel("hidden dimension 2")
    fig.colorbar(cm.ScalarMappable(norm, cmap), ax=axes, label="feature importance $I_i$", shrink=0.8)
    n = res.static.n_features
    fig.suptitle(title or f"{n} features in 2 dimensions: columns $W_i$ of W across sparsity S")
    return fig


def _gram_and_bars(fig, axes_pair, W, vmax, sup_norm, first_col: bool, model: str, s: float):
    """Draw WᵀW of ``W: (m, n)`` into axes_pair[0] and the ‖W_i‖ bars into axes_pair[1]."""
    ax_g, ax_b = axes_pair
    G = W.T @ W
    im = ax_g.imshow(G, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax_g.set_title(f"{model}\n{sparsity_text(s)}", fontsize=9)
    ax_g.set_xlabel("feature j")
    norms, sup = measures.feature_norms(W), measures.superposition(W)
    n = len(norms)
    ax_b.barh(np.arange(n), norms, color=colormaps[SUPERPOSITION_CMAP](sup_norm(sup)), height=0.8)
    ax_b.set_ylim(n - 0.5, -0.5)  # feature 0 on top, like the heatmap rows
    ax_b.set_xlim(0, max(1.2, float(np.max(norms)) * 1.05))
    ax_b.set_xlabel("$\\|W_i\\|$")
    if first_col:
        ax_g.set_ylabel("feature i  ($W^T W$)")
        ax_b.set_ylabel("feature i")
    return im


def varying_sparsity_figure(relu_res, linear_res=None, importance_index: int = 0) -> Figure:
    """WᵀW heatmaps and ‖W_i‖ bars (coloured by superposition) per density; linear model beside the ReLU.

    One column per density (densest first). Rows: ReLU WᵀW, ReLU ‖W_i‖; with ``linear_res`` two more rows
    for the linear model (its own densities). Heatmaps share a diverging colour scale centred at 0.
    """
    models = [("ReLU output model", relu_res)] + ([("linear model", linear_res)] if linear_res is not None else [])
    for name, r in models:
        check_results(r, f"varying_sparsity_figure ({name})")
    if linear_res is not None and (linear_res.static.n_features, linear_res.static.n_hidden) != (
            relu_res.static.n_features, relu_res.static.n_hidden):
        raise TmsError("varying_sparsity_figure: linear_res must have the same n_features and n_hidden as relu_res")
    bests = []
    for name, r in models:
        i = check_index(importance_index, len(r.grid.importance), "importance_index")
        order = np.argsort(r.grid.sparsity)
        bests.append((name, r.grid.sparsity[order], best_models(r).W[order, i]))
    ncol = max(len(s) for _, s, _ in bests)
    vmax = max(float(np.max(np.abs(np.einsum("smi,smj->sij", W, W)))) for _, _, W in bests) or 1.0
    sup_norm = colors.Normalize(0.0, 1.0)
    # A fixed layout (constrained layout costs seconds for this many axes); colour bars at the right.
    width, height = 1.9 * ncol + 2.2, 3.9 * len(models)
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(2 * len(models), ncol, squeeze=False)
    fig.subplots_adjust(left=0.75 / width, right=1 - 1.6 / width, bottom=0.5 / height, top=1 - 0.75 / height,
                        hspace=0.95, wspace=0.45)
    im = None
    for row, (name, sp, W) in enumerate(bests):
        for c in range(ncol):
            pair = axes[2 * row, c], axes[2 * row + 1, c]
            if c >= len(sp):
                for ax in pair:
                    ax.set_axis_off()
                continue
            im = _gram_and_bars(fig, pair, W[c], vmax, sup_norm, c == 0, name, sp[c])
    right = axes[0, -1].get_position().x1 + 0.25 / width

    def bar_axes(row):  # a colour bar axes spanning the height of ``row``
        box = axes[row, -1].get_position()
        return fig.add_axes((right, box.y0, 0.15 / width, box.height), label="<colorbar>")

    fig.colorbar(im, cax=bar_axes(0), label="$W^T W$ entry")
    fig.colorbar(cm.ScalarMappable(sup_norm, colormaps[SUPERPOSITION_CMAP]), cax=bar_axes(1), extend="max",
                 label="superposition $\\sum_{j\\neq i}(\\hat W_i\\cdot W_j)^2$")
    st = relu_res.static
    fig.suptitle(f"Varying sparsity: n={st.n_features} features in m={st.n_hidden} dimensions")
    return fig
