"""Phase diagrams of small models: the empirical phase of the "extra" feature beside the theoretical one.

The paper's n=2, m=1 and n=3, m=2 diagrams (Elhage et al. 2022, "Phase changes"): x = density 1 − S of
all features (log), y = relative importance r of the extra feature (log), colour = the phase of the extra
feature, codes from :data:`tms.analysis.phases.PHASES` (shared with the theory). A cell whose kept model is non-finite gets phase −1 ("non_finite") and
counts as a disagreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..analysis import theory
from ..analysis.phases import PHASES, phase_frame
from ..errors import TmsError
from ..runs.results import best_models, check_results

PHASE_COLOURS = ("#9e9e9e", "#1f6fb4", "#d7301f")  # grey, blue, red
PHASE_LABELS = ("extra feature not represented", "extra feature in a dedicated dimension",
                "extra feature in superposition")
NON_FINITE = -1
_MATCH_RTOL = 1e-6


def relative_importance(res, feature: int = -1) -> np.ndarray:
    """``(I,)`` importance of ``feature`` divided by the largest importance of the other features."""
    imp = np.asarray(res.grid.importance, np.float64)
    n = imp.shape[1]
    if not isinstance(feature, (int, np.integer)) or not (-n <= feature < n):
        raise TmsError(f"feature must be an integer in [-{n}, {n}); got {feature!r}")
    others = np.delete(imp, feature % n, axis=1)
    return imp[:, feature] / np.max(others, axis=1)


def empirical_phases(res, feature: int = -1, **phase_kwargs) -> pd.DataFrame:
    """One row per (sparsity, importance) cell: the phase of ``feature`` in the cell's best model.

    Over lr and seeds the lowest-loss finite model is kept (the engine already kept the best restart).
    Columns: sparsity_index, importance_index, sparsity, density, relative_importance, lr, seed, final_loss,
    norm, superposition, phase, phase_name. ``phase_kwargs`` go to :func:`tms.analysis.phases.phase_frame`.
    """
    check_results(res, "empirical_phases")
    rel = relative_importance(res, feature)
    best = best_models(res)
    S, I, m, n = best.W.shape
    bad = ~np.isfinite(best.loss) | ~np.all(np.isfinite(best.W), axis=(-2, -1))
    W = np.where(bad[..., None, None], 0.0, best.W).reshape(S * I, m, n)
    ph = phase_frame(W, feature=feature, **phase_kwargs).reset_index(drop=True)
    s_idx, i_idx = (a.ravel() for a in np.meshgrid(np.arange(S), np.arange(I), indexing="ij"))
    df = pd.DataFrame({"sparsity_index": s_idx, "importance_index": i_idx,
                       "sparsity": res.grid.sparsity[s_idx], "density": 1.0 - res.grid.sparsity[s_idx],
                       "relative_importance": rel[i_idx],
                       "lr": res.grid.lr[best.lr_index.ravel()], "seed": res.grid.seeds[best.seed_index.ravel()],
                       "final_loss": best.loss.ravel()})
    bad = bad.ravel()
    df["norm"] = np.where(bad, np.nan, ph["norm"].to_numpy(np.float64))
    df["superposition"] = np.where(bad, np.nan, ph["superposition"].to_numpy(np.float64))
    df["phase"] = np.where(bad, NON_FINITE, ph["phase"].to_numpy()).astype(np.int64)
    df["phase_name"] = np.where(bad, "non_finite", np.asarray(PHASES)[np.clip(df["phase"], 0, 2)])
    return df


def _as_phase_frame(x, who: str, column: str = "phase") -> pd.DataFrame:
    if hasattr(x, "static") and hasattr(x, "arrays"):
        x = empirical_phases(x)
    if not isinstance(x, pd.DataFrame):
        raise TmsError(f"{who}: expected a Results or a DataFrame; got {type(x).__name__}")
    missing = [c for c in ("density", "relative_importance", column) if c not in x.columns]
    if missing:
        raise TmsError(f"{who}: DataFrame lacks column(s) {missing}; has {list(x.columns)}")
    return x


def match_cells(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """For each row of ``a``, the row of ``b`` at the same (density, relative_importance) (rtol 1e-6).

    Raises a ValueError naming the first cell of ``a`` that ``b`` lacks.
    """
    da, ra = a["density"].to_numpy(np.float64), a["relative_importance"].to_numpy(np.float64)
    db, rb = b["density"].to_numpy(np.float64), b["relative_importance"].to_numpy(np.float64)
    close = lambda x, y: np.abs(x[:, None] - y[None, :]) <= _MATCH_RTOL * np.abs(y[None, :]) + 1e-12  # noqa
    hit = close(da, db) & close(ra, rb)  # (len(a), len(b))
    found = hit.any(axis=1)
    if not found.all():
        k = int(np.argmin(found))
        raise TmsError(f"the diagrams do not share a grid: no cell at density={da[k]:.6g}, "
                       f"relative_importance={ra[k]:.6g} in the other diagram")
    return np.argmax(hit, axis=1)


def phase_agreement(empirical, theory, column: str = "phase", theory_column: str | None = None) -> float:
    """Fraction of ``empirical``'s cells whose phase equals ``theory``'s phase at the same cell.

    Each argument is a Results (its :func:`empirical_phases`) or a DataFrame with density,
    relative_importance and the phase column (``column`` in ``empirical``, ``theory_column`` — default the
    same — in ``theory``, e.g. ``"phase_zero_bias"`` of :func:`tms.analysis.theory.n2m1_diagram`).
    """
    theory_column = theory_column or column
    a = _as_phase_frame(empirical, "phase_agreement (empirical)", column)
    b = _as_phase_frame(theory, "phase_agreement (theory)", theory_column)
    if len(a) == 0:
        raise TmsError("phase_agreement: the empirical diagram has no cells")
    j = match_cells(a, b)
    return float(np.mean(a[column].to_numpy() == b[theory_column].to_numpy()[j]))


def theory_diagram(res, feature: int = -1) -> pd.DataFrame:
    """The theoretical diagram on ``res``'s grid: :mod:`tms.analysis.theory`'s n2m1 or n3m2 diagram."""
    st = res.static
    diagram = theory.diagram_for(st.n_features, st.n_hidden)
    if (feature % st.n_features) != st.n_features - 1:
        raise TmsError(f"the theoretical diagrams describe the last feature; got feature={feature}")
    return diagram(np.unique(res.density), np.unique(relative_importance(res, feature)))


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis around the sorted positive centres ``v: (k,)`` -> ``(k + 1,)``."""
    lv = np.log(v)
    if len(v) == 1:
        return np.exp(lv[0] + np.array([-0.1, 0.1]))
    mid = (lv[1:] + lv[:-1]) / 2
    return np.exp(np.concatenate([[2 * lv[0] - mid[0]], mid, [2 * lv[-1] - mid[-1]]]))


