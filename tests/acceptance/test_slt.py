"""The SLT testbed's acceptance: λ̂ at the 5+-gon and 6-gon at large n, and the cross-check against devinterp."""

import numpy as np
import pytest

from tms.slt import default_nbeta
from tms.slt.kgon import kgon_llc_table
from tms.slt.settings import SamplerSettings


@pytest.mark.slow
def test_kgon_llc_at_n_500000_is_within_5_percent_of_8_5():
    # Full batch (the exact loss of the 500,000-example set), 16 chains; prints the table for the log.
    df = kgon_llc_table(("5+", "6"), (500_000,),
                        sampler=SamplerSettings(chains=16, draws=6000, burn_in=2000, step_scale=0.1, localization=1.0))
    print(df[["n", "label", "llc", "llc_se", "accept"]].to_string(index=False))
    for r in df.itertuples():
        assert r.llc_se < 0.25
        np.testing.assert_allclose(r.llc, 8.5, rtol=0.05)


@pytest.mark.slow
def test_our_llc_agrees_with_devinterp_within_combined_errors():
    pytest.importorskip("devinterp")
    pytest.importorskip("torch")
    from tms.bench.llc import devinterp_llc, ours_llc, setup

    point, X, nb = setup(10_000)
    hp = dict(step_size=0.1 / nb, localization=1.0, nbeta=nb, chains=6, draws=400, burn_in=100, batch_size=500)
    ours = ours_llc(point, X, **hp)
    theirs = devinterp_llc(np.asarray(point.W), np.asarray(point.b), X, **hp)
    combined = np.hypot(ours.llc_se, theirs["llc_se"])
    print(f"ours {ours.llc:.3f} ± {ours.llc_se:.3f}, devinterp {theirs['llc']:.3f} ± {theirs['llc_se']:.3f}")
    assert 0 < combined < 1.5
    assert abs(ours.llc - theirs["llc"]) < 2 * combined
    assert nb == pytest.approx(default_nbeta(10_000))
