"""`python -m tms.bench.llc`: devinterp's chains split among processes (the peer's side-by-side setup) are the
chains one process runs, and the benchmark prints its pilot and the setup it timed (no timing is asserted)."""

import numpy as np
import pytest


def test_chains_split_are_the_chains_of_one_run():
    pytest.importorskip("torch")
    pytest.importorskip("devinterp")
    from tms.bench.llc import devinterp_llc, setup

    point, X, nb = setup(500)
    hp = dict(step_size=0.1 / nb, localization=1.0, nbeta=nb, draws=8, burn_in=2, batch_size=50)
    W, b = np.asarray(point.W), np.asarray(point.b)
    whole = devinterp_llc(W, b, X, chains=3, **hp)["llc_per_chain"]
    parts = np.concatenate([devinterp_llc(W, b, X, chains=2, first_chain=0, **hp)["llc_per_chain"],
                            devinterp_llc(W, b, X, chains=1, first_chain=2, **hp)["llc_per_chain"]])
    np.testing.assert_array_equal(parts, whole)
    assert len(set(whole.tolist())) == 3  # three different chains, not one repeated


def test_the_benchmark_prints_the_pilot_and_the_setup_it_timed(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("devinterp")
    from tms.bench import llc

    out = llc.main(["--n", "500", "--chains", "2", "--draws", "10", "--burn-in", "0", "--batch-size", "50",
                    "--repeats", "1"])
    text = capsys.readouterr().out
    assert text.startswith("machine: ") and "load average after" in text
    assert "devinterp setup pilot (median s, a tenth of the draws): 1 thread" in text
    assert "devinterp timed in its best setup: " in text
    assert out["devinterp"] > 0 and out["ratio_warm"] > 0


def test_a_bad_thread_count_is_named():
    from tms.bench import llc

    with pytest.raises(SystemExit):
        llc.main(["--threads", "0"])
