"""Monte Carlo references shared by the exact-theory tests (float64 NumPy, 5-sigma two-sided bars)."""

import numpy as np

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
