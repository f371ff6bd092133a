"""Figures of the challenge diagnostics drawn from synthetic inputs."""

import numpy as np
import pandas as pd

from tms.challenge import data as D
from tms.challenge import plots as P
from tms.challenge import plots_methods as PM
from tms.challenge.diagnostics.directions import AndRule
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings


def test_figures_from_synthetic_inputs(tmp_path):
    rng = np.random.default_rng(0)
    truth = D.label_grid()
    fig = P.label_maps_figure({"ground truth": truth, "errors": rng.random((113, 113)) < 0.01})
    fig.savefig(tmp_path / "maps.png", dpi=40)
    assert (tmp_path / "maps.png").stat().st_size > 1000
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "y (second token)"
    assert len(fig.axes[0].get_lines()) == 3  # the three boundary curves
    ext = ExtendedEmbeddings(rng.normal(size=(113, 4)), rng.normal(size=(113, 4)), np.zeros(4),
                               rng.normal(size=(113, 6)), rng.normal(size=(113, 6)), np.zeros(6))
    figs = [
        P.value_map_figure({"a": rng.normal(size=(113, 113)), "b": rng.normal(size=(113, 113))}, "t"),
        P.attention_figure(rng.random((8, 3)), 0.1 * rng.random((8, 3))),
        P.resid_mid_figure(np.full(10, 0.1), rng.normal(size=(200, 2)), rng.integers(0, 2, 200), [0, 0], 0.9),
        P.neuron_embedding_figure(ext, [1, 5], ["red-left", "blue-all"]),
        P.geometry_figure({"w": rng.random(50), "w:random": rng.random(50)}),
    ]
    rule = AndRule(np.eye(4)[:2], np.array([0.1, -0.2]), 0.9)
    img = rng.normal(size=(2, 113, 113))
    labels = rng.integers(0, 2, (113, 113))
    pos = pd.DataFrame({"head": range(8), "delta": rng.normal(size=8)})
    add = pd.DataFrame({"heads": ["none", "0", "1", "all"], "n_heads": [0, 1, 1, 8], "agreement": [0.9, 0.95, 0.92, 1.0],
                        "accuracy": [0.9, 0.94, 0.91, 0.98]})
    interp = pd.DataFrame({"t": [0, 0.5, 1], "agreement": [0.9, 0.95, 1.0], "accuracy": [0.9, 0.93, 0.98]})
    res = pd.DataFrame({"model": ["full"] * 2 + ["fixed_attention"] * 2, "variant": ["clean", "[1]"] * 2,
                        "agreement_full": [1, 0.9, 1, 0.8], "agreement_full_std": [0, 0.01, 0, 0.01],
                        "accuracy": [0.98, 0.88, 0.9, 0.8], "accuracy_std": [0, 0.01, 0, 0.01]})
    per = pd.DataFrame({"direction": ["random 0"] * 2 + ["along α boundary"] * 2, "length": [0, 1] * 2,
                        "rule_agreement": [0.9, 0.8, 0.9, 0.85], "changed": [0, 0.1, 0, 0.2]})
    figs += [PM.filter_figure(ext, rule, img, labels, labels), PM.margin_figure(img, rule.thresholds, labels),
             PM.heads_figure(pos, rng.normal(size=(8, 113)), add, interp), PM.resampling_figure(res),
             PM.perturbation_figure(per)]
    for i, f in enumerate(figs[-5:]):
        f.savefig(tmp_path / f"m{i}.png", dpi=30)
    # a colour bar beside each value map
    assert len(figs[0].axes) == 4
    for f in figs:
        assert all(ax.get_title() or not ax.get_visible() or ax.get_label() == "<colorbar>" for ax in f.axes)
