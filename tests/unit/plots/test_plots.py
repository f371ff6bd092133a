"""Figures: every function on hand-built weights (known geometry) and on small real Results.

Checks are about content, not pixels: panel counts, labelled axes, census labels in titles, the numbers
drawn (arrows, heatmaps, bars, lines) against independent NumPy computations, and phase agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.quiver import Quiver

from tms.engine import data as tdata
from tms import plots
from tms.runs.grid import Grid
from tms.plots.phase import phase_colours, relative_importance
from tms.runs.results import Results, best_models, train_grid
from tms.engine.config import StaticConfig


# ------------------------------------------------------------------------------------------- helpers


def pentagon(length=1.0):
    a = 2 * np.pi * np.arange(5) / 5 + 0.3
    return length * np.stack([np.cos(a), np.sin(a)])  # (2, 5)


def fake_results(W, b=None, loss=None, sparsity=None, importance=None, importance_params=None, **static_kw):
    """Results around hand-built ``W: (S, I, L, K, m, n)`` (no training)."""
    W = np.asarray(W, np.float64)
    S, I, L, K, m, n = W.shape
    b = np.zeros((S, I, L, K, n)) if b is None else np.asarray(b, np.float64)
    loss = np.full((S, I, L, K), 0.1) if loss is None else np.asarray(loss, np.float64)
    static = StaticConfig(n_features=n, n_hidden=m, **static_kw)
    grid = Grid.make(n, sparsity=np.linspace(0, 0.9, S) if sparsity is None else sparsity,
                     importance=np.ones((I, n)) if importance is None else importance,
                     lr=np.geomspace(1e-3, 1e-2, L), seeds=np.arange(K), importance_params=importance_params)
    n_logs, n_snap = static.n_logs, static.n_snapshots
    arrays = {"W": W, "b": b, "final_loss": loss, "restart_losses": loss[..., None],
              "best_restart": np.zeros((S, I, L, K), np.int64), "loss_curve": np.ones((S, I, L, K, n_logs)),
              "snapshots_W": np.repeat(W[..., None, :, :], n_snap, axis=4),
              "snapshots_b": np.repeat(b[..., None, :], n_snap, axis=4)}
    return Results(static, grid, arrays)


def panels(fig):
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def colourbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


@pytest.fixture(scope="module")
def intro_like():
    """S=0: two dedicated dimensions and three dropped features; S=0.9: a regular pentagon."""
    W = np.zeros((2, 1, 1, 1, 2, 5))
    W[0, 0, 0, 0, :, :2] = np.eye(2)
    W[1, 0, 0, 0] = pentagon()
    return fake_results(W, sparsity=[0.0, 0.9], importance=0.9 ** np.arange(5))


@pytest.fixture(scope="module")
def tiny_run():
    """A real n=5, m=2 grid, trained for a few steps with a loss curve and snapshots."""
    return train_grid(n_features=5, n_hidden=2, steps=60, batch_size=64, eval_batch=256, sparsity=[0.0, 0.9],
                      importance=0.9 ** np.arange(5), seeds=[0, 1], log_every=10, n_snapshots=5, progress=False)


# ------------------------------------------------------------------------------------ best models


def test_best_models_picks_lowest_finite_loss_over_lr_and_seed():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 1, 2, 3, 2, 4))
    loss = np.array([[[[0.5, np.nan, 0.2], [0.3, 0.9, 0.8]]], [[[np.inf, 0.4, 0.6], [0.7, 0.05, 0.1]]]])
    best = best_models(fake_results(W, loss=loss))
    np.testing.assert_array_equal(best.lr_index, [[0], [1]])
    np.testing.assert_array_equal(best.seed_index, [[2], [1]])
    np.testing.assert_allclose(best.loss, [[0.2], [0.05]])
    np.testing.assert_allclose(best.W[0, 0], W[0, 0, 0, 2])
    np.testing.assert_allclose(best.W[1, 0], W[1, 0, 1, 1])


# ----------------------------------------------------------------------------------------- intro


def test_intro_figure_hand_built(intro_like):
    fig = plots.intro_figure(intro_like)
    axes = panels(fig)
    assert len(axes) == 2 and len(colourbars(fig)) == 1
    assert axes[0].get_title() == "S=0: 2×dedicated + 3 dropped"
    assert axes[1].get_title() == "S=0.9: pentagon"
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert "importance" in colourbars(fig)[0].get_ylabel()
    # The arrows are the columns of W (drawn least important first).
    q = [c for c in axes[1].collections if isinstance(c, Quiver)][0]
    order = np.argsort(0.9 ** np.arange(5))
    np.testing.assert_allclose(q.U, pentagon()[0, order])
    np.testing.assert_allclose(q.V, pentagon()[1, order])


def test_intro_figure_rejects_wrong_sizes():
    with pytest.raises(ValueError, match="n_hidden"):
        plots.intro_figure(fake_results(np.zeros((1, 1, 1, 1, 3, 4))))
    with pytest.raises(ValueError, match="importance_index"):
        plots.intro_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 4))), importance_index=3)
    with pytest.raises(ValueError, match="Results"):
        plots.intro_figure(np.zeros((2, 5)))


# ------------------------------------------------------------------------------- varying sparsity


def test_varying_sparsity_figure_heatmaps_and_bars():
    rng = np.random.default_rng(1)
    relu = fake_results(rng.normal(size=(3, 1, 1, 1, 3, 6)) * 0.5, sparsity=[0.9, 0.0, 0.5])
    lin = fake_results(rng.normal(size=(2, 1, 1, 1, 3, 6)) * 0.5, sparsity=[0.0, 0.5], kind="linear")
    fig = plots.varying_sparsity_figure(relu, lin)
    axes = np.asarray(panels(fig)).reshape(4, 3)
    assert len(colourbars(fig)) == 2
    assert not axes[2, 2].axison and not axes[3, 2].axison  # the linear run has only two densities
    W_sorted = relu.W[[1, 2, 0], 0, 0, 0]  # columns sorted by sparsity: 0, 0.5, 0.9
    G = np.einsum("smi,smj->sij", W_sorted, W_sorted)
    vmax = max(np.abs(G).max(), np.abs(np.einsum("smi,smj->sij", lin.W[:, 0, 0, 0], lin.W[:, 0, 0, 0])).max())
    for c in range(3):
        im = axes[0, c].images[0]
        np.testing.assert_allclose(im.get_array(), G[c])
        np.testing.assert_allclose(im.get_clim(), (-vmax, vmax))  # diverging, centred at 0
        widths = [p.get_width() for p in axes[1, c].patches]
        np.testing.assert_allclose(widths, np.linalg.norm(W_sorted[c], axis=0))
        assert "density" in axes[0, c].get_title() and axes[1, c].get_xlabel()
    assert axes[0, 0].get_title().startswith("ReLU") and axes[2, 0].get_title().startswith("linear")
    assert "superposition" in colourbars(fig)[1].get_ylabel()


def test_varying_sparsity_figure_rejects_mismatched_linear():
    with pytest.raises(ValueError, match="n_features"):
        plots.varying_sparsity_figure(fake_results(np.zeros((1, 1, 1, 1, 3, 6))),
                                      fake_results(np.zeros((1, 1, 1, 1, 3, 5))))


# ----------------------------------------------------------------------------------------- phases


def n2m1_like():
    """n=2, m=1 over 2 densities x 2 relative importances, with hand-picked phases of the extra feature."""
    W = np.zeros((2, 2, 1, 2, 1, 2))
    W[0, 0, 0, 0, 0] = [1.0, 0.0]  # extra dropped -> 0
    W[0, 1, 0, 0, 0] = [0.0, 1.0]  # extra alone -> dedicated 1
    W[1, 0, 0, 0, 0] = [1.0, -1.0]  # antipodal -> superposition 2
    W[1, 1, 0, 0, 0] = [0.0, 1.0]
    W[..., 1, :, :] = [[1.0, -1.0]]  # seed 1 is antipodal everywhere but loses (higher loss) except at (1, 1)
    loss = np.full((2, 2, 1, 2), 0.1)
    loss[..., 1] = 0.2
    loss[1, 1, 0, 1] = 0.05
    rel = np.array([0.5, 2.0])
    return fake_results(W, loss=loss, sparsity=[0.0, 0.9], importance=np.stack([tdata.importance_extra(2, r) for r in rel]),
                        importance_params={"extra_importance": rel})


def test_empirical_phases_hand_built():
    df = plots.empirical_phases(n2m1_like())
    assert len(df) == 4
    np.testing.assert_allclose(df["density"], [1.0, 1.0, 0.1, 0.1])
    np.testing.assert_allclose(df["relative_importance"], [0.5, 2.0, 0.5, 2.0])
    np.testing.assert_array_equal(df["phase"], [0, 1, 2, 2])  # (0.1, 2.0): seed 1 (antipodal) has lower loss
    np.testing.assert_array_equal(df["seed"], [0, 0, 0, 1])
    np.testing.assert_allclose(df["norm"], [0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(df["superposition"], [0.0, 0.0, 1.0, 1.0])


def test_empirical_phases_flags_non_finite_cells():
    res = n2m1_like()
    res.arrays["final_loss"][0, 0] = np.nan  # every model of cell (0, 0) diverged
    res.arrays["W"][0, 0] = np.nan
    df = plots.empirical_phases(res)
    assert df["phase"].iloc[0] == -1 and df["phase_name"].iloc[0] == "non_finite"
    np.testing.assert_array_equal(df["phase"].iloc[1:], [1, 2, 2])


def test_relative_importance_without_params():
    res = fake_results(np.zeros((1, 2, 1, 1, 2, 3)), importance=[[1.0, 1.0, 0.3], [2.0, 2.0, 5.0]])
    np.testing.assert_allclose(relative_importance(res), [0.3, 2.5])
    with pytest.raises(ValueError, match="feature"):
        relative_importance(res, feature=3)


def theory_frame(phases, densities=(1.0, 0.1), rel=(0.5, 2.0)):
    P, R = (x.ravel() for x in np.meshgrid(densities, rel, indexing="ij"))
    return pd.DataFrame({"density": P, "relative_importance": R, "phase": np.asarray(phases)})


def test_phase_agreement_self_and_hand_made_disagreement():
    rng = np.random.default_rng(2)
    d, r = np.geomspace(1, 0.01, 4), np.geomspace(0.1, 10, 3)
    a = theory_frame(rng.integers(0, 3, size=12), d, r)
    assert plots.phase_agreement(a, a) == 1.0
    b = a.copy()
    b.loc[[1, 5, 7], "phase"] = (b.loc[[1, 5, 7], "phase"] + 1) % 3
    assert plots.phase_agreement(a, b) == pytest.approx(9 / 12, abs=1e-12)
    # Row order and round-off do not matter; a theory on a finer grid is fine.
    shuffled = b.sample(frac=1.0, random_state=0)
    shuffled["density"] *= 1 + 1e-12
    assert plots.phase_agreement(a, shuffled) == pytest.approx(9 / 12, abs=1e-12)
    # A column choice (e.g. theory's zero-bias phases).
    b["phase_zero_bias"] = a["phase"]
    assert plots.phase_agreement(a, b, theory_column="phase_zero_bias") == 1.0
    with pytest.raises(ValueError, match="do not share a grid"):
        plots.phase_agreement(a, b.iloc[1:])
    with pytest.raises(ValueError, match="lacks column"):
        plots.phase_agreement(a, b.drop(columns="phase"))


def test_phase_agreement_of_results():
    res = n2m1_like()
    assert plots.phase_agreement(res, theory_frame([0, 1, 2, 2])) == 1.0
    assert plots.phase_agreement(res, theory_frame([0, 1, 2, 1])) == 0.75


def test_phase_diagram_figure_hand_built():
    res = n2m1_like()
    fig = plots.phase_diagram_figure(res, theory_frame([0, 1, 1, 1]), title="2 features in 1 dimension")
    axes = panels(fig)
    assert len(axes) == 2
    assert "agreement: 50.0% of 4 cells" in fig._suptitle.get_text()
    assert "2 features in 1 dimension" in fig._suptitle.get_text()
    for ax in axes:
        assert "density" in ax.get_xlabel() and "relative importance" in ax.get_ylabel()
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    dots = axes[0].lines[-1]  # disagreement markers at the two cells with empirical phase 2 vs theory 1
    np.testing.assert_allclose(sorted(dots.get_ydata()), [0.5, 2.0])
    # Theory panel colours: pcolormesh rows = relative importance, columns = density (sorted ascending).
    mesh = [c for c in axes[1].collections if isinstance(c, QuadMesh)][0]
    rgb = np.asarray(mesh.get_array()).reshape(2, 2, -1)[..., :3]
    expect = phase_colours(np.array([[1, 0], [1, 1]]))  # [r=0.5: d=0.1, d=1], [r=2: d=0.1, d=1]
    np.testing.assert_allclose(rgb, expect)
    assert fig.legends and len(fig.legends[0].get_texts()) == 4


def test_phase_colours_intensity():
    rgb = phase_colours(np.array([1, 1, 2, 0, -1]), norm=np.array([1.0, 0.0, 1.0, 0.0, np.nan]),
                        superposition=np.array([0.0, 0.0, 1.0, 0.0, np.nan]))
    full = phase_colours(np.array([1, 2, 0]))
    np.testing.assert_allclose(rgb[0], full[0])  # full-strength dedicated feature: the full colour
    np.testing.assert_allclose(rgb[2], full[1])
    np.testing.assert_allclose(rgb[3], full[2])  # norm 0: a fully absent feature
    np.testing.assert_allclose(rgb[1], 1 - 0.35 * (1 - full[0]))  # weak: lighter
    np.testing.assert_allclose(rgb[4], 0.0)  # non-finite: black


def test_phase_diagram_needs_theory_for_other_sizes():
    with pytest.raises(ValueError, match="no theoretical phase diagram"):
        plots.phase_diagram_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 4))))


# ------------------------------------------------------------------------------ feature geometry


def test_feature_geometry_figure_hand_built():
    W = np.zeros((3, 1, 1, 1, 2, 4))
    W[0, 0, 0, 0, :, :2] = np.eye(2)  # two dedicated, two dropped: D* = 2/2 = 1
    W[1, 0, 0, 0] = [[1, -1, 0, 0], [0, 0, 1, -1]]  # two antipodal pairs: D* = 1/2
    W[2, 0, 0, 0, :, 1:4] = [[1, -0.5, -0.5], [0, np.sqrt(3) / 2, -np.sqrt(3) / 2]]  # triangle: D* = 2/3
    res = fake_results(W, sparsity=[0.0, 0.9, 0.5])
    fig = plots.feature_geometry_figure(res)
    ax0, ax1 = panels(fig)
    line = ax0.lines[0]
    np.testing.assert_allclose(line.get_xdata(), [1.0, 2.0, 10.0])
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2 / 3, 0.5])
    ref = sorted(round(l.get_ydata()[0], 6) for l in ax1.lines[1:])
    np.testing.assert_allclose(ref, sorted([3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8]), atol=1e-6)
    pts = ax1.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(pts[:, 1]), np.sort(np.r_[[1, 1, 0, 0], [0.5] * 4, [0, 2 / 3, 2 / 3, 2 / 3]]),
                               atol=1e-12)
    x = np.repeat([1.0, 10.0, 2.0], 4)
    ratio = np.log10(pts[:, 0] / x)
    assert np.all(np.abs(ratio) <= 0.08)  # jitter within ±0.08 decades
    for ax in (ax0, ax1):
        assert "1/(1−S)" in ax.get_xlabel() and ax.get_ylabel() and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="jitter"):
        plots.feature_geometry_figure(res, jitter=2.0)


# ---------------------------------------------------------------------------- training dynamics


def test_training_dynamics_figure_hand_built_labels():
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
    np.testing.assert_allclose(ax1.lines[0].get_xdata(), snaps[:, 0, 0])


def test_training_dynamics_figure_bad_input():
    with pytest.raises(ValueError, match="n_snapshots"):
        plots.training_dynamics_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 5))))
    res = fake_results(np.zeros((1, 1, 1, 1, 2, 5)), steps=100, log_every=10, n_snapshots=4)
    with pytest.raises(ValueError, match=r"cell\[0\]"):
        plots.training_dynamics_figure(res, cell=(1, 0, 0, 0))
    with pytest.raises(ValueError, match="4 indices"):
        plots.training_dynamics_figure(res, cell=(0, 0))


# ---------------------------------------------------------------------------------------- census


def test_census_figure_hand_built(intro_like):
    fig = plots.census_figure(intro_like)
    (ax,) = panels(fig)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dedicated", "pentagon", "not represented"]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 2)  # (types, sparsities)
    np.testing.assert_allclose(heights, [[2, 0], [0, 5], [3, 0]])
    assert "sparsity" in ax.get_xlabel() and ax.get_ylabel()


# ---------------------------------------------------------------------------------- real results


def test_every_figure_on_real_results(tiny_run, tmp_path):
    figs = {"intro": plots.intro_figure(tiny_run), "census": plots.census_figure(tiny_run),
            "geometry": plots.feature_geometry_figure(tiny_run),
            "dynamics": plots.training_dynamics_figure(tiny_run, cell=(1, 0, 0, 1)),
            "varying": plots.varying_sparsity_figure(tiny_run)}
    counts = {"intro": 2, "census": 1, "geometry": 2, "dynamics": 2, "varying": 4}
    for name, fig in figs.items():
        axes = panels(fig)
        assert len(axes) == counts[name], name
        assert all(ax.get_xlabel() for ax in axes), name
        fig.savefig(tmp_path / f"{name}.png", dpi=40)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    census_titles = [ax.get_title() for ax in panels(figs["intro"])]
    assert census_titles[0].startswith("S=0:") and census_titles[1].startswith("S=0.9:")


def test_phase_figure_on_real_results():
    rel = np.array([0.3, 3.0])
    res = train_grid(n_features=2, n_hidden=1, steps=50, batch_size=64, eval_batch=256, density=[1.0, 0.05],
                     importance=np.stack([tdata.importance_extra(2, r) for r in rel]),
                     importance_params={"extra_importance": rel}, seeds=[0, 1], progress=False)
    emp = plots.empirical_phases(res)
    assert len(emp) == 4 and set(emp["phase"]) <= {0, 1, 2}
    fig = plots.phase_diagram_figure(res, emp.assign(phase=(emp["phase"] + 1) % 3))
    assert "agreement: 0.0% of 4 cells" in fig._suptitle.get_text()


@pytest.mark.slow
def test_n2m1_phase_diagram_matches_theory(tmp_path):
    """Figure-quality check: a 10 x 10 n=2, m=1 diagram against tms.theory (default theory path)."""
    rel = np.geomspace(0.1, 10, 10)
    res = train_grid(n_features=2, n_hidden=1, steps=3000, batch_size=512, restarts=4, lr=3e-3,
                     density=np.geomspace(1, 0.01, 10), importance=np.stack([tdata.importance_extra(2, r) for r in rel]),
                     importance_params={"extra_importance": rel}, progress=False)
    fig = plots.phase_diagram_figure(res)
    fig.savefig(tmp_path / "phase_n2m1.png")
    from tms.plots.phase import theory_diagram

    agreement = plots.phase_agreement(res, theory_diagram(res))
    print(f"n=2, m=1 10x10 diagram: agreement {agreement:.3f}")
    assert f"agreement: {100 * agreement:.1f}% of 100 cells" in fig._suptitle.get_text()
    assert agreement >= 0.9
