"""The experiments of "Toy Models of Superposition" (Elhage et al., 2022) that the lab reproduces.

Each function draws one figure set from its sweeps' results and returns the files and the numbers the docs
quote (phase-diagram agreement, the intro census).
"""

from __future__ import annotations

from ..analysis import theory
from ..analysis.polytopes import POLYTOPES, polytope_census
from ..io import save_figure
from ..plots import (
    census_figure,
    feature_geometry_figure,
    intro_figure,
    phase_agreement,
    phase_diagram_figure,
    training_dynamics_figure,
    varying_sparsity_figure,
)
from ..runs.results import best_models
from .registry import Context, register


@register("intro", ["intro"], "n=5, m=2, I_i = 0.9^i across sparsity: dedicated, antipodal pairs, pentagon")
def intro(ctx: Context):
    res = ctx.results["intro"]
    files = [save_figure(intro_figure(res), ctx.out / f"intro.{ctx.fmt}")]
    census = polytope_census(res.W[:, 0, 0, 0], res.b[:, 0, 0, 0])
    return files, {"census": {f"S={s:g}": str(lbl) for s, lbl in zip(res.grid.sparsity, census["label"])}}


@register("varying_sparsity", ["varying_sparsity_relu", "varying_sparsity_linear"],
          "n=20, m=5: WᵀW and feature norms across sparsity, ReLU beside linear")
def varying_sparsity(ctx: Context):
    fig = varying_sparsity_figure(ctx.results["varying_sparsity_relu"], ctx.results["varying_sparsity_linear"])
    return [save_figure(fig, ctx.out / f"varying_sparsity.{ctx.fmt}")], {}


def _phase(name: str, title: str):
    def draw(ctx: Context):
        res = ctx.results[name]
        st = res.static
        th = theory.diagram_for(st.n_features, st.n_hidden)(res.density, res.grid.importance_params["extra_importance"])
        files = [save_figure(phase_diagram_figure(res, th, title=title), ctx.out / f"{name}.{ctx.fmt}")]
        return files, {"agreement": float(phase_agreement(res, th))}

    return draw


register("phase_n2m1", ["phase_n2m1"], "phase diagram of 2 features in 1 dimension against theory")(
    _phase("phase_n2m1", "2 features in 1 dimension"))
register("phase_n3m2", ["phase_n3m2"], "phase diagram of 3 features in 2 dimensions against theory")(
    _phase("phase_n3m2", "3 features in 2 dimensions"))


GEOMETRY_FAMILIES = ("digon", "triangle", "tetrahedron", "pentagon", "square_antiprism")  # the paper's shapes


def geometry_census_numbers(res) -> dict:
    """Across the sweep: features per polytope family (and at which 1/(1−S) they occur), and the census label
    per 1/(1−S); the families the paper shows are listed first, with 0 where the trained models form none."""
    best = best_models(res)
    census = polytope_census(best.W[:, 0], best.b[:, 0])
    x = 1.0 / (1.0 - res.grid.sparsity)
    totals = {p: int(census[f"n_{p}"].sum()) for p in (*GEOMETRY_FAMILIES, *POLYTOPES) if f"n_{p}" in census}
    where = {p: [round(float(v), 3) for v, c in zip(x, census[f"n_{p}"]) if c > 0] for p in totals if totals[p]}
    return {"features_per_family": totals, "family_at_inverse_density": where,
            "missing_paper_families": [p for p in GEOMETRY_FAMILIES if not totals[p]],
            "label_by_inverse_density": {f"{v:.4g}": str(lbl) for v, lbl in zip(x, census["label"])}}


@register("feature_geometry", ["feature_geometry"],
          "n=400, m=30 (the paper's size): dimensions per feature across 1/(1-S) in [1, 20] and a sparse tail")
def feature_geometry(ctx: Context):
    res = ctx.results["feature_geometry"]
    fig = feature_geometry_figure(res)
    return [save_figure(fig, ctx.out / f"feature_geometry.{ctx.fmt}")], geometry_census_numbers(res)


@register("dynamics", ["dynamics"], "loss and k-gon label during training (n=6, m=2)")
def dynamics(ctx: Context):
    fig = training_dynamics_figure(ctx.results["dynamics"])
    return [save_figure(fig, ctx.out / f"dynamics.{ctx.fmt}")], {}


@register("census", ["feature_geometry"], "polytope census across sparsity (the feature_geometry sweep)")
def census(ctx: Context):
    return [save_figure(census_figure(ctx.results["feature_geometry"]), ctx.out / f"census.{ctx.fmt}")], {}
