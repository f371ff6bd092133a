"""n=2, m=1: closed-form losses against float64 Monte Carlo, phases, the diagram."""

import numpy as np
import pytest
from theory_helpers import N_MC, _assert_mc, _sample

from tms.analysis import theory as T


@pytest.mark.parametrize("p,r", [(0.05, 0.5), (0.3, 1.0), (0.7, 2.0), (1.0, 0.3)])
def test_n2m1_closed_forms_match_monte_carlo(p, r):
    losses = T.n2m1_losses(p, r)
    cases = {"drop_extra": ([[1.0, 0.0]], [0.0, p / 2]), "drop_first": ([[0.0, 1.0]], [p / 2, 0.0]),
             "antipodal_zero_bias": ([[1.0, -1.0]], [0.0, 0.0])}
    x = _sample(np.random.default_rng(0), N_MC, 2, p)
    for name, (W, b) in cases.items():
        np.testing.assert_allclose(T.n2m1_loss(W, b, p, r), losses[name], rtol=1e-12, atol=1e-15)
        _assert_mc(losses[name], W, b, [1.0, r], x)


def test_n2m1_phase_sanity():
    # Dense and unimportant: drop the extra. Dense and important: keep only the extra.
    # Sparse and comparable: antipodal superposition (in both the optimised and zero-bias versions).
    p = np.array([1.0, 0.95, 1.0, 0.05, 0.02])
    r = np.array([0.1, 0.3, 3.0, 1.0, 0.8])
    expected = np.array([0, 0, 1, 2, 2])
    np.testing.assert_array_equal(T.n2m1_phase(p, r), expected)
    np.testing.assert_array_equal(T.n2m1_phase(p, r, antipodal="zero_bias"), expected)


def test_n2m1_diagram_is_consistent():
    d, r = np.linspace(0.05, 1.0, 6), np.linspace(0.0, 2.0, 5)
    df = T.n2m1_diagram(d, r)
    assert len(df) == 30
    np.testing.assert_allclose(df.sparsity + df.density, 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(df.phase, T.n2m1_phase(df.density.values, df.relative_importance.values))
    assert set(df.phase_name) <= set(T.PHASES)
    cand = df[["loss_drop_extra", "loss_drop_first", "loss_antipodal"]].to_numpy()
    winner = cand[np.arange(len(df)), df.phase.to_numpy()]
    # Losses can be 0 up to rounding (e.g. −5.6e-17 beside 0.0 at density 1): an absolute floor, not only rtol.
    np.testing.assert_allclose(winner, cand.min(axis=1), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("call", [
    lambda: T.n2m1_losses(0.0, 1.0),
    lambda: T.n2m1_losses(1.5, 1.0),
    lambda: T.n2m1_phase(0.5, -0.1),
    lambda: T.n2m1_phase(0.5, 1.0, antipodal="other"),
    lambda: T.n2m1_loss([[1.0, 0.0, 0.0]], [0.0, 0.0], 0.5, 1.0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError, match=r"density|relative_importance|antipodal|config|W must|m=2|k <= n"):
        call()
