"""The phase-diagram claims (README "3." and "4."): the shipped 30×30 sweeps at full cost against theory.

Bars sit just below the measured agreement (stated per test) and far above the trivial predictor that names
the most common theoretical phase everywhere, so a regression of a few boundary cells fails them.
"""

import numpy as np
import pytest

from tms import plots
from tms.analysis import phase, theory
from tms.engine import data as tdata
from tms.experiments.registry import shipped_spec
from tms.runs.pipeline import train_grid
from tms.runs.store import run_sweep


def agreement_and_trivial(res, diagram):
    """Fraction of cells whose empirical phase matches theory, and that of the best constant prediction."""
    th = diagram(res.density, res.grid.importance_params["extra_importance"])
    emp = phase(res.W[:, :, 0, 0]).code  # (density, importance)
    want = th["phase"].to_numpy().reshape(emp.shape)
    np.testing.assert_allclose(th["density"].to_numpy().reshape(emp.shape)[:, 0], res.density, rtol=1e-12)
    trivial = max(float(np.mean(want == p)) for p in range(len(theory.PHASES)))
    return float(np.mean(emp == want)), trivial


@pytest.mark.slow
def test_n2m1_phase_diagram_agrees_with_theory(tmp_path):
    """README: 99.0% of the 900 cells. Measured 0.990 (891/900); the bar allows 9 more misses (0.980).
    Naming "superposition" everywhere scores 0.778."""
    res = run_sweep(shipped_spec("phase_n2m1"), tmp_path / "n2m1", progress=False)
    agreement, trivial = agreement_and_trivial(res, theory.n2m1_diagram)
    print(f"n=2, m=1 30x30: agreement {agreement:.4f}, trivial {trivial:.4f}")
    assert trivial < 0.8
    assert agreement >= 0.98


@pytest.mark.slow
def test_n3m2_phase_diagram_agrees_with_theory(tmp_path):
    """README: 94.2% of the 900 cells. Measured 0.942 (848/900); the bar allows 11 more misses (0.930).
    Naming "dedicated" everywhere scores 0.500."""
    res = run_sweep(shipped_spec("phase_n3m2"), tmp_path / "n3m2", progress=False)
    agreement, trivial = agreement_and_trivial(res, theory.n3m2_diagram)
    print(f"n=3, m=2 30x30: agreement {agreement:.4f}, trivial {trivial:.4f}")
    assert trivial < 0.6
    assert agreement >= 0.93


@pytest.mark.slow
def test_n2m1_phase_diagram_matches_theory(tmp_path):
    """Figure-quality check: a 10 x 10 n=2, m=1 diagram against tms.theory (default theory path).
    Measured 0.98 (98/100); the bar allows 3 more misses (0.95)."""
    rel = np.geomspace(0.1, 10, 10)
    res = train_grid(n_features=2, n_hidden=1, steps=3000, batch_size=512, restarts=4, lr=3e-3,
                     density=np.geomspace(1, 0.01, 10),
                     importance=np.stack([tdata.importance_extra(2, r) for r in rel]),
                     importance_params={"extra_importance": rel}, progress=False)
    fig = plots.phase_diagram_figure(res)
    fig.savefig(tmp_path / "phase_n2m1.png")
    from tms.plots.phase import theory_diagram

    th = theory_diagram(res)
    agreement = plots.phase_agreement(res, th)
    trivial = th["phase"].value_counts(normalize=True).max()
    print(f"n=2, m=1 10x10 diagram: agreement {agreement:.3f}, trivial {trivial:.3f}")
    assert f"agreement: {100 * agreement:.1f}% of 100 cells" in fig._suptitle.get_text()
    assert trivial < 0.85
    assert agreement >= 0.95
