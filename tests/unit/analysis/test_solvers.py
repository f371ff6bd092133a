"""The optimal antipodal pair against float64 Monte Carlo and an independent scipy optimiser."""

import numpy as np
import pytest
from scipy.optimize import minimize
from theory_helpers import N_MC, _assert_mc, _sample

from tms.analysis import theory as T


@pytest.mark.parametrize("p,r", [(0.1, 0.7), (0.4, 1.0), (0.6, 1.8)])
def test_optimal_antipodal_matches_monte_carlo_and_scipy(p, r):
    opt = T.antipodal_optimum(p, r)
    W, b = [[float(opt.a), -float(opt.c)]], [float(opt.b1), float(opt.b2)]
    _assert_mc(opt.loss, W, b, [1.0, r], _sample(np.random.default_rng(11), N_MC, 2, p))
    # An independent optimiser, started off the optimum, lands on the same loss.
    x0 = np.array([opt.a, opt.c, opt.b1, opt.b2], dtype=float) + [0.05, -0.05, 0.02, -0.02]
    res = minimize(lambda q: T.n2m1_loss_pair(p, r, *q), x0, method="L-BFGS-B",
                   bounds=[(0, None), (0, None), (None, None), (None, None)],
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
    np.testing.assert_allclose(opt.loss, res.fun, rtol=1e-7, atol=1e-12)


def test_optimal_antipodal_beats_zero_bias_with_positive_bias():
    p = np.array([0.1, 0.3, 0.5])
    opt = T.antipodal_optimum(p, 1.0)
    zero = T.n2m1_losses(p, 1.0, opt)["antipodal_zero_bias"]
    assert np.all(opt.loss < zero) and np.all(opt.b1 > 0)
    np.testing.assert_allclose(opt.a, opt.c, rtol=1e-6, atol=1e-9)  # symmetric importances: symmetric optimum

