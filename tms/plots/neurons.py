"""Figures of neurons in a privileged basis: stacked feature weights per neuron, the monosemantic fraction across
density, the absolute-value model's hidden units, and the asymmetric-superposition motif."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import cm, colormaps, colors
from matplotlib.figure import Figure

from ..analysis.neurons import neuron_frame
from .common import subplots


def _feature_colours(n: int):
    return colormaps["viridis"](np.linspace(0.0, 0.9, n))


def neuron_bars_figure(Ws, densities, title: str = "") -> Figure:
    """One panel per density: a column per neuron, one block per feature weight (height |w|, negative weights
    below the axis), coloured by feature (dark = most important), each neuron labelled mono or poly.
    ``Ws``: ``(densities, m, n)``."""
    Ws = np.asarray(Ws, np.float64)
    k, m, n = Ws.shape
    colours = _feature_colours(n)
    fig, axes = subplots(1, k, figsize=(1.6 * k + 1, 3.2), sharey=True, squeeze=False)
    for ax, W, d in zip(axes[0], Ws, densities):
        labels = neuron_frame(W).label
        for j in range(m):
            up = down = 0.0
            for i in np.argsort(-np.abs(W[j])):
                w = W[j, i]
                ax.bar(j, abs(w), bottom=up if w >= 0 else down - abs(w), color=colours[i], width=0.8,
                       edgecolor="white", linewidth=0.3)
                up, down = (up + w, down) if w >= 0 else (up, down + w)
            ax.text(j, -0.12, {"monosemantic": "M", "polysemantic": "P", "dead": "-"}[labels[j]],
                    ha="center", va="top", transform=ax.get_xaxis_transform(), fontsize=8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_title(f"density {d:g}", fontsize=9)
        ax.set_xticks([])
    axes[0, 0].set_ylabel("weight of each feature on the neuron")
    sm = cm.ScalarMappable(cmap="viridis", norm=colors.Normalize(0, n - 1))
    fig.colorbar(sm, ax=axes[0].tolist(), label="feature (0 = most important)", fraction=0.02)
    fig.suptitle(title or "Neurons across density (M monosemantic, P polysemantic)", fontsize=10)
    return fig


def monosemantic_figure(frame: pd.DataFrame) -> Figure:
    """Left: share of neurons monosemantic against density; right: features represented (relu_hidden beside the
    ReLU output model) and mean features per neuron. ``frame``: the experiment's per-density table."""
    fig, (a, b) = subplots(1, 2, figsize=(9, 3.4))
    a.plot(frame.density, frame.monosemantic_fraction, "o-")
    a.set_xscale("log")
    a.set_ylim(-0.05, 1.05)
    a.set_xlabel("feature density 1 − S")
    a.set_ylabel("share of neurons monosemantic")
    b.plot(frame.density, frame.features_represented, "o-", label="features represented (hidden ReLU)")
    b.plot(frame.density, frame.relu_output_represented, "s--", label="features represented (ReLU output)")
    b.plot(frame.density, frame.features_per_neuron, "^:", label="features per live neuron (mean)")
    b.set_xscale("log")
    b.set_xlabel("feature density 1 − S")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def abs_units_figure(W1s, densities, importance) -> Figure:
    """The absolute-value model's hidden units per density: each unit's input weights rescaled so its largest
    |W₁| entry is 1, units sorted by the importance of their largest feature. ``W1s``: ``(densities, m, n)``."""
    W1s = np.asarray(W1s, np.float64)
    k = len(W1s)
    fig, axes = subplots(1, k, figsize=(2.0 * k + 1, 4), squeeze=False)
    for ax, W, d in zip(axes[0], W1s, densities):
        scale = np.abs(W).max(axis=1, keepdims=True)
        R = np.divide(W, scale, out=np.zeros_like(W), where=scale > 0)
        top = np.argmax(np.abs(W), axis=1)
        order = np.argsort(-np.asarray(importance)[top], kind="stable")
        im = ax.imshow(R[order], cmap="RdBu", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_title(f"density {d:g}", fontsize=9)
        ax.set_xlabel("feature")
        ax.set_yticks([])
    axes[0, 0].set_ylabel("hidden unit (sorted by its top feature)")
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.02, label="W₁ / max |W₁| of the unit")
    return fig


def asymmetric_figure(W1, W2, neuron: int, strong: int, weak: int, inhibitor: int, setting: str = "") -> Figure:
    """The motif: the neuron's input weights from and output weights to its strong and weak feature, and the
    inhibitor's (when there is one); ``setting`` (e.g. "n = 20, m = 10, density 0.1") heads the title."""
    fig, ax = subplots(figsize=(5, 3.2))
    units = [(neuron, "motif neuron")] + ([(inhibitor, "inhibitor")] if inhibitor >= 0 else [])
    xs, width = np.arange(4), 0.8 / len(units)
    for u, (j, name) in enumerate(units):
        vals = [W1[j, strong], W1[j, weak], W2[strong, j], W2[weak, j]]
        ax.bar(xs + u * width, vals, width, label=f"{name} ({j})")
    ax.set_xticks(xs + width * (len(units) - 1) / 2,
                  [f"in from {strong}", f"in from {weak}", f"out to {strong}", f"out to {weak}"])
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("weight")
    ax.set_title((f"{setting}: " if setting else "") +
                 f"asymmetric superposition, features {strong} (strong) and {weak} (weak)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
