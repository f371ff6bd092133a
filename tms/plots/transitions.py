"""Phase transitions in polytopes: one feature perturbed along a grid axis, both configurations followed.

Draws a :class:`tms.runs.continuation.Branches` (both branches followed by warm starts) beside the cold-trained
models of the same sweep: the perturbed feature's norm with the census label where it changes, the two
branches' losses with their crossing marked, and the two configurations at the crossing.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..analysis import measures, polytopes
from ..errors import TmsError
from ..runs.continuation import crossing
from ..runs.results import best_models, check_results

BRANCH_STYLE = {0: ("tab:blue", "followed from the unperturbed end"), 1: ("tab:red", "followed from the far end")}


def perturbation_axis(res, axis: str) -> tuple[np.ndarray, str]:
    """The perturbed values along ``axis`` and their axis label (``perturb_density`` or ``perturb_importance``)."""
    g = res.grid
    if g.perturb_feature < 0:
        raise TmsError("the sweep perturbs no feature: set data.perturb = { feature = i, density = ... }")
    if axis == "sparsity" and "perturb_density" in g.sparsity_params:
        return g.sparsity_params["perturb_density"], f"density of feature {g.perturb_feature}"
    if axis == "importance" and "perturb_importance" in g.importance_params:
        return g.importance_params["perturb_importance"], f"importance of feature {g.perturb_feature}"
    raise TmsError(f"the sweep does not perturb feature {g.perturb_feature} along {axis!r}")


def _cold(res, axis: str):
    best = best_models(res)
    return (best.W[:, 0], best.b[:, 0]) if axis == "sparsity" else (best.W[0], best.b[0])


def _log_x(ax):
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=15))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _label_changes(ax, x, y, labels, colour, above=True):
    prev = None
    for xi, yi, lab in zip(x, y, labels):
        if lab != prev:
            ax.annotate(lab, (xi, yi), xytext=(0, 8 if above else -14), textcoords="offset points", fontsize=7,
                        color=colour, ha="center")
        prev = lab


def _draw_norms(ax, x, cold_W, branches, f, cold_labels, xlabel):
    ax.plot(x, measures.feature_norms(cold_W)[:, f], "o", color="k", ms=4, label="cold-trained (best restart)")
    for k, (c, text) in BRANCH_STYLE.items():
        norms = measures.feature_norms(branches.W[k])[:, f]
        ax.plot(x, norms, "-", color=c, lw=1.4, label=text)
        _label_changes(ax, x, norms, polytopes.polytope_census(branches.W[k], branches.b[k])["label"], c, k == 0)
    _label_changes(ax, x, measures.feature_norms(cold_W)[:, f], cold_labels, "k", False)
    _log_x(ax)
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel(f"$\\|W_{{{f}}}\\|$")
    ax.set_ylim(-0.15, 1.45)
    ax.set_title(f"Norm of feature {f}, with the census label where it changes", fontsize=10)
    ax.legend(fontsize=7, loc="center left")


def _draw_losses(ax, ax_d, x, branches, cold_loss, j):
    for k, (c, text) in BRANCH_STYLE.items():
        ax.plot(x, branches.loss[k], "-", color=c, lw=1.4, label=text)
    ax.plot(x, cold_loss, "o", color="k", ms=3.5, label="cold-trained")
    d = branches.loss[0] - branches.loss[1]
    ax_d.axhline(0.0, color="0.5", lw=0.8)
    ax_d.plot(x, d, "o-", color="tab:purple", ms=3.5, lw=1.2)
    for a in (ax, ax_d):
        _log_x(a)
        if j is not None:
            a.axvspan(x[j], x[j + 1], color="gold", alpha=0.35, lw=0, label="crossing" if a is ax else None)
    ax.set_yscale("log")
    ax.set_ylabel("loss (common evaluation batch, log)")
    ax.set_title("Loss of each configuration", fontsize=10)
    ax.legend(fontsize=7)
    ax_d.set_ylabel("loss(from unperturbed end) − loss(from far end)")
    ax_d.set_title("Loss difference: the branches cross" if j is not None else "Loss difference (no crossing)",
                   fontsize=10)


def _draw_configs(ax, branches, j, f):
    P = branches.W.shape[1]
    cell = min(P - 1, (j if j is not None else P // 2) + 1)
    for k, (c, _) in BRANCH_STYLE.items():
        W = branches.W[k, cell]
        for i in range(W.shape[1]):
            ax.annotate("", (W[0, i], W[1, i]), xytext=(0, 0),
                        arrowprops={"arrowstyle": "->", "color": c, "lw": 2.2 if i == f else 1.0, "alpha": 0.85})
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_title(f"Both configurations just past the crossing (cell {cell}; bold: feature {f})", fontsize=10)


def polytope_transition_figure(res, branches, axis: str = "sparsity", cold_loss=None) -> Figure:
    """Four panels for one perturbation sweep ``res`` (m = 2) and its followed ``branches``: feature norm with
    census labels, the branches' losses (``cold_loss: (P,)``, the cold-trained models on the same evaluation
    batch, drawn as dots when given), their difference with the crossing shaded, and both configurations."""
    check_results(res, "polytope_transition_figure", n_hidden=2)
    x, xlabel = perturbation_axis(res, axis)
    if branches.W.shape[:2] != (2, len(x)):
        raise TmsError(f"branches must hold 2 × {len(x)} models along {axis}; got {branches.W.shape[:2]}")
    f = res.grid.perturb_feature
    cold_W, cold_b = _cold(res, axis)
    cold_labels = polytopes.polytope_census(cold_W, cold_b)["label"]
    j = crossing(branches.loss)
    fig = Figure(figsize=(13, 9), layout="constrained")
    (a0, a1), (a2, a3) = fig.subplots(2, 2)
    _draw_norms(a0, x, cold_W, branches, f, cold_labels, xlabel)
    _draw_losses(a1, a2, x, branches, np.full(len(x), np.nan) if cold_loss is None else cold_loss, j)
    for a in (a1, a2):
        a.set_xlabel(f"{xlabel} (log scale)")
    _draw_configs(a3, branches, j, f)
    st = res.static
    fig.suptitle(f"Phase transition in a polytope: n={st.n_features}, m={st.n_hidden}, perturbing {xlabel} "
                 f"({branches.steps} warm-start steps per cell)")
    return fig
