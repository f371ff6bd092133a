"""H&H's α/β filters as images over the input grid, and the tests they made of them.

With attention fixed at its mean, resid_mid(x, y) = E_x[x] + E_y[y] + c exactly (:mod:`.embeddings`), so the
α filter value is f_α(x, y) = α·E_x[x] + α·E_y[y] + α·c, a sum of one term per token ("two rank-1 114×114
matrices"); thresholded at t_α it is H&H's binary α filter. α, β, t_α, t_β are the published rule fitted on
the fixed-attention model's PC1–PC2 plane (``Diagnosis.rule_fixed_attention``).

- :func:`filter_images`: (2, 113, 113) filter values; their binary AND against the fixed-attention model
  (published 97.9%) and the full model (published 91.5%).
- :func:`threshold_margins` and :func:`near_threshold_table`: H&H's prediction that the fixed-attention
  model's mistakes have filter values near the threshold of at least one filter. The margin of an input is
  min over the two filters of |f − t| / s.d.(f); the table compares mistakes with all inputs.
- :func:`equal_value_lines`: H&H's test that inputs with equal value on one filter lie on a line parallel to
  that filter's decision boundary in the PC1–PC2 plane: for a few filter values (random inputs' values,
  seeded), the inputs within ``band`` of it are projected on the plane; the spread across the line
  (along the filter direction), relative to the overall spread, and the angle between their main axis and
  the boundary. Exact (zero spread) for the fixed-attention model by construction; informative for the full.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import plots_methods
from tms.challenge.diagnostics.directions import PCA, AndRule
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings
from tms.challenge.diagnostics.grid import as_grid
from tms.challenge.diagnostics.registry import Outcome, register

NEAR_QUANTILE = 0.1  # "near a threshold": margin within the smallest 10% of all inputs' margins


def filter_images(ext: ExtendedEmbeddings, rule: AndRule) -> np.ndarray:
    """(2, 113, 113) α and β filter values f(x, y) = d·E_x[x] + d·E_y[y] + d·c, indexed [x, y]."""
    d = np.asarray(rule.directions, np.float64)
    ax, ay, c = ext.x @ d.T, ext.y @ d.T, d @ ext.const  # (v, 2), (v, 2), (2,)
    return np.stack([ax[:, None, i] + ay[None, :, i] + c[i] for i in (0, 1)])


def filter_and(images, thresholds) -> np.ndarray:
    """(113, 113) uint8: [f_α > t_α] ∧ [f_β > t_β]."""
    f = np.asarray(images)
    return ((f[0] > thresholds[0]) & (f[1] > thresholds[1])).astype(np.uint8)


def threshold_margins(values, thresholds) -> np.ndarray:
    """(N, 2) filter values -> (N,) min over filters of |f − t| / s.d.(f)."""
    v = np.asarray(values, np.float64)
    return (np.abs(v - np.asarray(thresholds)[None, :]) / v.std(0)[None, :]).min(1)


def near_threshold_table(values, thresholds, mistakes) -> pd.DataFrame:
    """Rows "all" and "mistakes": n, median margin, fraction within the NEAR_QUANTILE margin of all inputs,
    fraction whose nearer threshold is α's."""
    v = np.asarray(values, np.float64)
    m = threshold_margins(v, thresholds)
    z = np.abs(v - np.asarray(thresholds)[None, :]) / v.std(0)[None, :]
    cut = np.quantile(m, NEAR_QUANTILE)
    mistakes = np.asarray(mistakes).reshape(-1).astype(bool)
    rows = []
    for name, sel in (("all", np.ones(len(m), bool)), ("mistakes", mistakes)):
        rows.append({"group": name, "n": int(sel.sum()),
                     "median_margin": float(np.median(m[sel])) if sel.any() else np.nan,
                     "frac_near": float((m[sel] <= cut).mean()) if sel.any() else np.nan,
                     "frac_nearer_alpha": float((z[sel, 0] < z[sel, 1]).mean()) if sel.any() else np.nan})
    return pd.DataFrame(rows)


