"""Finite training sets (Henighan et al. 2023, "Superposition, Memorization, and Double Descent"): the
figures and the numbers the docs quote, from the ``finite_data`` sweep (``finite_data_paper`` is the
paper's size, shipped for GPU machines)."""

from __future__ import annotations

import numpy as np

from ..analysis import measures
from ..analysis.polytopes import polytope_census
from ..io import save_figure
from ..plots.finite import (
    dimensionality_frame,
    finite_dimensionality_figure,
    finite_geometry_figure,
    finite_heatmap_figure,
    finite_loss_figure,
)
from .registry import Context, register

def peaks(res, seed: int = 0) -> dict:
    """Per m: the T of the largest test loss overall, and of the highest interior peak (None if none)."""
    out = {}
    T = list(res.grid.train_sizes)
    for mi, m in enumerate(res.grid.hidden_sizes):
        loss = np.asarray(res.test_loss[mi, seed], np.float64)
        j = int(np.nanargmax(loss))
        k = measures.peak_index(loss)
        out[f"m={m}"] = {"max_test_loss_T": T[j], "max_test_loss": round(float(loss[j]), 4),
                         "interior_peak_T": None if k is None else T[k],
                         "interior_peak_test_loss": None if k is None else round(float(loss[k]), 4),
                         "test_loss_at_largest_T": round(float(loss[-1]), 4)}
    return out


def strong_summary(res, m: int = 2, seed: int = 0) -> dict:
    """Per T: count and mean D of the strong features and the strong training points (norm > half the largest),
    beside m/T."""
    out = {}
    for r in dimensionality_frame(res, m, seed):
        nf, df = measures.strong_items(r["norm_feat"], r["D_feat"])
        npt, dp = measures.strong_items(r["norm_point"], r["D_point"])
        out[f"T={r['T']}"] = {"strong_features": int(nf), "strong_features_mean_D": round(float(df), 4),
                              "strong_points": int(npt), "strong_points_mean_D": round(float(dp), 4),
                              "m_over_T": round(m / r["T"], 4)}
    return out


def finite_figures(res, out, fmt: str = "png") -> list:
    """Draw every finite-data figure that fits ``res`` into folder ``out``; returns the files."""
    figs = [("finite_data_loss", finite_loss_figure(res)), ("finite_data_heatmap", finite_heatmap_figure(res))]
    if 2 in res.grid.hidden_sizes:
        figs += [("finite_data_geometry", finite_geometry_figure(res)),
                 ("finite_data_dimensionality", finite_dimensionality_figure(res, 2))]
    return [save_figure(fig, out / f"{name}.{fmt}") for name, fig in figs]


@register("finite_data", ["finite_data"], "finite training sets: memorised points, then features; test loss "
          "against T and m (Henighan et al. 2023; finite_data_paper: n=10,000, S=0.999)")
def finite_data(ctx: Context):
    res = ctx.results["finite_data"]
    numbers = {"peaks": peaks(res)}
    if 2 in res.grid.hidden_sizes:
        numbers["strong_m2"] = strong_summary(res, 2)
        mi, j = res.grid.hidden_sizes.index(2), len(res.grid.train_sizes) - 1
        census = polytope_census(res.W[mi, 0, j, :2], res.b[mi, 0, j])
        numbers["census_m2_largest_T"] = str(census["label"].iloc[0])
    numbers["dropped_active_entries"] = int(np.sum(res.dropped))
    return finite_figures(res, ctx.out, ctx.fmt), numbers
