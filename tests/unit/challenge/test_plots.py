"""Figures of the challenge diagnostics drawn from synthetic inputs."""

import numpy as np

from tms.challenge import data as D
from tms.challenge import plots as P
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
        P.extended_embedding_figure(ext, np.eye(4)[:2], [0.0, 0.0], neurons=[1, 5]),
        P.geometry_figure({"w": rng.random(50), "w:random": rng.random(50)}),
    ]
    # a colour bar beside each value map
    assert len(figs[0].axes) == 4
    for f in figs:
        assert all(ax.get_title() or not ax.get_visible() or ax.get_label() == "<colorbar>" for ax in f.axes)
