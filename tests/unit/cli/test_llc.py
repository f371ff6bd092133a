"""``tms llc``: the free-energy command and the transformer LLC through the command line."""

import pytest

from tms.cli.main import main


def test_ncr_prints_every_term_and_choice(capsys):
    from tms.slt import laplace

    assert main(["llc", "ncr"]) == 0
    out = capsys.readouterr().out
    for name in laplace.TERM_SETS:
        assert name in out
    n_cr = laplace.ncr_table("5", "6").n_cr
    for v in n_cr:
        assert f"{v:.4f}" in out


def test_ncr_without_a_theoretical_llc_asks_for_one(capsys):
    assert main(["llc", "ncr", "--phases", "4+", "5"]) == 2
    assert "--delta-llc" in capsys.readouterr().err


def test_challenge_transformer_llc_runs_and_flags_divergence(capsys):
    # The sampler on the challenge #2 transformer (its shipped weights, cross-entropy, minibatches).
    rc = main(["llc", "challenge", "--chains", "2", "--draws", "4", "--burn-in", "2", "--batch-size", "32"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "llc " in out and "accept" in out
    assert "diverged        0" in out and "DIVERGED" not in out
    # ε = 10 (the default is 1e-5) overflows every chain; the same shapes, so nothing compiles again
    assert main(["llc", "challenge", "--chains", "2", "--draws", "4", "--burn-in", "2", "--batch-size", "32",
                 "--step-size", "10"]) == 0
    out = capsys.readouterr().out
    assert "llc             None" in out and "diverged        2" in out
    assert "2 of 2 chains DIVERGED (an SGLD chain's loss or parameters went non-finite): lower --step-size" in out


def test_bad_draws_is_named(capsys):
    assert main(["llc", "kgon", "--draws", "0", "--sizes", "1000"]) == 2
    assert "draws" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [["llc", "run", "--preset", "nope"]])
def test_unknown_preset_is_named(cmd, capsys):
    assert main(cmd) == 2
    assert "preset" in capsys.readouterr().err


def test_options_are_built_from_the_settings_records(capsys):
    from tms.slt import settings as st

    with pytest.raises(SystemExit):
        main(["llc", "kgon", "--help"])
    out = capsys.readouterr().out
    for cls in (st.KgonSettings, st.SamplerSettings):
        for name, _, default, _ in st.record_fields(cls):
            assert f"--{name.replace('_', '-')}" in out
    assert f"default {st.SamplerSettings().step_scale}" in out
