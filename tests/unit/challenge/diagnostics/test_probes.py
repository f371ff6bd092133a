"""Linear probes read planted classes and not noise."""

import numpy as np
import pytest

from tms.challenge.diagnostics import probes
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
    err = check_grad(lambda th: probes._ce_and_grad(th, X, Y, 0.7)[0], lambda th: probes._ce_and_grad(th, X, Y, 0.7)[1], theta)
    assert err < 1e-5
    cls = rng.integers(0, 20, 4000)
    Xc = 3 * rng.normal(size=(20, 12))[cls] + 0.1 * rng.normal(size=(4000, 12))
    tr, te = np.arange(2000), np.arange(2000, 4000)
    p = probes.plain_probe(Xc, cls, tr, te, n_classes=20)
    assert p.converged and p.grad_norm <= probes.GTOL and p.test_accuracy > 0.995
    # the early snapshot is what a solver stopped there reports
    y = (Xc[:, 0] > 0).astype(int) + 2 * (Xc[:, 1] > 0)
    run, stopped = probes.plain_probe(Xc, y, tr, te, early=3), probes.plain_probe(Xc, y, tr, te, max_iterations=3)
    assert run.early_test_accuracy == stopped.test_accuracy and stopped.iterations == 3
    # a strong penalty (small C) on small-scale inputs costs accuracy: regularisation, not training length
    weak = probes.plain_probe(0.01 * Xc, cls, tr, te, n_classes=20, C=1e-3)
    assert weak.converged and weak.test_accuracy < 0.5
    import pytest

    with pytest.raises(ValueError, match="C must be"):
        probes.plain_probe(Xc, cls, tr, te, C=0)


def test_lbfgs_matches_scipy_on_a_small_probe():
    from scipy.optimize import minimize

    from tms.challenge.diagnostics import probes as Pr

    rng = np.random.default_rng(2)
    X, t = rng.normal(size=(300, 5)), rng.integers(0, 3, 300)
    Y = np.eye(3)[t]

    def fg(th):
        return probes._ce_and_grad(th, X, Y, 1.0)

    ours, it, g, _ = probes.lbfgs(fg, np.zeros(18), 500, 1e-8)
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
    f_ref, g_ref = probes._ce_and_grad(theta, X, Y, 0.5)
    f, g = probes._ce_and_grad_fast(X, Y, 0.5)(theta)
    assert g.dtype == np.float64
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)


def _separable(seed=0, n=600, d=8, k=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.2, 5, d)
    t = np.argmax(X @ rng.normal(size=(d, k)) + rng.normal(size=(n, k)), 1)
    return X, t, np.arange(400), np.arange(400, n)


def test_sklearn_default_probe_settings_and_minimiser():
    """scikit-learn's defaults (C = 1, lbfgs, tol 1e-4, max_iter 100); given iterations enough, the minimiser is
    the plain probe's (the same objective up to the factor 1/n)."""
    assert (probes.SKLEARN_MAX_ITER, probes.SKLEARN_TOL) == (100, 1e-4)
    X, t, tr, te = _separable()
    sk = probes.sklearn_default_probe(X, t, tr, te, max_iter=2000, tol=1e-10)
    plain = probes.plain_probe(X, t, tr, te)
    assert sk.converged and plain.converged
    np.testing.assert_allclose([sk.train_accuracy, sk.test_accuracy], [plain.train_accuracy, plain.test_accuracy])
    short = probes.sklearn_default_probe(X, t, tr, te, max_iter=3)
    assert short.iterations == 3 and not short.converged
    with pytest.raises(ValueError, match="max_iter"):
        probes.sklearn_default_probe(X, t, tr, te, max_iter=0)


def test_sklearn_default_probe_equals_scikit_learn():
    """Side by side with scikit-learn's LogisticRegression() (where installed): the same iterations and the
    same accuracies, converged or stopped early."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    import warnings

    X, t, tr, te = _separable(1)
    for max_iter in (5, 20, 100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = linear_model.LogisticRegression(max_iter=max_iter).fit(X[tr], t[tr])
        ours = probes.sklearn_default_probe(X, t, tr, te, max_iter=max_iter)
        assert ours.iterations == int(clf.n_iter_[0])
        np.testing.assert_allclose([ours.train_accuracy, ours.test_accuracy],
                                   [clf.score(X[tr], t[tr]), clf.score(X[te], t[te])], atol=1 / 200 + 1e-12)
