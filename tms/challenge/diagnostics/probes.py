"""Linear probes: can x and y be read linearly from resid_mid?

RGRGRG (§4.2) ran multinomial logistic regressions from resid_mid to x and to y: 100% for x, 78% for y on
the original model; the post states nothing more (no split, regularisation or solver). Main number here
(:func:`plain_probe`): the plain probe, i.e. multinomial logistic regression on raw resid_mid (no scaling),
an intercept, and scikit-learn's default L2 penalty (C = 1: Σ cross-entropy + ½‖W‖²), minimised by L-BFGS
(:func:`lbfgs`)
to convergence (gradient norm ≤ ``GTOL``), trained on the challenge's train half and scored on the test
half. Extras: the same probe stopped after ``SHORT_ITERATIONS`` L-BFGS iterations (scikit-learn's default
``max_iter``), and :func:`linear_probe`, a probe on whitened resid_mid fitted by Adam.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tms.challenge import data
from tms.challenge.diagnostics.directions import _matrix, pca
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError


@partial(jax.jit, static_argnames=("n_classes", "steps", "lr", "l2"))
def _probe_fit(X, t, n_classes: int, steps: int, lr: float, l2: float):
    Y = jax.nn.one_hot(t, n_classes)

    def loss(p):
        logits = X @ p["W"] + p["b"][None, :]
        return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(logits), -1)) + l2 * jnp.sum(p["W"] ** 2)

    opt = optax.adam(lr)
    p = {"W": jnp.zeros((X.shape[1], n_classes)), "b": jnp.zeros(n_classes)}

    def step(carry, _):
        p, s = carry
        upd, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, upd), s), None

    return jax.lax.scan(step, (p, opt.init(p)), None, length=steps)[0][0]


GTOL = 1e-5  # plain probe: converged when the gradient's largest entry is below this
MAX_ITERATIONS = 5000
SHORT_ITERATIONS = 100


class PlainProbe(NamedTuple):
    train_accuracy: float
    test_accuracy: float
    iterations: int
    converged: bool
    grad_norm: float  # largest |gradient entry| at the end
    early_test_accuracy: float  # the same run's test accuracy after ``early`` iterations (final if it stopped before)


def _ce_and_grad(theta, X, Y, C: float):
    """Σ cross-entropy + ½/C ‖W‖² and its gradient; theta = [W (d, K) ravelled, b (K)]."""
    d, K = X.shape[1], Y.shape[1]
    W, b = theta[:d * K].reshape(d, K), theta[d * K:]
    Z = X @ W + b
    Z = Z - Z.max(1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
    P = np.exp(logp) - Y
    f = -(Y * logp).sum() + 0.5 / C * (W**2).sum()
    return f, np.concatenate([(X.T @ P + W / C).ravel(), P.sum(0)])


def _ce_and_grad_fast(X, Y, C: float):
    """``theta -> _ce_and_grad(theta, X, Y, C)`` compiled by XLA in float64 (``jax.enable_x64`` only inside):
    the same numbers as the NumPy reference (tested); faster than NumPy where OpenBLAS's threads contend
    (timings in docs/performance.md)."""
    d, K = X.shape[1], Y.shape[1]
    with jax.enable_x64():
        Xj, Yj = jnp.asarray(X, jnp.float64), jnp.asarray(Y, jnp.float64)

        @jax.jit
        def f(theta):
            W, b = theta[:d * K].reshape(d, K), theta[d * K:]
            logp = jax.nn.log_softmax(Xj @ W + b[None, :])
            P = jnp.exp(logp) - Yj
            return -(Yj * logp).sum() + 0.5 / C * (W**2).sum(), jnp.concatenate([(Xj.T @ P + W / C).ravel(), P.sum(0)])

    def fg(theta):
        with jax.enable_x64():
            v, g = f(jnp.asarray(theta, jnp.float64))
            return float(v), np.asarray(g)

    return fg


def _probe_inputs(X, target, n_classes: int | None):
    """Checked probe inputs: ``X`` as a float matrix, ``target`` as int64 labels in 0..classes-1, and the
    number of classes."""
    X = _matrix("X", X)
    t = np.asarray(target).reshape(-1).astype(np.int64)
    if t.shape[0] != X.shape[0]:
        raise TmsError(f"target must have {X.shape[0]} entries; got {t.shape}")
    k = int(t.max()) + 1 if n_classes is None else n_classes
    if t.min() < 0 or t.max() >= k:
        raise TmsError(f"target must lie in 0..{k - 1}; got {t.min()}..{t.max()}")
    return X, t, k


def plain_probe(X, target, train_idx, test_idx, n_classes: int | None = None, C: float = 1.0,
                max_iterations: int = MAX_ITERATIONS, gtol: float = GTOL, early: int = SHORT_ITERATIONS) -> PlainProbe:
    """Multinomial logistic regression of integer ``target`` (N,) on raw ``X`` (N, d), L2 penalty ½‖W‖²/C
    (intercept not penalised), by L-BFGS (float64) from zero on the train rows; accuracies on train and
    test rows, whether the gradient reached ``gtol`` within ``max_iterations``, and the test accuracy of
    the iterate after ``early`` iterations (what a solver stopped there would report)."""
    X, t, K = _probe_inputs(X, target, n_classes)
    if C <= 0 or max_iterations < 1:
        raise TmsError(f"C must be > 0 and max_iterations >= 1; got C={C}, max_iterations={max_iterations}")
    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    Y = np.eye(K)[t[tr]]
    d = X.shape[1]
    Xtr = X[tr]
    theta, iterations, g, snap = lbfgs(_ce_and_grad_fast(Xtr, Y, C), np.zeros(d * K + K), max_iterations, gtol, early)

    def predict(th):
        return np.argmax(X @ th[:d * K].reshape(d, K) + th[d * K:], 1)

    pred = predict(theta)
    early_pred = predict(snap) if snap is not None else pred
    return PlainProbe(float((pred[tr] == t[tr]).mean()), float((pred[te] == t[te]).mean()), iterations,
                      g <= gtol, g, float((early_pred[te] == t[te]).mean()))


class SklearnDefaultProbe(NamedTuple):
    train_accuracy: float
    test_accuracy: float
    iterations: int
    converged: bool  # scipy's L-BFGS-B stopped before max_iter


SKLEARN_MAX_ITER = 100  # scikit-learn LogisticRegression's defaults: C = 1, L2, lbfgs, tol 1e-4, max_iter 100
SKLEARN_TOL = 1e-4


def sklearn_default_probe(X, target, train_idx, test_idx, n_classes: int | None = None, C: float = 1.0,
                          max_iter: int = SKLEARN_MAX_ITER, tol: float = SKLEARN_TOL) -> SklearnDefaultProbe:
    """``sklearn.linear_model.LogisticRegression()`` with its defaults, rebuilt on SciPy: multinomial
    cross-entropy averaged over the train rows plus ½‖W‖²/(C·n) (intercept not penalised), minimised from
    zero by ``scipy.optimize.minimize(method="L-BFGS-B")`` with scikit-learn's options (maxiter = max_iter,
    gtol = tol, ftol = 64·eps, maxls = 50). Its minimiser is :func:`plain_probe`'s; what differs is where a
    run stops (100 iterations by default; scikit-learn then warns that it did not converge)."""
    from scipy.optimize import minimize

    X, t, K = _probe_inputs(X, target, n_classes)
    if C <= 0 or max_iter < 1:
        raise TmsError(f"C must be > 0 and max_iter >= 1; got C={C}, max_iter={max_iter}")
    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    d, n = X.shape[1], len(tr)
    fg_sum = _ce_and_grad_fast(X[tr], np.eye(K)[t[tr]], C)

    def fg(theta):
        v, g = fg_sum(theta)
        return v / n, g / n

    res = minimize(fg, np.zeros(d * K + K), method="L-BFGS-B", jac=True,
                   options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps})
    theta = res.x
    pred = np.argmax(X @ theta[:d * K].reshape(d, K) + theta[d * K:], 1)
    return SklearnDefaultProbe(float((pred[tr] == t[tr]).mean()), float((pred[te] == t[te]).mean()),
                               int(res.nit), bool(res.nit < max_iter))


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum())


def lbfgs(fg, x0, max_iterations: int, gtol: float, early: int | None = None, memory: int = 20):
    """Minimise a smooth function by L-BFGS (two-loop recursion, Armijo backtracking; curvature pairs with
    s·y ≤ 0 skipped). ``fg(x) -> (f, grad)``. Returns (x, iterations, largest |gradient entry|, the iterate
    after ``early`` iterations or None if it stopped before). Written here because SciPy's L-BFGS-B has a
    large per-iteration overhead on 14,577 variables (timings in docs/performance.md); tested against it
    on a small problem. Dot products are elementwise sums, not BLAS calls: OpenBLAS threads vectors this
    long, and its threads stall on a loaded machine."""
    x = np.asarray(x0, np.float64)
    f, g = fg(x)
    S, Yd, snap, it = [], [], None, 0
    while it < max_iterations and np.abs(g).max() > gtol:
        q, coef = g.copy(), []
        for s, y in zip(reversed(S), reversed(Yd)):
            rho = 1.0 / _dot(y, s)
            a = rho * _dot(s, q)
            q -= a * y
            coef.append((rho, a))
        q *= _dot(S[-1], Yd[-1]) / _dot(Yd[-1], Yd[-1]) if S else 1.0 / np.sqrt(_dot(g, g))
        for (s, y), (rho, a) in zip(zip(S, Yd), reversed(coef)):
            q += s * (a - rho * _dot(y, q))
        step, slope = 1.0, -_dot(g, q)
        while True:
            xn = x - step * q
            fn, gn = fg(xn)
            if fn <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s, y = xn - x, gn - g
        if _dot(s, y) > 1e-12:
            S, Yd = (S + [s])[-memory:], (Yd + [y])[-memory:]
        x, f, g, it = xn, fn, gn, it + 1
        if it == early:
            snap = x.copy()
    return x, it, float(np.abs(g).max()), snap


class ProbeResult(NamedTuple):
    train_accuracy: float
    test_accuracy: float
    weights: np.ndarray  # (d, C) on standardised inputs
    bias: np.ndarray  # (C,)


def linear_probe(X, target, train_idx, test_idx, n_classes: int | None = None, steps: int = 500,
                 lr: float = 0.05, l2: float = 1e-4, whiten: bool = True) -> ProbeResult:
    """Multinomial logistic-regression probe from ``X: (N, d)`` to integer classes ``target`` (N,).

    Fitted by full-batch Adam from zero weights (deterministic) on the train rows, with an L2 penalty
    ``l2``; accuracy on train and test rows. Inputs are whitened with the train rows' PCA (components with
    variance below 1e-10 of the largest dropped) when ``whiten``, else standardised per coordinate. Either
    is an invertible linear map, so the probe stays linear in X; whitening only conditions the
    optimisation (activations whose variance sits in a few directions train slowly otherwise).
    ``weights`` are returned in the transformed coordinates.
    """
    X, t, C = _probe_inputs(X, target, n_classes)
    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    if whiten:
        pc = pca(X[tr])
        keep = pc.variance > 1e-10 * pc.variance[0]
        Xs = jnp.asarray((X - pc.mean) @ pc.components[keep].T / np.sqrt(pc.variance[keep]), jnp.float32)
    else:
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-8
        Xs = jnp.asarray((X - mu) / sd, jnp.float32)
    p = _probe_fit(Xs[tr], jnp.asarray(t[tr]), C, steps, float(lr), float(l2))
    pred = np.asarray(jnp.argmax(Xs @ p["W"] + p["b"][None, :], -1))
    return ProbeResult(float((pred[tr] == t[tr]).mean()), float((pred[te] == t[te]).mean()),
                       np.asarray(p["W"]), np.asarray(p["b"]))


@register("probes", "linear probes for x and y from resid_mid: scikit-learn's default logistic regression "
                   "(headline), the same objective converged, stopped early, and whitened (extras)")
def probe_diagnostic(dx) -> Outcome:
    tr, te = data.split()
    pairs = data.all_pairs()
    numbers = {}
    long_iter = 20 if dx.settings.quick else MAX_ITERATIONS
    for i, name in enumerate(("x", "y")):
        pp = plain_probe(dx.full.resid_mid, pairs[:, i], tr, te, n_classes=data.N_VALUES, max_iterations=long_iter)
        wh = linear_probe(dx.full.resid_mid, pairs[:, i], tr, te, n_classes=data.N_VALUES,
                          steps=dx.settings.probe_steps)
        sk = sklearn_default_probe(dx.full.resid_mid, pairs[:, i], tr, te, n_classes=data.N_VALUES)
        numbers.update({f"probe_{name}": sk.test_accuracy, f"probe_{name}_train": sk.train_accuracy,
                        f"probe_{name}_iterations": sk.iterations, f"probe_{name}_converged": sk.converged,
                        f"probe_{name}_plain": pp.test_accuracy, f"probe_{name}_plain_iterations": pp.iterations,
                        f"probe_{name}_plain_converged": pp.converged, f"probe_{name}_short": pp.early_test_accuracy,
                        f"probe_{name}_whitened": wh.test_accuracy})
    return Outcome(numbers, {}, {})
