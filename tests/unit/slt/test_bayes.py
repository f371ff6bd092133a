"""Free energy, critical sample sizes and the prior constant."""

import numpy as np
import pandas as pd
import pytest

from tms.analysis.theory import kgon_critical_points, kgon_params
from tms.slt import bayes
from tms.slt.settings import PosteriorSettings


def test_critical_n_solves_the_free_energy_equation():
    for dl, dlam, dc in ((-0.02055, 1.5, 0.0), (-0.02055, 1.5, 2.75), (-0.035, 1.0, 1.6)):
        n = bayes.critical_n(dl, dlam, dc)
        np.testing.assert_allclose(n * dl + dlam * np.log(n) + dc, 0.0, atol=1e-7)
        F_a = bayes.free_energy(n, 0.1, 7.0, 0.0)
        F_b = bayes.free_energy(n, 0.1 + dl, 7.0 + dlam, dc)
        np.testing.assert_allclose(F_a, F_b, atol=1e-6)
    with pytest.raises(ValueError, match="delta_loss"):
        bayes.critical_n(0.01, 1.0)
    assert bayes.critical_n(-1.0, -1.0) == 1.0  # beta already preferred


def test_prior_constant_is_half_the_squared_norm_difference():
    # Independent: ½(|w6|² − |w5|²) from the optimised k-gons in float64, then n_cr from ΔL = −0.02055, Δλ = 1.5.
    t = kgon_critical_points(6).set_index("label")
    sq = {}
    for lab in ("5", "6"):
        r = t.loc[lab]
        W, b = kgon_params(6, int(r.k), int(r.n_plus), r.length, r.bias, r.bias_plus)
        sq[lab] = float((W ** 2).sum() + (b ** 2).sum())
    dc = bayes.prior_constant("6") - bayes.prior_constant("5")
    np.testing.assert_allclose(dc, 0.5 * (sq["6"] - sq["5"]), rtol=1e-5)
    with pytest.raises(ValueError, match="prior_precision"):
        bayes.prior_constant("6", 0.0)


def test_fit_delta_c_recovers_a_planted_constant():
    dl, dlam, dc = -0.02, 1.5, 2.0
    rows = []
    for n in (200, 400, 600):
        odds = np.exp(-(n * dl + dlam * np.log(n) + dc))  # p6 / p5
        p5 = 1 / (1 + odds)
        rows += [{"n": n, "label": "5", "fraction": p5}, {"n": n, "label": "6", "fraction": 1 - p5}]
    np.testing.assert_allclose(bayes.fit_delta_c(pd.DataFrame(rows), "5", "6", dl, dlam), dc, rtol=1e-9)
    assert np.isnan(bayes.fit_delta_c(pd.DataFrame(rows[:1]), "5", "6", dl, dlam))


def test_posterior_phases_classifies_every_chain():
    df = bayes.posterior_phases(PosteriorSettings(sizes=(100,), chains=4, steps=100))
    assert df.chains.iloc[0] == 4 and df["count"].sum() == 4
    np.testing.assert_allclose(df.fraction.sum(), 1.0)


def test_posterior_chains_that_diverge_are_labelled_and_reported(capsys):
    from tms.cli.main import main

    # the shapes of the test above (compiled once); ε = 1e4 / n is far past the stable step, so every chain overflows
    df = bayes.posterior_phases(PosteriorSettings(sizes=(100,), chains=4, steps=100, step_scale=1e4))
    assert df.label.tolist() == [bayes.DIVERGED] and df["count"].tolist() == [4]
    assert main(["llc", "posterior", "--sizes", "100", "--chains", "4", "--steps", "100", "--step-scale", "1e4"]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 chains DIVERGED (an SGLD chain's loss or parameters went non-finite): lower --step-scale" in out
