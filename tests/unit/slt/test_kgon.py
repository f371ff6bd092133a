"""The k-gon table, the calibration sweep, the SGD dynamics and the settings, at tiny sizes."""

import dataclasses

import numpy as np
import pytest

from tms.slt.dynamics import check_sgd, sgd_run, snapshot_epochs, snapshot_llcs
from tms.slt.kgon import calibration_sweep, kgon_llc_table
from tms.slt.settings import CalibrationSettings, SamplerSettings, SLTSettings, load_settings, presets
from tms.slt.toy import THEORY_LLC, kgon_loss, kgon_point

TINY = SamplerSettings(chains=2, draws=60, burn_in=20)


def test_kgon_points_have_the_published_losses():
    for lab, loss in (("5", 0.06874), ("5+", 0.06180), ("6", 0.04819)):
        np.testing.assert_allclose(kgon_loss(lab), loss, atol=5e-6)
        assert kgon_point(lab).W.shape == (2, 6)
    with pytest.raises(ValueError, match="label"):
        kgon_point("7")


def test_kgon_table_has_a_row_per_size_and_label():
    df = kgon_llc_table(("5", "6"), (500, 800), sampler=TINY)
    assert list(df.n) == [500, 500, 800, 800] and list(df.label) == ["5", "6", "5", "6"]
    np.testing.assert_allclose(df.theory_llc, [THEORY_LLC["5"], 8.5, 7.0, 8.5])
    assert set(df.frac_discarded[df.label == "6"]) == {0.0}  # the discard protocol is for the 5-gon only
    with pytest.raises(ValueError, match="sample_sizes"):
        kgon_llc_table(("6",), (1,))


def test_diverging_chains_are_flagged_in_the_table_and_the_command_line(capsys):
    from tms.cli.main import main

    # TINY's shapes at n = 500, so the compiled sampler of the test above is reused; ε nβ = 50 diverges at once
    df = kgon_llc_table(("5", "6"), (500,), sampler=dataclasses.replace(TINY, step_scale=50.0))
    assert df.diverged.tolist() == [2, 2] and not df.trusted.any() and df.llc.isna().all()
    assert main(["llc", "kgon", "--labels", "5", "6", "--sizes", "500", "--chains", "2", "--draws", "60",
                 "--burn-in", "20", "--step-scale", "50"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 rows DIVERGED (an SGLD chain's loss or parameters went non-finite): lower --step-scale" in out
    assert main(["llc", "kgon", "--labels", "5", "6", "--sizes", "500", "--chains", "2", "--draws", "60",
                 "--burn-in", "20"]) == 0
    assert "DIVERGED" not in capsys.readouterr().out


def test_calibration_marks_a_diverging_step_unusable(tmp_path, capsys):
    from tms.cli.main import main

    df = calibration_sweep(CalibrationSettings(n=500, label="6", step_scales=(0.1, 50.0), localizations=(0.0, 10.0),
                                              chains=2, draws=60))
    assert len(df) == 4
    big = df[df.step_scale == 50.0]
    assert not big.usable.any() and big.llc.isna().all()  # ε nβ = 50 diverges at once
    assert big.diverged.tolist() == [2, 2] and df.diverged[df.step_scale == 0.1].tolist() == [0, 0]
    small = df[df.step_scale == 0.1]
    assert (small.accept > 0.95).all()
    expect = (small.accept >= 0.9) & (small.drift.abs() <= 2.0) & (small.llc > 0)
    np.testing.assert_array_equal(small.usable, expect)
    # the same grid from the command line (compiled above): the DIVERGED line counts the two ε nβ = 50 cells
    assert main(["llc", "calibrate", "--n", "500", "--label", "6", "--step-scales", "0.1", "50", "--localizations",
                 "0", "10", "--chains", "2", "--draws", "60", "--out", str(tmp_path / "c.png")]) == 0
    assert "2 of 4 cells DIVERGED (an SGLD chain's loss or parameters went non-finite)" in capsys.readouterr().out


def test_sgd_run_and_snapshot_llcs():
    run = sgd_run(n=200, batch=20, lr=0.005, epochs=30)
    assert run.loss.shape == (30,) and run.W.shape == (30, 2, 6)
    assert run.loss[-1] < run.loss[0]
    ep = snapshot_epochs(30, 3)
    snaps = snapshot_llcs(run, ep, sampler=TINY)
    assert list(snaps["epoch"]) == list(ep) and np.all(np.isfinite(snaps["llc"]))
    with pytest.raises(ValueError, match="batch"):
        check_sgd(1000, 30, 0.005, 10)


def test_settings_presets_load_and_bad_keys_are_named(tmp_path):
    assert {"slt_quick", "slt_full"} <= set(presets())
    full = load_settings("slt_full")
    assert max(full.kgon.sizes) == 500_000 and full.dynamics.epochs == 4500 and full.sampler.draws == 20000
    assert load_settings(None) == SLTSettings()
    assert SLTSettings.from_dict(SLTSettings().to_dict()) == SLTSettings()
    bad = tmp_path / "bad.toml"
    for text, name in (("chains = 3\n", "chains"), ("[sampler]\nchainz = 3\n", "chainz"),
                       ("[sampler]\nchains = 'x'\n", "chains"), ("[kgon]\nsizes = [1000, 1]\n", "sizes"),
                       ("[posterior]\nstep_scale = 0\n", "step_scale"), ("[kgon]\nsizes = 5\n", "sizes")):
        bad.write_text(text)
        with pytest.raises(ValueError, match=name):
            load_settings(str(bad))
    with pytest.raises(ValueError, match="step_scale"):
        SamplerSettings(step_scale=0.0)


def test_trusted_needs_no_escape_no_discard_and_accurate_steps():
    from tms.slt.kgon import trusted

    got = trusted([0.0, 0.019, 0.021, 0.0, 0.0, np.nan], [0.0, 0.0, 0.0, 0.1, 0.0, 0.0],
                  [0.99, 0.95, 0.99, 0.99, 0.89, 0.99])
    np.testing.assert_array_equal(got, [True, True, False, False, False, False])
