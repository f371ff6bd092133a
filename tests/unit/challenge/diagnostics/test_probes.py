"""Linear probes read planted classes and not noise."""

import numpy as np

from tms.challenge.diagnostics.probes import linear_probe


def test_linear_probe_reads_planted_classes_and_not_noise():
    rng = np.random.default_rng(3)
    cls = rng.integers(0, 20, 4000)
    X = rng.normal(size=(20, 12))[cls] + 0.1 * rng.normal(size=(4000, 12))
    tr, te = np.arange(2000), np.arange(2000, 4000)
    np.testing.assert_allclose(linear_probe(X, cls, tr, te, n_classes=20).test_accuracy, 1.0, atol=0.005)
    np.testing.assert_allclose(linear_probe(X, cls, tr, te, n_classes=20, whiten=False).test_accuracy, 1.0,
                               atol=0.005)
    noise = linear_probe(rng.normal(size=(4000, 12)), cls, tr, te, n_classes=20)
    np.testing.assert_allclose(noise.test_accuracy, 1 / 20, atol=0.025)


def test_plain_probe_gradient_and_convergence():
    from scipy.optimize import check_grad

    from tms.challenge.diagnostics import probes as Pr

    rng = np.random.default_rng(1)
    X, t = rng.normal(size=(40, 3)), rng.integers(0, 4, 40)
    Y = np.eye(4)[t]
    theta = 0.3 * rng.normal(size=3 * 4 + 4)
    err = check_grad(lambda th: Pr._ce_and_grad(th, X, Y, 0.7)[0], lambda th: Pr._ce_and_grad(th, X, Y, 0.7)[1], theta)
    assert err < 1e-5
    cls = rng.integers(0, 20, 4000)
    Xc = 3 * rng.normal(size=(20, 12))[cls] + 0.1 * rng.normal(size=(4000, 12))
    tr, te = np.arange(2000), np.arange(2000, 4000)
    p = Pr.plain_probe(Xc, cls, tr, te, n_classes=20)
    assert p.converged and p.grad_norm <= Pr.GTOL and p.test_accuracy > 0.995
    # the early snapshot is what a solver stopped there reports
    y = (Xc[:, 0] > 0).astype(int) + 2 * (Xc[:, 1] > 0)
    run, stopped = Pr.plain_probe(Xc, y, tr, te, early=3), Pr.plain_probe(Xc, y, tr, te, max_iterations=3)
    assert run.early_test_accuracy == stopped.test_accuracy and stopped.iterations == 3
    # a strong penalty (small C) on small-scale inputs costs accuracy: regularisation, not training length
    weak = Pr.plain_probe(0.01 * Xc, cls, tr, te, n_classes=20, C=1e-3)
    assert weak.converged and weak.test_accuracy < 0.5
    import pytest

    with pytest.raises(ValueError, match="C must be"):
        Pr.plain_probe(Xc, cls, tr, te, C=0)


def test_lbfgs_matches_scipy_on_a_small_probe():
    from scipy.optimize import minimize

    from tms.challenge.diagnostics import probes as Pr

    rng = np.random.default_rng(2)
    X, t = rng.normal(size=(300, 5)), rng.integers(0, 3, 300)
    Y = np.eye(3)[t]

    def fg(th):
        return Pr._ce_and_grad(th, X, Y, 1.0)

    ours, it, g, _ = Pr.lbfgs(fg, np.zeros(18), 500, 1e-8)
    ref = minimize(fg, np.zeros(18), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 0, "maxiter": 2000})
    assert g <= 1e-8 and it < 500
    np.testing.assert_allclose(ours, ref.x, atol=1e-6)
    np.testing.assert_allclose(fg(ours)[0], ref.fun, rtol=1e-10)


def test_compiled_loss_matches_the_numpy_reference():
    from tms.challenge.diagnostics import probes as Pr

    rng = np.random.default_rng(4)
    X, t = rng.normal(size=(200, 6)), rng.integers(0, 5, 200)
    Y = np.eye(5)[t]
    theta = rng.normal(size=6 * 5 + 5)
    f_ref, g_ref = Pr._ce_and_grad(theta, X, Y, 0.5)
    f, g = Pr._ce_and_grad_fast(X, Y, 0.5)(theta)
    assert g.dtype == np.float64
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)
