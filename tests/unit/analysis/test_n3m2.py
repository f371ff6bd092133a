"""n=3, m=2: the configurations' exact losses against Monte Carlo of their explicit weights; phases."""

import numpy as np
import pytest
from theory_helpers import N_MC, _assert_mc, _sample

from tms.analysis import theory as T


@pytest.mark.parametrize("p,r", [(0.1, 0.5), (0.5, 1.3)])
def test_n3m2_configurations_match_monte_carlo_of_explicit_weights(p, r):
    x = _sample(np.random.default_rng(100), N_MC // 2, 3, p)
    for mode in T.ANTIPODAL_MODES:
        losses = T.n3m2_losses(p, r, antipodal=mode)
        for name in T.N3M2_CONFIGS:
            W, b = T.n3m2_params(name, p, r, antipodal=mode)
            null = np.asarray(T.N3M2_NULL_SPACE[name], dtype=float)
            if mode == "zero_bias" or name.endswith("dropped"):
                np.testing.assert_allclose(W @ null, 0.0, atol=1e-12)
            _assert_mc(losses[name], W, b, [1.0, 1.0, r], x)


def test_n3m2_phase_sanity():
    # Dense, unimportant extra: dropped. Sparse: the less important of {2, extra} shares feature 2's
    # dimension (extra antipodal, r < 1) or features 1 and 2 share one and the extra is dedicated (r > 1).
    p = np.array([1.0, 0.05, 0.05, 0.05, 1.0])
    r = np.array([0.1, 1.0, 0.2, 3.0, 3.0])
    phases = T.n3m2_phase(p, r)
    np.testing.assert_array_equal(phases, [0, 2, 2, 1, 1])
    df = T.n3m2_diagram([0.05, 1.0], [0.2, 1.0, 3.0])
    assert {"config", "phase", "phase_name", "config_zero_bias", "phase_zero_bias"} <= set(df.columns)
    np.testing.assert_array_equal(df.phase, [T.N3M2_PHASE_OF[c] for c in df.config])


@pytest.mark.parametrize("call", [
    lambda: T.n3m2_losses(np.nan, 1.0),
    lambda: T.n3m2_params("triangle", 0.5, 1.0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError, match=r"density|relative_importance|antipodal|config|W must|m=2|k <= n"):
        call()
