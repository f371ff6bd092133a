"""Figures of the SLT testbed: λ̂ against sample size at the k-gons, the ε × γ calibration map, the posterior's
phase fractions against n, and the training-dynamics figure with an LLC panel (built from
:mod:`tms.plots.dynamics`'s loss and trajectory panels).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..errors import TmsError
from .dynamics import draw_loss_panel, draw_trajectory_panel


def _need(df: pd.DataFrame, cols, who: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing or df.empty:
        raise TmsError(f"{who} needs a non-empty table with columns {list(cols)}; missing {missing}")


def kgon_llc_figure(df: pd.DataFrame) -> Figure:
    """Left: λ̂ ± standard error against n (log), one colour per k-gon. Filled markers joined by a line only
    for trusted cells (``df.trusted``: chains above L(w*), none discarded, acceptance ≥ 0.9); every other cell
    is a hollow marker (or × at the edge when off the scale) labelled with its fraction of draws below L(w*),
    with no line through it. The theoretical λ is dashed only for local minima. Right: the fraction of draws
    below L(w*) and of chains discarded, per cell."""
    _need(df, ("n", "label", "llc", "llc_se", "theory_llc", "trusted", "local_minimum", "frac_below",
               "frac_discarded"), "kgon_llc_figure")
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.4, 1])
    palette = colormaps["tab10"]
    lo, hi = -2.0, 1.6 * float(np.nanmax(df.theory_llc.astype(float).to_numpy(), initial=8.5))
    for k, (lab, g) in enumerate(df.groupby("label", sort=False)):
        c, g = palette(k % 10), g.sort_values("n")
        _kgon_series(ax, g, c, lab, lo, hi)
        ax2.plot(g.n, g.frac_below.astype(float), marker="o", color=c, label=f"{lab}: draws below L(w*)")
        ax2.plot(g.n, g.frac_discarded.astype(float), marker="s", ls="--", mfc="none", color=c,
                 label=f"{lab}: chains discarded")
    ax.set_xscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xlabel("sample size n (log scale)")
    ax.set_ylabel("estimated local learning coefficient λ̂")
    ax.set_title("λ̂ at the k-gons (n=6, m=2). Filled: trusted. Hollow / ×: chains escaped\n"
                 "(label: % of draws below L(w*)). Dashed: theoretical λ at local minima", fontsize=9)
    ax.legend(fontsize=7)
    ax2.axhline(0.02, color="0.5", lw=0.8, ls=":")
    ax2.set_xscale("log")
    ax2.set_ylim(-0.03, 1.03)
    ax2.set_xlabel("sample size n (log scale)")
    ax2.set_ylabel("fraction")
    ax2.set_title("Escapes per cell: draws below L(w*) (solid; dotted: the 2% bound)\n"
                  "and chains discarded (dashed)", fontsize=9)
    ax2.legend(fontsize=6, ncol=2)
    return fig


def _kgon_series(ax, g: pd.DataFrame, c, lab: str, lo: float, hi: float) -> None:
    """One k-gon's cells on the λ̂ panel (see :func:`kgon_llc_figure`)."""
    n = g.n.to_numpy()
    y = pd.to_numeric(g.llc, errors="coerce").to_numpy(float)
    e = pd.to_numeric(g.llc_se, errors="coerce").fillna(0).to_numpy(float)
    ok = g.trusted.to_numpy(bool) & np.isfinite(y)
    ax.errorbar(n[ok], y[ok], yerr=e[ok], marker="o", ls="none", capsize=3, color=c, label=f"{lab}-gon (trusted)")
    for i in range(len(n) - 1):  # lines only between neighbouring trusted cells
        if ok[i] and ok[i + 1]:
            ax.plot(n[i:i + 2], y[i:i + 2], color=c, lw=1.2)
    for i in np.flatnonzero(~ok):
        below = float(g.frac_below.iloc[i]) if g.frac_below.iloc[i] is not None else np.nan
        text = f"{lab}: {below:.1%} below" if np.isfinite(below) else f"{lab}: no estimate"
        if np.isfinite(y[i]) and lo <= y[i] <= hi:
            ax.errorbar(n[i], y[i], yerr=e[i], marker="o", mfc="white", ls="none", capsize=2, color=c, alpha=0.8)
            ax.annotate(text, (n[i], y[i]), xytext=(5, -3), textcoords="offset points", fontsize=7, color=c)
        else:
            edge = lo if not np.isfinite(y[i]) or y[i] < lo else hi
            ax.plot(n[i], edge, marker="x", ms=8, color=c)
            val = f" (λ̂ {y[i]:.1f})" if np.isfinite(y[i]) else ""
            ax.annotate(text + val, (n[i], edge), xytext=(5, 4 if edge == lo else -10), textcoords="offset points",
                        fontsize=7, color=c)
    th = float(g.theory_llc.iloc[0])
    if np.isfinite(th) and bool(g.local_minimum.iloc[0]):
        ax.axhline(th, color=c, ls="--", lw=1, alpha=0.7)
        ax.annotate(f"λ={th:g}", (n.max(), th), xytext=(4, 2), textcoords="offset points", color=c, fontsize=8)


