"""The lab's figures: matplotlib Figures drawn from :class:`tms.results.Results` and tidy DataFrames.

Every function returns a :class:`matplotlib.figure.Figure` (built without pyplot, so nothing global is
touched); the caller saves it with ``fig.savefig(path)`` (PNG by default, SVG/PDF by the suffix).

Grid axes as in :mod:`tms.results`: ``(S, I, L, K)`` = sparsity, importance setting, lr, seed. Figures that
show one model per (sparsity, importance) cell keep, over the lr and seed axes, the model with the lowest
final loss (:func:`best_models`; the engine has already kept the best of its restarts). Sparsity S is the
probability that a feature is zero; density is 1 − S. Weights ``W: (m, n)``, column ``W_i`` is feature i.

Phase diagrams (:func:`phase_diagram_figure`, :func:`empirical_phases`, :func:`phase_agreement`) live in
:mod:`tms.plots_phase` and are re-exported here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib import cm, colormaps, colors
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import geometry as geo

# D_i = r/k of the regular polytopes the per-feature dimensionalities cluster at (Elhage et al. 2022).
POLYTOPE_LINES = ((3 / 4, "3/4 tetrahedron"), (2 / 3, "2/3 triangle"), (1 / 2, "1/2 digon"),
                  (2 / 5, "2/5 pentagon"), (3 / 8, "3/8 square antiprism"))
SUPERPOSITION_CMAP = "plasma"
IMPORTANCE_CMAP = "viridis"


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
            raise ValueError(f"{who}: expected a tms.results.Results; got {type(res).__name__}")
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


def _check_index(value, size: int, field: str) -> int:
    if not isinstance(value, (int, np.integer)) or not (-size <= value < size):
        raise ValueError(f"{field} must be an integer in [0, {size}); got {value!r}")
    return int(value) % size


def _importance_norm(importance: np.ndarray) -> colors.Normalize:
    lo, hi = float(np.min(importance)), float(np.max(importance))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return colors.Normalize(lo, hi)


def _sparsity_text(s: float) -> str:
    return f"S={s:.3g} (density {1 - s:.3g})"


# ------------------------------------------------------------------------------------ 1. intro figure


def intro_figure(res, importance_index: int = 0, title: str | None = None) -> Figure:
    """Columns ``W_i`` of two-dimensional models drawn as arrows in the plane, one panel per sparsity.

    Arrows are coloured by feature importance (colour bar); each panel's title gives S and the polytope
    census label of :func:`tms.geometry.polytope_census` (e.g. "S=0.9: pentagon").
    """
    check_results(res, "intro_figure", n_hidden=2)
    i = _check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    W, b = best.W[:, i], best.b[:, i]  # (S, 2, n), (S, n)
    census = geo.polytope_census(W, b)
    imp = res.grid.importance[i]
    norm, cmap = _importance_norm(imp), colormaps[IMPORTANCE_CMAP]
    S = len(res.grid.sparsity)
    ncol = min(S, 4)
    nrow = -(-S // ncol)
    fig = Figure(figsize=(3.2 * ncol + 1.0, 3.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    lim = 1.25 * max(1.0, float(np.max(geo.feature_norms(W))))
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


# ----------------------------------------------------------------------------- 2. varying sparsity


def _gram_and_bars(fig, axes_pair, W, vmax, sup_norm, first_col: bool, model: str, s: float):
    """Draw WᵀW of ``W: (m, n)`` into axes_pair[0] and the ‖W_i‖ bars into axes_pair[1]."""
    ax_g, ax_b = axes_pair
    G = W.T @ W
    im = ax_g.imshow(G, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax_g.set_title(f"{model}\n{_sparsity_text(s)}", fontsize=9)
    ax_g.set_xlabel("feature j")
    norms, sup = geo.feature_norms(W), geo.superposition(W)
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
        raise ValueError("varying_sparsity_figure: linear_res must have the same n_features and n_hidden as relu_res")
    bests = []
    for name, r in models:
        i = _check_index(importance_index, len(r.grid.importance), "importance_index")
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


# ----------------------------------------------------------------------------- 4. feature geometry


def feature_geometry_figure(res, importance_index: int = 0, jitter: float = 0.08, seed: int = 0) -> Figure:
    """Dimensions per feature m/‖W‖_F² against 1/(1−S), and the per-feature D_i scatter.

    Left: D* with reference lines at 1 and 1/2. Right: D_i of every feature (x = 1/(1−S), multiplied by a
    log-uniform jitter of ±``jitter`` decades drawn with ``np.random.default_rng(seed)``) with reference
    lines at the regular polytopes' r/k. Both x axes are logarithmic.
    """
    check_results(res, "feature_geometry_figure")
    if not (0 <= jitter < 1):
        raise ValueError(f"jitter must lie in [0, 1) (decades); got {jitter}")
    i = _check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    W = best.W[:, i]
    x = 1.0 / (1.0 - res.grid.sparsity)  # (S,)
    order = np.argsort(x)
    d_star = geo.dims_per_feature(W)  # (S,)
    D = geo.feature_dimensionality(W)  # (S, n)
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2)
    ax0.plot(x[order], d_star[order], "o-", color="k", ms=4)
    for y, text in ((1.0, "1: one dimension per feature"), (0.5, "1/2: antipodal pairs")):
        ax0.axhline(y, color="tab:blue", ls="--", lw=0.9)
        ax0.text(0.01, y, text, transform=ax0.get_yaxis_transform(), va="bottom", fontsize=8, color="tab:blue")
    ax0.set_xscale("log")
    ax0.set_xlabel("1/(1−S) = 1/density (log scale)")
    ax0.set_ylabel("dimensions per feature $m/\\|W\\|_F^2$")
    ax0.set_ylim(0, max(1.15, float(np.nanmax(d_star)) * 1.05))
    ax0.set_title("Dimensions per feature")
    rng = np.random.default_rng(seed)
    xs = np.repeat(x[:, None], D.shape[1], axis=1) * 10.0 ** rng.uniform(-jitter, jitter, size=D.shape)
    ax1.scatter(xs.ravel(), D.ravel(), s=9, alpha=0.4, color="k", lw=0, label="feature $D_i$")
    ax1.plot(x[order], d_star[order], "-", color="tab:red", lw=1.2, label="$m/\\|W\\|_F^2$")
    for y, text in POLYTOPE_LINES:  # 2/5 and 3/8 are close: their labels go above and below the lines
        ax1.axhline(y, color="tab:blue", ls=":", lw=0.9)
        va = {0.4: "bottom", 0.375: "top"}.get(round(y, 3), "center")
        ax1.text(1.01, y, text, transform=ax1.get_yaxis_transform(), va=va, fontsize=8, color="tab:blue")
    ax1.set_xscale("log")
    ax1.set_xlabel("1/(1−S) = 1/density (log scale, jittered)")
    ax1.set_ylabel("feature dimensionality $D_i$")
    ax1.set_ylim(0, 1.1)
    ax1.set_title("Per-feature dimensionality $D_i = \\|W_i\\|^2 / \\sum_j (\\hat W_i\\cdot W_j)^2$")
    ax1.legend(loc="upper right", fontsize=8)
    st = res.static
    fig.suptitle(f"Feature geometry: n={st.n_features} features in m={st.n_hidden} dimensions")
    return fig


# ----------------------------------------------------------------------------- 5. training dynamics


def training_dynamics_figure(res, cell=(0, 0, 0, 0)) -> Figure:
    """Loss against step (log-log) with the k-gon label at each snapshot, and the W columns' trajectories.

    ``cell = (sparsity, importance, lr, seed)`` indices. Needs a two-dimensional model trained with a loss
    curve (``log_every > 0``) and snapshots (``n_snapshots > 0``).
    """
    check_results(res, "training_dynamics_figure", n_hidden=2)
    st = res.static
    if st.n_snapshots <= 0:
        raise ValueError("training_dynamics_figure needs weight snapshots: train with n_snapshots > 0 "
                         f"(StaticConfig.n_snapshots); got n_snapshots={st.n_snapshots}")
    if len(cell) != 4:
        raise ValueError(f"cell must be 4 indices (sparsity, importance, lr, seed); got {cell!r}")
    cell = tuple(_check_index(c, size, f"cell[{k}]") for k, (c, size) in enumerate(zip(cell, res.grid.shape)))
    if st.log_every > 0:
        curve, steps = np.asarray(res.loss_curve[cell], np.float64), st.log_steps
    else:  # no curve recorded: only the final loss, drawn as a flat line over the snapshots
        steps = np.array([max(int(st.snapshot_steps[0]), 1), st.steps], dtype=np.int64)
        curve = np.full(2, float(res.final_loss[cell]))
    snap_W, snap_b = np.asarray(res.snapshots_W[cell], np.float64), np.asarray(res.snapshots_b[cell], np.float64)
    snap_steps = st.snapshot_steps
    labels = np.asarray(geo.kgon_labels(snap_W, snap_b)).astype(str)  # (n_snap,)
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    ax0.plot(steps, curve, color="0.3", lw=1.2, ls="-" if st.log_every else ":")
    # Snapshots inside the recorded range sit on the curve (log-log interpolation).
    inside = (snap_steps >= steps[0]) & (snap_steps <= steps[-1])
    on_curve = np.exp(np.interp(np.log(np.maximum(snap_steps, 1)), np.log(steps), np.log(np.maximum(curve, 1e-30))))
    uniq = list(dict.fromkeys(labels[inside]))
    palette = colormaps["tab10"]
    colour = {lab: palette(k % 10) for k, lab in enumerate(uniq)}
    prev = None
    for t, y, lab, ok in zip(snap_steps, on_curve, labels, inside):
        if not ok:
            continue
        ax0.plot(t, y, "o", color=colour[lab], ms=6, mec="k", mew=0.5)
        if lab != prev:
            ax0.annotate(lab, (t, y), xytext=(4, 6), textcoords="offset points", fontsize=9, fontweight="bold")
        prev = lab
    curve_label = "training loss" if st.log_every else "final loss (no curve: log_every=0)"
    handles = [Line2D([], [], color="0.3", ls="-" if st.log_every else ":", label=curve_label)] + [
        Line2D([], [], marker="o", ls="", color=colour[lab], mec="k", mew=0.5, label=f"k-gon {lab}") for lab in uniq]
    ax0.legend(handles=handles, fontsize=8, title="snapshot polytope", title_fontsize=8)
    ax0.set_xscale("log")
    ax0.set_yscale("log")
    ax0.set_xlabel("training step (log scale)")
    ax0.set_ylabel("loss (mean over a block of steps, log scale)")
    s = res.grid.sparsity[cell[0]]
    ax0.set_title(f"Loss and polytope during training, {_sparsity_text(s)}", fontsize=10)
    n = snap_W.shape[-1]
    feat = colormaps["tab10"] if n <= 10 else colormaps["hsv"]
    for j in range(n):
        c = feat(j % 10) if n <= 10 else feat(j / n)
        ax1.plot(snap_W[:, 0, j], snap_W[:, 1, j], "-", color=c, lw=1.0, alpha=0.8)
        ax1.plot(snap_W[0, 0, j], snap_W[0, 1, j], "o", color=c, ms=3)
        ax1.annotate("", (snap_W[-1, 0, j], snap_W[-1, 1, j]), xytext=(0, 0),
                     arrowprops=dict(arrowstyle="->", color=c, lw=1.6))
        ax1.plot([], [], color=c, label=f"feature {j}")
    lim = 1.2 * max(1.0, float(np.max(np.abs(snap_W))))
    ax1.set_xlim(-lim, lim)
    ax1.set_ylim(-lim, lim)
    ax1.set_aspect("equal")
    ax1.set_xlabel("hidden dimension 1")
    ax1.set_ylabel("hidden dimension 2")
    ax1.set_title(f"Trajectories of $W_i$ (dot: step {snap_steps[0]}, arrow: step {snap_steps[-1]})", fontsize=10)
    ax1.legend(fontsize=7, loc="upper right", ncol=2)
    fig.suptitle(f"Training dynamics: n={st.n_features}, m=2, final k-gon {labels[-1]}")
    return fig


# ------------------------------------------------------------------------------------ 6. census


def census_counts(census) -> "tuple[list[str], np.ndarray]":
    """Per-polytope-type feature counts of a census DataFrame: (type names, counts ``(rows, types)``)."""
    cols = [f"n_{p}" for p in geo.POLYTOPES] + ["n_not_represented"]
    missing = [c for c in cols if c not in census.columns]
    if missing:
        raise ValueError(f"census lacks column(s) {missing}: expected a tms.geometry.polytope_census frame")
    return [c.removeprefix("n_").replace("_", " ") for c in cols], census[cols].to_numpy(np.float64)


def census_colour(name: str):
    """A fixed colour per polytope type (the same in every figure); grey for irregular / not represented."""
    fixed = {"irregular": "0.45", "not represented": "0.82"}
    if name in fixed:
        return fixed[name]
    names = [p.replace("_", " ") for p in geo.POLYTOPES if p != "irregular"]
    return colormaps["tab10"](names.index(name) % 10) if name in names else "k"


def census_figure(res, importance_index: int = 0) -> Figure:
    """Stacked bars: how many features sit in each polytope type, one bar per sparsity (best model)."""
    check_results(res, "census_figure")
    i = _check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    order = np.argsort(res.grid.sparsity)
    census = geo.polytope_census(best.W[order, i], best.b[order, i])
    names, counts = census_counts(census)
    keep = counts.sum(axis=0) > 0  # only the types that occur
    names, counts = [nm for nm, k in zip(names, keep) if k], counts[:, keep]
    sp = res.grid.sparsity[order]
    fig = Figure(figsize=(max(6.0, 0.75 * len(sp) + 3.5), 4.6), layout="constrained")
    ax = fig.subplots()
    pos = np.arange(len(sp))
    bottom = np.zeros(len(sp))
    for k, name in enumerate(names):
        ax.bar(pos, counts[:, k], bottom=bottom, color=census_colour(name), label=name, width=0.75,
               edgecolor="white")
        bottom += counts[:, k]
    ax.set_xticks(pos, [f"{s:.3g}\n{1 - s:.3g}" for s in sp])
    ax.set_xlabel("sparsity S (top) / density 1−S (bottom)")
    ax.set_ylabel(f"number of features (of n={res.static.n_features})")
    ax.set_ylim(0, res.static.n_features * 1.05)
    ax.legend(title="polytope type", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    st = res.static
    ax.set_title(f"Polytope census across sparsity: n={st.n_features}, m={st.n_hidden}")
    return fig


from .plots_phase import empirical_phases, phase_agreement, phase_diagram_figure  # noqa: E402,F401
