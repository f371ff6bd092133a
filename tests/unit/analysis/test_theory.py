"""tms.theory against independent references: quadrature, float64 Monte Carlo, scipy polishing."""

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import minimize

from tms.analysis import theory as T
from tms.analysis.theory import integrals

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


# ----------------------------------------------------------------------------- exact 1-D building block


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


# ------------------------------------------------------------------------------------------ n=2, m=1


@pytest.mark.parametrize("p,r", [(0.05, 0.5), (0.3, 1.0), (0.7, 2.0), (1.0, 0.3)])
def test_n2m1_closed_forms_match_monte_carlo(p, r):
    losses = T.n2m1_losses(p, r)
    cases = {"drop_extra": ([[1.0, 0.0]], [0.0, p / 2]), "drop_first": ([[0.0, 1.0]], [p / 2, 0.0]),
             "antipodal_zero_bias": ([[1.0, -1.0]], [0.0, 0.0])}
    x = _sample(np.random.default_rng(0), N_MC, 2, p)
    for name, (W, b) in cases.items():
        np.testing.assert_allclose(T.n2m1_loss(W, b, p, r), losses[name], rtol=1e-12)
        _assert_mc(losses[name], W, b, [1.0, r], x)


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
    np.testing.assert_allclose(opt.loss, res.fun, rtol=1e-7)


def test_optimal_antipodal_beats_zero_bias_with_positive_bias():
    p = np.array([0.1, 0.3, 0.5])
    opt = T.antipodal_optimum(p, 1.0)
    zero = T.n2m1_losses(p, 1.0, opt)["antipodal_zero_bias"]
    assert np.all(opt.loss < zero) and np.all(opt.b1 > 0)
    np.testing.assert_allclose(opt.a, opt.c, rtol=1e-6)  # symmetric importances: symmetric optimum


def test_n2m1_phase_sanity():
    # Dense and unimportant: drop the extra. Dense and important: keep only the extra.
    # Sparse and comparable: antipodal superposition (in both the optimised and zero-bias versions).
    p = np.array([1.0, 0.95, 1.0, 0.05, 0.02])
    r = np.array([0.1, 0.3, 3.0, 1.0, 0.8])
    expected = np.array([0, 0, 1, 2, 2])
    np.testing.assert_array_equal(T.n2m1_phase(p, r), expected)
    np.testing.assert_array_equal(T.n2m1_phase(p, r, antipodal="zero_bias"), expected)


def test_n2m1_diagram_is_consistent():
    d, r = np.linspace(0.05, 1.0, 6), np.linspace(0.0, 2.0, 5)
    df = T.n2m1_diagram(d, r)
    assert len(df) == 30
    np.testing.assert_allclose(df.sparsity + df.density, 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(df.phase, T.n2m1_phase(df.density.values, df.relative_importance.values))
    assert set(df.phase_name) <= set(T.PHASES)
    cand = df[["loss_drop_extra", "loss_drop_first", "loss_antipodal"]].to_numpy()
    winner = cand[np.arange(len(df)), df.phase.to_numpy()]
    np.testing.assert_allclose(winner, cand.min(axis=1), rtol=1e-8)


# ------------------------------------------------------------------------------------------ n=3, m=2


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


# ------------------------------------------------------------------------------- high-sparsity limit


def _mc_high_sparsity(W, b, seed, n_samples=N_MC // 2):
    rng = np.random.default_rng(seed)
    n = W.shape[1]
    x = np.zeros((n_samples, n))
    x[np.arange(n_samples), rng.integers(0, n, n_samples)] = rng.uniform(size=n_samples)
    per = ((x - np.maximum((x @ W.T) @ W + b[None, :], 0.0)) ** 2).sum(axis=1)
    return per.mean(), per.std(ddof=1) / np.sqrt(n_samples)


def test_high_sparsity_loss_matches_monte_carlo():
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(2, 6)), rng.normal(scale=0.4, size=6)
    mean, se = _mc_high_sparsity(W, b, seed=4)
    np.testing.assert_allclose(T.high_sparsity_loss(W, b), mean, rtol=0, atol=SIGMAS * se)
    batched = T.high_sparsity_loss(np.stack([W, 2 * W]), np.stack([b, b]))
    np.testing.assert_allclose(batched[0], T.high_sparsity_loss(W, b), rtol=1e-14)


def test_kgon_critical_points_match_monte_carlo_and_closed_forms():
    n = 6
    df = T.kgon_critical_points(n=n, m=2, ks=[4, 5, 6]).set_index("label")
    assert list(df.index) == ["4", "4+", "4++", "5", "5+", "6"]
    for label in ("5", "5+", "6"):
        row = df.loc[label]
        W, b = T.kgon_params(n, int(row.k), int(row.n_plus), row.length, row.bias, row.bias_plus)
        mean, se = _mc_high_sparsity(W, b, seed=int(row.k) + 10 * int(row.n_plus))
        np.testing.assert_allclose(row.loss, mean, rtol=0, atol=SIGMAS * se)
    # A square with zero bias reconstructs its own features exactly; each dropped feature costs 1/3.
    np.testing.assert_allclose(df.loc["4", "loss"], (n - 4) / (3 * n), rtol=1e-9)
    # A positive-bias dropped feature: (1/3 − b + n b²)/n, minimised at b = 1/(2n).
    np.testing.assert_allclose(df.loc[["4+", "5+"], "bias_plus"], 1 / (2 * n), rtol=1e-6)
    gain = 1 / (3 * n) - (1 / 3 - 1 / (4 * n)) / n
    np.testing.assert_allclose(df.loc["5", "loss"] - df.loc["5+", "loss"], gain, rtol=1e-7)


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call", [
    lambda: T.n2m1_losses(0.0, 1.0),
    lambda: T.n2m1_losses(1.5, 1.0),
    lambda: T.n2m1_phase(0.5, -0.1),
    lambda: T.n2m1_phase(0.5, 1.0, antipodal="other"),
    lambda: T.n3m2_losses(np.nan, 1.0),
    lambda: T.n3m2_params("triangle", 0.5, 1.0),
    lambda: T.n2m1_loss([[1.0, 0.0, 0.0]], [0.0, 0.0], 0.5, 1.0),
    lambda: T.high_sparsity_loss(np.ones((2, 6)), np.zeros(5)),
    lambda: T.kgon_critical_points(n=6, m=3),
    lambda: T.kgon_params(6, 7, 0, 1.0, 0.0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError, match=r"density|relative_importance|antipodal|config|W must|m=2|k <= n"):
        call()
