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
