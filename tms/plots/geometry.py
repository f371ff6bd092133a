"""Feature geometry figures: dimensions per feature across sparsity, and the polytope census.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..analysis import measures, polytopes
from ..errors import TmsError
from ..runs.results import best_models, check_results
from .common import POLYTOPE_LINES, check_index


def feature_geometry_figure(res, importance_index: int = 0, jitter: float = 0.08, seed: int = 0) -> Figure:
    """Dimensions per feature m/‖W‖_F² against 1/(1−S), and the per-feature D_i scatter.

    Left: D* with reference lines at 1 and 1/2. Right: D_i of every feature (x = 1/(1−S), multiplied by a
    log-uniform jitter of ±``jitter`` decades drawn with ``np.random.default_rng(seed)``) with reference
    lines at the regular polytopes' r/k. Both x axes are logarithmic.
    """
    check_results(res, "feature_geometry_figure")
    if not (0 <= jitter < 1):
        raise TmsError(f"jitter must lie in [0, 1) (decades); got {jitter}")
    i = check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    W = best.W[:, i]
    x = 1.0 / (1.0 - res.grid.sparsity)  # (S,)
    order = np.argsort(x)
    d_star = measures.dims_per_feature(W)  # (S,)
    D = measures.feature_dimensionality(W)  # (S, n)
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


def census_counts(census) -> "tuple[list[str], np.ndarray]":
    """Per-polytope-type feature counts of a census DataFrame: (type names, counts ``(rows, types)``)."""
    cols = [f"n_{p}" for p in polytopes.POLYTOPES] + ["n_not_represented"]
    missing = [c for c in cols if c not in census.columns]
    if missing:
        raise TmsError(f"census lacks column(s) {missing}: expected a tms.analysis.polytopes.polytope_census frame")
    return [c.removeprefix("n_").replace("_", " ") for c in cols], census[cols].to_numpy(np.float64)


# A fixed colour per polytope family (tab10 without its grey, then two more), the same in every figure.
_FAMILY_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                   "tab:olive", "tab:cyan", "navy", "gold")


def census_colour(name: str):
    """A fixed colour per polytope type (the same in every figure); grey for irregular / not represented."""
    fixed = {"irregular": "0.45", "not represented": "0.82"}
    if name in fixed:
        return fixed[name]
    names = [p.replace("_", " ") for p in polytopes.POLYTOPES if p != "irregular"]
    return _FAMILY_COLOURS[names.index(name) % len(_FAMILY_COLOURS)] if name in names else "k"


def census_figure(res, importance_index: int = 0) -> Figure:
    """Stacked bars: how many features sit in each polytope type, one bar per sparsity (best model)."""
    check_results(res, "census_figure")
    i = check_index(importance_index, len(res.grid.importance), "importance_index")
    best = best_models(res)
    order = np.argsort(res.grid.sparsity)
    census = polytopes.polytope_census(best.W[order, i], best.b[order, i])
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