def equal_value_lines(resid_mid, pc: PCA, rule: AndRule, values, n_lines: int = 5, band: float = 0.01,
                      seed: int = 0) -> pd.DataFrame:
    """For each filter (α, β) and ``n_lines`` seeded filter values: the inputs whose ``values`` (N, 2) lie
    within ``band`` × range of it, in the PC1–PC2 plane of ``resid_mid``. Columns: filter, value, n,
    across_spread (s.d. along the filter's in-plane normal / its s.d. over all inputs), angle_deg (between
    the points' main axis and the decision boundary; NaN with fewer than 3 points)."""
    r = np.asarray(resid_mid, np.float64)
    z = (r - pc.mean) @ pc.components[:2].T  # (N, 2)
    v = np.asarray(values, np.float64)
    rng = np.random.default_rng(seed)
    rows = []
    for i, name in enumerate(("alpha", "beta")):
        normal = np.asarray(rule.directions[i]) @ pc.components[:2].T
        normal = normal / np.linalg.norm(normal)
        across_all = (z @ normal).std()
        width = band * np.ptp(v[:, i])
        for target in v[rng.choice(len(v), n_lines, replace=False), i]:
            sel = np.abs(v[:, i] - target) <= width
            pts = z[sel]
            angle = np.nan
            if len(pts) >= 3:
                axis = np.linalg.svd(pts - pts.mean(0), full_matrices=False)[2][0]
                angle = float(np.degrees(np.arcsin(min(1.0, abs(axis @ normal)))))
            rows.append({"filter": name, "value": float(target), "n": int(sel.sum()),
                         "across_spread": float((pts @ normal).std() / across_all), "angle_deg": angle})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- registered diagnostic
@register("filters", "H&H's binary α/β filter images and their AND; the fixed-attention model's mistakes near a "
                     "threshold; equal filter values on a line")
def filter_diagnostic(dx) -> Outcome:
    rule, fa, full = dx.rule_fixed_attention, dx.fixed.run, dx.full
    img = filter_images(dx.extended, rule)
    both = filter_and(img, rule.thresholds).ravel()
    values = img.reshape(2, -1).T  # (N, 2)
    near = near_threshold_table(values, rule.thresholds, fa.pred != dx.truth)
    lines = pd.concat([equal_value_lines(run.resid_mid, pc, rule, values, seed=dx.settings.seed).assign(model=m)
                       for m, run, pc in (("fixed_attention", fa, dx.pca_fixed), ("full", full, dx.pca_fixed))],
                      ignore_index=True)
    n = near.set_index("group")
    numbers = dict(
        filter_and_agreement_fixed_attention=float((both == fa.pred).mean()),
        filter_and_agreement_full=float((both == full.pred).mean()),
        filter_and_accuracy=float((both == dx.truth).mean()),
        fixed_attention_mistakes=int(n.loc["mistakes", "n"]),
        fixed_mistakes_median_margin=n.loc["mistakes", "median_margin"], all_median_margin=n.loc["all", "median_margin"],
        fixed_mistakes_frac_near_threshold=n.loc["mistakes", "frac_near"],
        equal_value_across_spread_fixed=float(lines[lines["model"] == "fixed_attention"]["across_spread"].max()),
        equal_value_across_spread_full=float(lines[lines["model"] == "full"]["across_spread"].median()))
    figures = {}
    if dx.settings.figures:
        figures["extended_embeddings"] = plots_methods.filter_figure(
            dx.extended, rule, img, as_grid(fa.pred), as_grid(full.pred))
        figures["filter_mistakes"] = plots_methods.margin_figure(img, rule.thresholds, as_grid(fa.pred != dx.truth))
    return Outcome(numbers, {"filter_near_threshold": near, "filter_equal_value_lines": lines}, figures)
