"""Phase diagrams (tms.plots.phase): empirical phases, agreement with theory, the figure and its colours."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh

from tms import plots
from tms.engine import data as tdata
from tms.plots.phase import phase_colours, relative_importance
from tms.runs.pipeline import train_grid


@pytest.fixture(name="n2m1_like")
def n2m1_like_fixture(fake_results):
    return lambda: _n2m1_like(fake_results)


def _n2m1_like(fake_results):
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
    importance = np.stack([tdata.importance_extra(2, r) for r in rel])
    return fake_results(W, loss=loss, sparsity=[0.0, 0.9], importance=importance,
                        importance_params={"extra_importance": rel})



def test_empirical_phases_hand_built(n2m1_like):
    df = plots.empirical_phases(n2m1_like())
    assert len(df) == 4
    np.testing.assert_allclose(df["density"], [1.0, 1.0, 0.1, 0.1])
    np.testing.assert_allclose(df["relative_importance"], [0.5, 2.0, 0.5, 2.0])
    np.testing.assert_array_equal(df["phase"], [0, 1, 2, 2])  # (0.1, 2.0): seed 1 (antipodal) has lower loss
    np.testing.assert_array_equal(df["seed"], [0, 0, 0, 1])
    np.testing.assert_allclose(df["norm"], [0.0, 1.0, 1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(df["superposition"], [0.0, 0.0, 1.0, 1.0], atol=1e-12)



def test_empirical_phases_flags_non_finite_cells(n2m1_like):
    res = n2m1_like()
    res.arrays["final_loss"][0, 0] = np.nan  # every model of cell (0, 0) diverged
    res.arrays["W"][0, 0] = np.nan
    df = plots.empirical_phases(res)
    assert df["phase"].iloc[0] == -1 and df["phase_name"].iloc[0] == "non_finite"
    np.testing.assert_array_equal(df["phase"].iloc[1:], [1, 2, 2])



def test_relative_importance_without_params(fake_results):
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



def test_phase_agreement_of_results(n2m1_like):
    res = n2m1_like()
    assert plots.phase_agreement(res, theory_frame([0, 1, 2, 2])) == 1.0
    assert plots.phase_agreement(res, theory_frame([0, 1, 2, 1])) == 0.75



def test_phase_diagram_figure_hand_built(panels, n2m1_like):
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
    np.testing.assert_allclose(rgb, expect, atol=1e-12)
    assert fig.legends and len(fig.legends[0].get_texts()) == 4



def test_phase_colours_intensity():
    rgb = phase_colours(np.array([1, 1, 2, 0, -1]), norm=np.array([1.0, 0.0, 1.0, 0.0, np.nan]),
                        superposition=np.array([0.0, 0.0, 1.0, 0.0, np.nan]))
    full = phase_colours(np.array([1, 2, 0]))
    np.testing.assert_allclose(rgb[0], full[0], atol=1e-12)  # full-strength dedicated feature: the full colour
    np.testing.assert_allclose(rgb[2], full[1], atol=1e-12)
    np.testing.assert_allclose(rgb[3], full[2], atol=1e-12)  # norm 0: a fully absent feature
    np.testing.assert_allclose(rgb[1], 1 - 0.35 * (1 - full[0]), atol=1e-12)  # weak: lighter
    np.testing.assert_allclose(rgb[4], 0.0, atol=1e-12)  # non-finite: black



def test_phase_diagram_needs_theory_for_other_sizes(fake_results):
    with pytest.raises(ValueError, match="no theoretical phase diagram"):
        plots.phase_diagram_figure(fake_results(np.zeros((1, 1, 1, 1, 2, 4))))



def test_phase_figure_on_real_results():
    rel = np.array([0.3, 3.0])
    res = train_grid(n_features=2, n_hidden=1, steps=50, batch_size=64, eval_batch=256, density=[1.0, 0.05],
                     importance=np.stack([tdata.importance_extra(2, r) for r in rel]),
                     importance_params={"extra_importance": rel}, seeds=[0, 1], progress=False)
    emp = plots.empirical_phases(res)
    assert len(emp) == 4 and set(emp["phase"]) <= {0, 1, 2}
    fig = plots.phase_diagram_figure(res, emp.assign(phase=(emp["phase"] + 1) % 3))
    assert "agreement: 0.0% of 4 cells" in fig._suptitle.get_text()