def trace_figure(est, burn_in: int, title: str = "") -> Figure:
    """Loss of every chain at every step (``est``: :class:`tms.slt.llc.LLCEstimate`), burn-in shaded, L(w*)
    dashed: the first thing to look at before trusting λ̂ (a trend after the burn-in, or chains below the
    line, mean the estimate is not one)."""
    trace = np.asarray(est.trace, float)
    if trace.ndim != 2 or trace.shape[1] < 1:
        raise TmsError(f"trace_figure needs a (chains, steps) trace; got shape {trace.shape}")
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    steps = np.arange(trace.shape[1])
    for c in range(trace.shape[0]):
        ax.plot(steps, trace[c], lw=0.6, alpha=0.8, color=colormaps["tab10"](c % 10))
    ax.axvspan(0, burn_in, color="0.85", label="burn-in")
    ax.axhline(est.init_loss, color="k", ls="--", lw=1, label="L(w*)")
    ax.set_xlabel("SGLD step")
    ax.set_ylabel("loss L(w) at the step")
    ax.set_title(title or f"Loss traces of {trace.shape[0]} chains: λ̂ = {est.llc:.2f} ± {est.llc_se:.2f}, "
                 f"acceptance {est.accept:.3f}, draws below L(w*) {est.frac_below:.1%}", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def calibration_figure(df: pd.DataFrame) -> Figure:
    """λ̂ over the ε·nβ × γ grid (colour, value printed), usable cells outlined, acceptance printed below."""
    _need(df, ("step_scale", "localization", "llc", "accept", "usable"), "calibration_figure")
    xs, ys = sorted(df.step_scale.unique()), sorted(df.localization.unique())
    Z = np.full((len(ys), len(xs)), np.nan)
    fig = Figure(figsize=(1.3 * len(xs) + 2.5, 0.9 * len(ys) + 2), layout="constrained")
    ax = fig.subplots()
    for _, r in df.iterrows():
        i, j = ys.index(r.localization), xs.index(r.step_scale)
        Z[i, j] = r.llc if r.llc is not None and np.isfinite(float(r.llc)) else np.nan
    finite = Z[np.isfinite(Z)]
    vmax = float(np.percentile(finite, 90)) if finite.size else 1.0
    im = ax.imshow(np.clip(Z, 0, None), origin="lower", cmap="viridis", vmin=0, vmax=max(vmax, 1e-9), aspect="auto")
    for _, r in df.iterrows():
        i, j = ys.index(r.localization), xs.index(r.step_scale)
        text = "diverged" if not np.isfinite(Z[i, j]) else f"{Z[i, j]:.2f}"
        ax.text(j, i + 0.12, text, ha="center", va="center", fontsize=8, color="w")
        ax.text(j, i - 0.22, f"acc {r.accept:.2f}", ha="center", va="center", fontsize=6, color="w")
        if bool(r.usable):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
    ax.set_xlabel("step size as ε·nβ")
    ax.set_ylabel("localization γ")
    lab, n = df.label.iloc[0], int(df.n.iloc[0])
    ax.set_title(f"Calibration at the {lab}-gon, n={n}: λ̂ (red: usable — acceptance ≥ 0.9, no drift)", fontsize=9)
    fig.colorbar(im, ax=ax, label="λ̂")
    return fig


def posterior_figure(df: pd.DataFrame, critical=None) -> Figure:
    """Fraction of posterior chains per k-gon label against n, with vertical lines at critical sample sizes
    (``critical``: dict name -> n)."""
    _need(df, ("n", "label", "fraction"), "posterior_figure")
    table = df.pivot_table(index="n", columns="label", values="fraction", fill_value=0.0).sort_index()
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    palette = colormaps["tab10"]
    for k, lab in enumerate(table.columns):
        ax.plot(table.index, table[lab], marker="o", color=palette(k % 10), label=f"{lab}")
    for k, (name, n) in enumerate((critical or {}).items()):
        if n is not None and np.isfinite(n):
            ax.axvline(n, color="0.3", ls=("--", ":", "-.")[k % 3], lw=1, label=f"{name}: n={n:.0f}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("sample size n (log scale)")
    ax.set_ylabel("fraction of posterior chains")
    ax.set_title("Posterior at β=1 by SGLD: k-gon label of each chain's final state", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    return fig


def llc_dynamics_figure(run, snaps: dict) -> Figure:
    """The training-dynamics figure with an LLC panel: loss with k-gon labels at the snapshots (top left), λ̂ ±
    standard error at the same snapshots (bottom left), the columns' trajectories (right).

    ``run``: :class:`tms.slt.dynamics.SGDRun`; ``snaps``: :func:`tms.slt.dynamics.snapshot_llcs`'s dict.
    """
    epochs = np.asarray(snaps["epoch"])
    fig = Figure(figsize=(13, 7), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.5, 1])
    ax0, ax_l, ax1 = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[:, 1])
    st = SimpleNamespace(snapshot_steps=epochs, log_every=1)
    draw_loss_panel(ax0, st, run.epochs, run.loss, np.asarray(snaps["label"]), 1.0)
    ax0.set_xlabel("epoch (log scale)")
    ax0.set_ylabel("training loss L_n (log scale)")
    ax0.set_title(f"SGD on n={run.data.n_samples} high-sparsity examples: loss and k-gon label", fontsize=10)
    llc, se = np.asarray(snaps["llc"], float), np.nan_to_num(np.asarray(snaps["llc_se"], float))
    ax_l.errorbar(epochs, llc, yerr=se, marker="o", ms=4, capsize=2, color="C3")
    ax_l.axhline(0, color="0.6", lw=0.8)
    for y, lab in ((7.0, "5-gon λ=7"), (8.5, "5+/6-gon λ=8.5")):
        ax_l.axhline(y, color="0.4", ls="--", lw=0.8)
        ax_l.annotate(lab, (epochs[0], y), xytext=(2, 2), textcoords="offset points", fontsize=7)
    ax_l.set_xscale("log")
    if not np.isfinite(llc).any():  # every snapshot diverged: no data sets the log axis's limits
        ax_l.set_xlim(epochs.min() / 1.3, epochs.max() * 1.3)
    ax_l.set_xlabel("epoch (log scale)")
    ax_l.set_ylabel("λ̂ at the snapshot")
    bad = int(np.count_nonzero(np.asarray(snaps.get("diverged", 0)) > 0))
    note = f"\n{bad} of {len(epochs)} snapshots DIVERGED (step too large): no λ̂ there" if bad else ""
    ax_l.set_title("Estimated LLC at each snapshot (chains localised at the snapshot)" + note, fontsize=10)
    idx = epochs - 1
    draw_trajectory_panel(ax1, np.asarray(run.W)[idx], epochs)
    ax1.set_title(f"Trajectories of $W_i$ (epoch {epochs[0]} to {epochs[-1]})", fontsize=10)
    fig.suptitle(f"Training dynamics with the LLC: final k-gon {snaps['label'][-1]}, "
                 f"final loss {run.loss[-1]:.4f}")
    return fig
