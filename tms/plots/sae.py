"""Figures of SAEs against ground truth: decoder directions over the true ones, MMCS heat maps, the L0–FVU
frontier, dead latents over training, feature absorption against the knob, and the signs for choosing the
dictionary size without the truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..analysis.sae_signs import pick_sizes
from .common import subplots


def pentagon_figure(truth: np.ndarray, decoders: dict) -> Figure:
    """One panel per architecture: true directions ``truth: (n, 2)`` (grey) and decoder rows ``(d_sae, 2)``."""
    fig, axes = subplots(1, len(decoders), figsize=(3.0 * len(decoders), 3.2))
    axes = np.atleast_1d(axes)
    unit = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    for ax, (arch, W) in zip(axes, decoders.items()):
        W = np.asarray(W) / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-12)
        for v in unit:
            ax.plot([0, v[0]], [0, v[1]], color="0.7", lw=5, solid_capstyle="round", zorder=1)
        for w in W:
            ax.annotate("", xy=(w[0], w[1]), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "C3", "lw": 1.6})
        best = (unit @ W.T).max(axis=1)
        ax.set_title(f"{arch} ({len(W)} latents)\nmin max cos {best.min():.3f}", fontsize=9)
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(-1.15, 1.15)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("SAE decoder directions (red) over the true pentagon features (grey)", fontsize=10)
    fig.tight_layout()
    return fig


def _knob(rows: pd.DataFrame) -> tuple[str, np.ndarray]:
    if (rows["penalty"] > 0).any():
        return "penalty α", rows["penalty"].to_numpy()
    return "k", rows["k"].to_numpy()


def mmcs_heatmap_figure(frame: pd.DataFrame) -> Figure:
    """MMCS over (dictionary size ratio, sparsity knob), one panel per architecture (seeds averaged)."""
    archs = list(dict.fromkeys(frame.arch))
    fig, axes = subplots(1, len(archs), figsize=(3.6 * len(archs), 3.6), squeeze=False)
    fig.subplots_adjust(wspace=0.55, bottom=0.18)
    for ax, arch in zip(axes[0], archs):
        rows = frame[frame.arch == arch]
        name, knob = _knob(rows)
        table = rows.assign(knob=knob).pivot_table(index="knob", columns="ratio", values="mmcs", aggfunc="mean")
        im = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(table.shape[1]), [f"{r:g}×" for r in table.columns])
        ax.set_yticks(range(table.shape[0]), [f"{v:.2g}" for v in table.index], fontsize=7)
        for (i, j), v in np.ndenumerate(table.to_numpy()):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w" if v < 0.6 else "k")
        ax.set_xlabel("size / true features")
        ax.set_ylabel(name)
        ax.set_title(arch)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="MMCS")
    return fig


def frontier_figure(frame: pd.DataFrame) -> Figure:
    """L0 against FVU, one colour per architecture (each point one SAE)."""
    fig, ax = subplots(figsize=(5.2, 3.8))
    for i, (arch, rows) in enumerate(frame.groupby("arch", sort=False)):
        rows = rows.sort_values("l0")
        ax.scatter(rows["l0"], rows["fvu"], s=14, color=f"C{i}", label=arch, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("L0 (active latents per input)")
    ax.set_ylabel("fraction of variance unexplained")
    ax.legend(fontsize=8)
    ax.set_title("sparsity against reconstruction", fontsize=10)
    fig.tight_layout()
    return fig


def dead_latents_figure(curves: dict) -> Figure:
    """Dead latents per step, one line per resampling mode."""
    fig, ax = subplots(figsize=(5.2, 3.4))
    for mode, y in curves.items():
        ax.plot(np.arange(len(y)), y, label=f"resample: {mode}", lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("dead latents (no input in the window)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def absorption_figure(frame: pd.DataFrame) -> Figure:
    """Feature absorption against the sparsity knob: a row of panels per magnitude law (the ``magnitudes``
    column; one row without it), a column per architecture, each panel with its knob on x (penalty α, log
    scale, or k). Lines: the seed means of ``absorption`` (solid: the parent latent's misses that a child adds)
    and ``absorbed`` (dashed: misses covered by a latent carrying the parent's direction), and the baseline
    ``miss_alone`` (dotted: the parent latent's misses with no child on), one colour per dictionary size; dots:
    single seeds."""
    frame = frame if "magnitudes" in frame else frame.assign(magnitudes="")
    laws, archs = list(dict.fromkeys(frame.magnitudes)), list(dict.fromkeys(frame.arch))
    fig, axes = subplots(len(laws), len(archs), figsize=(3.4 * len(archs), 2.8 * len(laws)), squeeze=False)
    low = min(-0.05, float(np.nanmin(frame[["absorption", "absorbed"]].to_numpy())) - 0.05)
    for (i, law), (j, arch) in itertools.product(enumerate(laws), enumerate(archs)):
        ax, rows = axes[i, j], frame[(frame.magnitudes == law) & (frame.arch == arch)]
        name, knob = _knob(rows) if len(rows) else ("knob", np.zeros(0))
        rows = rows.assign(knob=knob)
        for c, (d_sae, part) in enumerate(rows.groupby("d_sae")):
            mean = part.groupby("knob")[["absorption", "absorbed"]].mean()
            for col, style in (("absorption", "-"), ("absorbed", "--")):
                ax.plot(mean.index, mean[col], style, color=f"C{c}", marker="o", ms=3, lw=1.3,
                        label=f"{col}, {d_sae} latents")
                ax.scatter(part.knob, part[col], s=6, color=f"C{c}", alpha=0.35)
            alone = part.groupby("knob")["miss_alone"].mean()
            ax.plot(alone.index, alone, ":", color=f"C{c}", lw=1.0, label=f"miss_alone, {d_sae} latents")
        if name.startswith("penalty"):
            ax.set_xscale("log")
        ax.set_ylim(low, 1.05)
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.set_xlabel(name)
        ax.set_title(f"{arch}" + (f", {law} magnitudes" if law else ""), fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("rate (fraction of examples)")
    axes[0, -1].legend(fontsize=6)
    fig.suptitle("feature absorption: the parent's latent silent when a child is on", fontsize=10)
    fig.tight_layout()
    return fig


_SIGN_PANELS = (("mmcs", "MMCS with the true features", "truth"), ("dead_frac", "dead latents / size", "dead"),
                ("loss_rel", "loss / loss at the smallest size", "sticky"),
                ("cross", "MMCS with the next larger size", "cross"))


def signs_figure(table: pd.DataFrame, dead_tol: float = 0.05, n_true: int | None = None,
                 knob_names: dict | None = None) -> Figure:
    """The size-choosing signs of :mod:`tms.analysis.sae_signs` against dictionary size beside the truth: a row
    per architecture, a line per knob value; a star marks the truth's best size at each knob, an open circle
    each sign's pick; the dotted line is the true feature count, the grey dashes what random directions give."""
    archs = list(dict.fromkeys(table["arch"]))
    fig, axes = subplots(len(archs), 4, figsize=(13.0, 2.6 * len(archs) + 0.7), squeeze=False, sharex=True)
    sizes = sorted(table["d_sae"].unique())
    for row, arch in zip(axes, archs):
        t = table[table["arch"] == arch]
        knobs = sorted(t["knob"].unique())
        colors = colormaps["viridis"](np.linspace(0.0, 0.9, len(knobs)))
        for color, knob in zip(colors, knobs):
            k = t[t["knob"] == knob].sort_values("d_sae").assign(loss_rel=lambda f: f["loss"] / f["loss"].iloc[0])
            picks = pick_sizes(k, dead_tol)
            for ax, (col, _, sign) in zip(row, _SIGN_PANELS):
                ax.plot(k["d_sae"], k[col], "-o", color=color, ms=3, lw=1.2, label=f"{knob:.3g}")
                hit = k[k["d_sae"] == picks[sign]]
                ax.plot(hit["d_sae"], hit[col], "*" if sign == "truth" else "o", ms=11 if sign == "truth" else 9,
                        mfc=color if sign == "truth" else "none", mec=color, mew=1.5)
        pairs = t.dropna(subset=["cross_random"]).groupby("d_sae")["cross_random"].mean()
        row[3].plot(pairs.index, pairs.to_numpy(), "--", color="0.6", lw=1, label="random")
        for ax, (_, label, _) in zip(row, _SIGN_PANELS):
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [f"{int(v)}" for v in sizes])
            ax.set_ylabel(label, fontsize=8)
            if n_true:
                ax.axvline(n_true, color="0.5", ls=":", lw=1)
        row[0].set_title(arch, fontsize=9, loc="left")
        row[0].legend(fontsize=6, title=(knob_names or {}).get(arch, "knob"), title_fontsize=6, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("dictionary size (latents)")
    fig.suptitle("Choosing the dictionary size without the truth: stars = best size by the truth, circles = each "
                 f"sign's pick (dead ≤ {dead_tol:g}; largest fall of the loss; highest MMCS with the next size)\n"
                 "dotted: the true feature count; grey dashes: the MMCS random directions would give", fontsize=9)
    fig.tight_layout()
    return fig
