"""The SLT figures draw from small hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from tms.plots.slt import calibration_figure, kgon_llc_figure, posterior_figure, trace_figure


def test_kgon_calibration_and_posterior_figures_draw():
    kg = pd.DataFrame({"n": [10, 100, 10, 100], "label": ["6", "6", "5", "5"], "llc": [7.0, 8.4, 5.0, np.nan],
                       "llc_se": [0.2, 0.1, 0.3, np.nan], "theory_llc": [8.5, 8.5, 7.0, 7.0],
                       "trusted": [True, True, False, False], "local_minimum": [True, True, False, False],
                       "frac_below": [0.0, 0.01, 0.2, 0.9], "frac_discarded": [0.0, 0.0, 0.0, 0.5]})
    fig = kgon_llc_figure(kg)
    assert len(fig.axes) == 2  # λ̂ panel and the escape-fraction panel
    # the λ̂ panel joins only the 6-gon's two trusted cells; no line through the untrusted 5-gon cells
    joined = [line for line in fig.axes[0].lines if len(line.get_xdata()) == 2 and line.get_linestyle() == "-"]
    assert [list(line.get_xdata()) for line in joined] == [[10, 100]]
    cal = pd.DataFrame({"label": "6", "n": 100, "step_scale": [0.1, 0.1, 1.0, 1.0], "localization": [0, 1, 0, 1],
                        "llc": [8.0, 7.9, np.nan, 9.0], "accept": [0.99, 0.99, 0.0, 0.7],
                        "usable": [True, True, False, False]})
    fig = calibration_figure(cal)
    assert sum(1 for p in fig.axes[0].patches) == 2  # one red box per usable cell
    post = pd.DataFrame({"n": [100, 100, 500], "label": ["5", "6", "6"], "fraction": [0.7, 0.3, 1.0]})
    assert posterior_figure(post, {"n_cr": 300.0}).axes[0].get_ylim() == (0, 1)
    with pytest.raises(ValueError, match="columns"):
        kgon_llc_figure(pd.DataFrame({"n": [1]}))


def test_trace_figure_draws_every_chain():
    from tms.slt.llc import LLCEstimate

    trace = np.linspace(0.05, 0.06, 40).reshape(2, 20)
    est = LLCEstimate(8.0, 0.2, 0.2, np.array([8.0, 8.0]), np.ones(2, bool), 0.0, 0.99, 0.05, trace, 10.0,
                      np.zeros(2, bool))
    fig = trace_figure(est, burn_in=5)
    assert len(fig.axes[0].lines) == 3  # two chains and the L(w*) line
    with pytest.raises(ValueError, match="chains, steps"):
        trace_figure(est._replace(trace=np.zeros(3)), 1)


def test_llc_dynamics_figure_draws_when_every_snapshot_diverged(tmp_path):
    from types import SimpleNamespace

    from tms.io import save_figure
    from tms.plots.slt import llc_dynamics_figure

    rng = np.random.default_rng(0)
    E = 20
    run = SimpleNamespace(epochs=np.arange(1, E + 1), loss=np.geomspace(0.2, 0.05, E), W=rng.normal(size=(E, 2, 6)),
                          data=SimpleNamespace(n_samples=100))
    snaps = {"epoch": np.array([1, 4, 20]), "label": np.array(["4", "5", "6"]), "llc": np.full(3, np.nan),
             "llc_se": np.full(3, np.nan), "diverged": np.array([2, 2, 2])}
    fig = llc_dynamics_figure(run, snaps)
    assert "3 of 3 snapshots DIVERGED" in fig.axes[1].get_title()
    save_figure(fig, tmp_path / "d.png")  # drawing the empty log axis used to raise