def _grid_of(df: pd.DataFrame, values: np.ndarray):
    """Pivot ``values`` (one per row of ``df``) onto (relative_importance, density): ``(R, D)`` + centres."""
    d, di = np.unique(df["density"].to_numpy(np.float64), return_inverse=True)
    r, ri = np.unique(df["relative_importance"].to_numpy(np.float64), return_inverse=True)
    if np.any(d <= 0) or np.any(r <= 0):
        raise TmsError("phase diagrams need density > 0 and relative_importance > 0 (log axes)")
    Z = np.full((len(r), len(d)) + values.shape[1:], np.nan)
    Z[ri, di] = values
    return d, r, Z


def phase_colours(phase: np.ndarray, norm: np.ndarray | None = None, superposition: np.ndarray | None = None):
    """RGB ``(..., 3)``: the phase's colour, lighter where the extra feature is weaker.

    Intensity: dedicated → ‖W_extra‖, superposition → its superposition, not represented → 1 − ‖W_extra‖
    (each clipped to [0, 1], mapped to [0.35, 1]); without norm/superposition, full colour. Non-finite: black.
    """
    phase = np.asarray(phase)
    base = np.array([colors.to_rgb(c) for c in PHASE_COLOURS])[np.clip(phase, 0, 2)]
    t = np.ones(phase.shape)
    if norm is not None and superposition is not None:
        nrm = np.clip(np.nan_to_num(norm), 0, 1)
        sup = np.clip(np.nan_to_num(superposition), 0, 1)
        t = np.select([phase == 0, phase == 1, phase == 2], [1 - nrm, nrm, sup], 1.0)
    t = 0.35 + 0.65 * t
    rgb = 1.0 - t[..., None] * (1.0 - base)
    return np.where((phase < 0)[..., None], 0.0, rgb)


def _draw(ax, df: pd.DataFrame, rgb: np.ndarray, title: str):
    d, r, Z = _grid_of(df, rgb)
    Z = np.where(np.isnan(Z), 1.0, Z)  # cells outside the grid: white
    ax.pcolormesh(_edges(d), _edges(r), Z, shading="flat")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density 1−S of every feature (log scale)")
    ax.set_ylabel("relative importance of the extra feature (log scale)")
    ax.set_title(title, fontsize=10)
    return d, r


def phase_diagram_figure(res, theory: pd.DataFrame | None = None, feature: int = -1, title: str | None = None,
                         theory_column: str = "phase") -> Figure:
    """Empirical phase diagram of ``feature`` (left) beside the theoretical one (right), with agreement.

    ``theory``: a DataFrame with density, relative_importance and ``theory_column`` on the same grid
    (default: :func:`theory_diagram`). Empirical cells are lighter where the extra feature is weaker (see
    :func:`phase_colours`); cells where the two diagrams disagree are marked with a black dot.
    """
    check_results(res, "phase_diagram_figure")
    emp = empirical_phases(res, feature)
    if theory is None:
        theory = theory_diagram(res, feature)
    th = _as_phase_frame(theory, "phase_diagram_figure (theory)", theory_column)
    j = match_cells(emp, th)
    th_phase = th[theory_column].to_numpy()
    agree = emp["phase"].to_numpy() == th_phase[j]
    fig = Figure(figsize=(12.5, 5.2), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, sharex=True, sharey=True)
    rgb = phase_colours(emp["phase"].to_numpy(), emp["norm"].to_numpy(), emp["superposition"].to_numpy())
    _draw(ax0, emp, rgb, "empirical (best model per cell; lighter = weaker extra feature)")
    dis = emp[~agree]
    ax0.plot(dis["density"], dis["relative_importance"], "k.", ms=3, label="disagrees with theory")
    _draw(ax1, th, phase_colours(th_phase), f"theory ({theory_column})")
    ax1.tick_params(labelleft=True)
    handles = [Patch(color=c, label=lab) for c, lab in zip(PHASE_COLOURS, PHASE_LABELS)]
    if len(dis):
        handles.append(ax0.lines[-1])
    if (emp["phase"] < 0).any():
        handles.append(Patch(color="k", label="non-finite model"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9)
    st = res.static
    pct = 100.0 * float(np.mean(agree))
    fig.suptitle(f"{title or f'Phase diagram, n={st.n_features}, m={st.n_hidden}'}"
                 f"   —   agreement: {pct:.1f}% of {len(emp)} cells", fontsize=12)
    return fig
