"""``tms reproduce all --quick``: every figure set of the paper, drawn at reduced cost."""

import pytest

from tms.experiments.reproduce import reproduce


@pytest.mark.slow
def test_quick_reproduce_all(tmp_path):
    summary = reproduce("all", figures=tmp_path / "fig", runs=tmp_path / "runs", quick=True, progress=False)
    pngs = sorted(p.name for p in (tmp_path / "fig" / "quick").glob("*.png"))
    assert pngs == sorted(["intro.png", "varying_sparsity.png", "phase_n2m1.png", "phase_n3m2.png",
                           "feature_geometry.png", "dynamics.png", "census.png", "finite_data_loss.png",
                           "finite_data_heatmap.png", "finite_data_geometry.png", "finite_data_dimensionality.png",
                           "polytope_transitions.png", "polytope_transitions_importance.png", "correlated.png",
                           "loss_transition.png", "slt_kgon.png", "slt_calibration.png", "slt_traces.png",
                           "slt_posterior.png", "slt_dynamics.png"])
    assert 0 <= summary["phase_n2m1"]["agreement"] <= 1
