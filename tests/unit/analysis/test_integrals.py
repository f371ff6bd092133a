"""The exact one-dimensional and two-dimensional integrals against scipy quadrature."""

import numpy as np
import pytest
from scipy import integrate

from tms.analysis.theory import integrals


@pytest.mark.parametrize("delta", [0.0, 1.0])
def test_err1_matches_quadrature(delta):
    rng = np.random.default_rng(0)
    g = np.concatenate([rng.normal(size=30), [0.0, 0.0, 1.0]])
    c = np.concatenate([rng.normal(scale=0.7, size=30), [0.3, -0.3, -0.5]])
    exact = integrals.err1(delta, g, c)
    ref = [integrate.quad(lambda mu: (delta * mu - max(gi * mu + ci, 0.0)) ** 2, 0, 1,
                          points=[min(max(-ci / gi, 0), 1)] if gi else None, epsabs=1e-13)[0]
           for gi, ci in zip(g, c)]
    np.testing.assert_allclose(exact, ref, rtol=1e-9, atol=1e-13)



def test_both_active_matches_dblquad():
    for alpha, beta, b in [(1.0, -1.0, 0.0), (1.2, -0.7, 0.1), (0.5, 0.4, -0.3), (0.0, -0.5, 0.2)]:
        ref = integrate.dblquad(lambda u, v: (u - max(alpha * u + beta * v + b, 0.0)) ** 2, 0, 1, 0, 1,
                                epsabs=1e-11)[0]
        np.testing.assert_allclose(integrals.both_active(alpha, beta, b), ref, rtol=1e-7, atol=1e-12)

