"""The training-dynamics figure (tms.plots.dynamics): k-gon labels on the loss curve, trajectories."""

import numpy as np
import pytest

from tms import plots


def test_training_dynamics_figure_hand_built_labels(fake_results, panels, pentagon):
    """Snapshots move from a square with a positive-bias dropped feature ("4+") to a pentagon ("5")."""
    static = dict(steps=1000, log_every=10, n_snapshots=6)
    res = fake_results(np.zeros((1, 1, 1, 1, 2, 5)), **static)
    steps = res.static.snapshot_steps
    square = np.zeros((2, 5))
    square[:, :4] = [[1, 0, -1, 0], [0, 1, 0, -1]]
    snaps = np.stack([square] * 3 + [pentagon()] * 3)  # (6, 2, 5)
    bias = np.zeros((6, 5))
    bias[:3, 4] = 0.2
    res.arrays["snapshots_W"] = snaps[None, None, None, None]
    res.arrays["snapshots_b"] = bias[None, None, None, None]
    curve = 1.0 / np.sqrt(res.static.log_steps)
    res.arrays["loss_curve"] = curve[None, None, None, None]
    fig = plots.training_dynamics_figure(res)
    ax0, ax1 = panels(fig)
    assert ax0.get_xscale() == "log" and ax0.get_yscale() == "log"
    assert ax0.get_xlabel() and ax0.get_ylabel() and ax1.get_xlabel() and ax1.get_ylabel()
    np.testing.assert_allclose(ax0.lines[0].get_ydata(), curve)
    texts = [t.get_text() for t in ax0.texts]
    inside = (steps >= 10) & (steps <= 1000)
    expect = [lab for lab, ok in zip(["4+"] * 3 + ["5"] * 3, inside) if ok]
    assert texts == [lab for k, lab in enumerate(expect) if k == 0 or lab != expect[k - 1]]
    assert "5" in fig._suptitle.get_text()
    # Markers sit on the curve: loss at the marker = interpolated 1/sqrt(step).
    marks = ax0.lines[1:]
    np.testing.assert_allclose([m.get_ydata()[0] for m in marks], 1 / np.sqrt(steps[inside]), rtol=1e-9)
    # Trajectories: one line per feature through the snapshot positions.
    np.testing.assert_allclose(ax1.lines[0].get_xdata(), snaps[:, 0, 0], atol=1e-12)



def test_training_dynamics_figure_bad_input(fake_results):
    with pytest.raises(ValueError, match="n_snapshots"):
        plots.training_dynamics_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 5))))
    res = fake_results(np.zeros((1, 1, 1, 1, 2, 5)), steps=100, log_every=10, n_snapshots=4)
    with pytest.raises(ValueError, match=r"cell\[0\]"):
        plots.training_dynamics_figure(res, cell=(1, 0, 0, 0))
    with pytest.raises(ValueError, match="4 indices"):
        plots.training_dynamics_figure(res, cell=(0, 0))

