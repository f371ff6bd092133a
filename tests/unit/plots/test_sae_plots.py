"""SAE figures draw from hand-made frames (no training)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tms.plots.sae import dead_latents_figure, frontier_figure, mmcs_heatmap_figure, pentagon_figure


def _frame():
    rows = []
    for arch, knob in (("relu", "penalty"), ("topk", "k")):
        for ratio in (0.5, 1.0, 2.0):
            for v in (1, 2, 3):
                rows.append({"arch": arch, "ratio": ratio, "penalty": 0.01 * v if knob == "penalty" else 0.0,
                             "k": v if knob == "k" else 1, "mmcs": 0.3 * v * ratio / 2, "l0": v, "fvu": 0.1 / v})
    return pd.DataFrame(rows)


def test_figures_draw():
    angles = 2 * np.pi * np.arange(5) / 5
    truth = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    fig = pentagon_figure(truth, {"relu": truth, "topk": truth[::-1]})
    assert len(fig.axes) == 2 and "1.000" in fig.axes[0].get_title()
    heat = mmcs_heatmap_figure(_frame())
    assert [ax.get_title() for ax in heat.axes[:2]] == ["relu", "topk"] and heat.axes[1].get_ylabel() == "k"
    assert len(frontier_figure(_frame()).axes[0].collections) == 2
    assert len(dead_latents_figure({"none": np.zeros(10), "advanced": np.ones(10)}).axes[0].lines) == 2
    plt.close("all")


def test_signs_figure_marks_each_pick():
    from tms.analysis.sae_signs import pick_sizes
    from tms.plots.sae import signs_figure

    rows = []
    for arch, knobs in (("relu", (0.01, 0.1)), ("topk", (1, 2))):
        for j, knob in enumerate(knobs):
            for i, size in enumerate((8, 16, 32, 64)):
                rows.append({"arch": arch, "knob": knob, "d_sae": size, "mmcs": (0.5, 0.9, 0.95 - 0.1 * j, 0.8)[i],
                             "dead_frac": (0, 0, 0.02, 0.3)[i], "loss": (1.0, 0.4, 0.35, 0.34)[i] + j,
                             "loss_fall": np.nan, "cross": (0.6, 0.9 + 0.05 * j, 0.7, np.nan)[i],
                             "cross_random": (0.5, 0.55, 0.6, np.nan)[i]})
    table = pd.DataFrame(rows)
    table["loss_fall"] = table.groupby(["arch", "knob"])["loss"].transform(lambda L: (L.shift() - L) / L.shift())
    fig = signs_figure(table, n_true=16, knob_names={"relu": "α", "topk": "k"})
    assert len(fig.axes) == 8 and fig.axes[0].get_title(loc="left") == "relu"
    for ax, sign in zip(fig.axes[:4], ("truth", "dead", "sticky", "cross")):
        marked = [line.get_xdata()[0] for line in ax.lines if line.get_marker() in ("*", "o") and len(line.get_xdata()) == 1]
        want = [pick_sizes(table[(table.arch == "relu") & (table.knob == k)])[sign] for k in (0.01, 0.1)]
        assert marked == want, sign
    assert marked == [16, 16]
    plt.close("all")
