"""The optimal antipodal pair against float64 Monte Carlo and an independent scipy optimiser."""

import numpy as np
import pytest
from scipy.optimize import minimize

from tms.analysis import theory as T

N_MC = 1_000_000
SIGMAS = 5.0


def _sample(rng, n_samples, n, p):
    """Float64 features: 0 with probability 1 − p, else U[0, 1]."""
    return rng.uniform(size=(n_samples, n)) * (rng.uniform(size=(n_samples, n)) < p)



def _mc_loss(W, b, importance, x):
    """Monte Carlo mean and standard error of Σ_i I_i (x_i − ReLU(WᵀW x + b)_i)² over ``x: (N, n)``."""
    W, b, importance = (np.asarray(a, dtype=np.float64) for a in (W, b, importance))
    out = np.maximum((x @ W.T) @ W + b[None, :], 0.0)
    per = ((x - out) ** 2 * importance[None, :]).sum(axis=1)
    return per.mean(), per.std(ddof=1) / np.sqrt(len(x))



def _assert_mc(exact, W, b, importance, x):
    mean, se = _mc_loss(W, b, importance, x)
    np.testing.assert_allclose(exact, mean, rtol=0, atol=SIGMAS * se)



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

