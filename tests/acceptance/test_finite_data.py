"""``tms reproduce finite_data`` at its shipped (CPU) size against the issue's reading of Henighan et al. (2023).

Strong items (norm above half the largest) of the m = 2 models: at small T the strong training points form a
regular T-gon (D_{X_t} ≈ m/T) and no feature is strong in its own direction; at the largest T a handful of
strong features hold the dimensions and the strong points' D is far below m/k; in between both are low. The
test loss rises to a peak at intermediate T and falls after it for at least two m, and the peak moves to larger
T as m grows (the paper's reading; measured here at T = 400 for m = 2 and T = 800 for m = 4, full batch as the
paper trains; docs/finite_data.md). With minibatches of 128 above T = 128 (``finite_data_minibatch``) it did
not move past T = 400.
"""

import numpy as np
import pytest

from tms.analysis.measures import interior_peaks
from tms.experiments.finite_data import strong_summary
from tms.experiments.reproduce import reproduce, run_named_sweep


@pytest.fixture(scope="module")
def finite(tmp_path_factory):
    out = tmp_path_factory.mktemp("finite")
    summary = reproduce("finite_data", out=out, progress=False)
    return run_named_sweep("finite_data", out / "runs", progress=False), summary["finite_data"]


@pytest.mark.slow
def test_points_then_features(finite):
    res, _ = finite
    s = strong_summary(res, 2)
    for T in (3, 5, 8):
        row = s[f"T={T}"]
        assert row["strong_points"] >= T - 1
        np.testing.assert_allclose(row["strong_points_mean_D"], 2 / T, rtol=0.2)
        assert row["strong_features_mean_D"] < 1 / 5
    last = s[f"T={res.grid.train_sizes[-1]}"]
    assert 3 <= last["strong_features"] <= 8
    assert last["strong_points_mean_D"] < 0.1 * 2 / last["strong_features"]
    for T in (60, 100, 200):
        assert s[f"T={T}"]["strong_features_mean_D"] < 0.05 and s[f"T={T}"]["strong_points_mean_D"] < 0.1


@pytest.mark.slow
def test_test_loss_peaks_between_the_regimes_for_two_m(finite):
    res, summary = finite
    with_peak = [m for mi, m in enumerate(res.grid.hidden_sizes) if interior_peaks(res.test_loss[mi, 0])]
    assert len(with_peak) >= 2, with_peak
    assert set(summary["peaks"]) == {f"m={m}" for m in res.grid.hidden_sizes}


@pytest.mark.slow
def test_the_peak_moves_to_larger_T_with_m(finite):
    res, _ = finite
    T = np.asarray(res.grid.train_sizes)
    peak_T = []
    for mi in range(len(res.grid.hidden_sizes)):
        loss = res.test_loss[mi, 0]
        peaks = interior_peaks(loss)
        if peaks:
            peak_T.append(T[max(peaks, key=lambda j: loss[j])])
    assert len(peak_T) >= 2 and np.all(np.diff(peak_T) > 0), peak_T
