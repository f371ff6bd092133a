"""Training dynamics: the loss curve with the k-gon label of each snapshot, and the weights at snapshots.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis import polytopes
from ..errors import TmsError
from ..runs.results import check_results
from .common import check_index, sparsity_text


def training_dynamics_figure(res, cell=(0, 0, 0, 0)) -> Figure:
    """Loss against step (log-log) with the k-gon label at each snapshot, and the W columns' trajectories.

    ``cell = (sparsity, importance, lr, seed)`` indices. Needs a two-dimensional model trained with a loss
    curve (``log_every > 0``) and snapshots (``n_snapshots > 0``).
    """
    cell = _check(res, cell)
    st = res.static
    steps, curve = _loss_curve(res, cell)
    snap_W, snap_b = np.asarray(res.snapshots_W[cell], np.float64), np.asarray(res.snapshots_b[cell], np.float64)
    labels = np.asarray(polytopes.kgon_labels(snap_W, snap_b)).astype(str)  # (n_snap,)
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    draw_loss_panel(ax0, st, steps, curve, labels, res.grid.sparsity[cell[0]])
    draw_trajectory_panel(ax1, snap_W, st.snapshot_steps)
    fig.suptitle(f"Training dynamics: n={st.n_features}, m=2, final k-gon {labels[-1]}")
    return fig


def _check(res, cell) -> tuple[int, int, int, int]:
    """Validate ``res`` and ``cell``; returns the cell as four checked indices."""
    check_results(res, "training_dynamics_figure", n_hidden=2)
    st = res.static
    if st.n_snapshots <= 0:
        raise TmsError("training_dynamics_figure needs weight snapshots: train with n_snapshots > 0 "
                       f"(StaticConfig.n_snapshots); got n_snapshots={st.n_snapshots}")
    if len(cell) != 4:
        raise TmsError(f"cell must be 4 indices (sparsity, importance, lr, seed); got {cell!r}")
    return tuple(check_index(c, size, f"cell[{k}]") for k, (c, size) in enumerate(zip(cell, res.grid.shape)))


def _loss_curve(res, cell) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, loss)`` to draw: the recorded curve, or the final loss as a flat line over the snapshots."""
    st = res.static
    if st.log_every > 0:
        return st.log_steps, np.asarray(res.loss_curve[cell], np.float64)
    steps = np.array([max(int(st.snapshot_steps[0]), 1), st.steps], dtype=np.int64)
    return steps, np.full(2, float(res.final_loss[cell]))


def draw_loss_panel(ax0, st, steps, curve, labels, s) -> None:
    """The loss curve with a marker per snapshot, coloured and (where it changes) labelled by its k-gon."""
    snap_steps = st.snapshot_steps
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
    ax0.set_title(f"Loss and polytope during training, {sparsity_text(s)}", fontsize=10)


def draw_trajectory_panel(ax1, snap_W, snap_steps) -> None:
    """The path of each column W_i through the snapshots ``snap_W: (n_snap, 2, n)``: dot at the first, arrow at
    the last."""
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
