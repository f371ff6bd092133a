"""The free-energy terms: Hessian rank and log-det against a finite-difference float64 Hessian and a planted
spectrum, the symmetry count by brute force, and the n_cr table's arithmetic."""

import itertools

import numpy as np
import pytest

from tms.analysis.theory import kgon_params
from tms.slt import laplace
from tms.slt.bayes import critical_n


def fd_hessian(f, w, h=1e-4):
    """Central second differences of a float64 NumPy function."""
    d = w.size
    H = np.zeros((d, d))
    E = np.eye(d) * h
    for i in range(d):
        for j in range(i, d):
            H[i, j] = H[j, i] = (f(w + E[i] + E[j]) - f(w + E[i] - E[j]) - f(w - E[i] + E[j])
                                 + f(w - E[i] - E[j])) / (4 * h * h)
    return H


def test_hessian_terms_of_a_planted_spectrum():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    ev = np.array([0.0, 0.0, 0.3, 1.0, 2.0, 5.0])
    out = laplace.hessian_terms(Q @ np.diag(ev) @ Q.T)
    assert out["rank"] == 4 and out["negative"] == 0
    np.testing.assert_allclose(out["half_logdet"], 0.5 * np.log(0.3 * 1 * 2 * 5), rtol=1e-10)
    with pytest.raises(ValueError, match="square"):
        laplace.hessian_terms(np.ones((2, 3)))


@pytest.mark.parametrize("label,length,bias", [("6", 1.3, -0.4), ("5+", 1.2, -0.3)])
def test_hessian_at_a_hand_built_kgon_matches_finite_differences(label, length, bias):
    # A hand-built k-gon (not the optimised one): its own critical-point status does not matter for the check.
    k, plus = int(label.rstrip("+")), label.count("+")
    W, b = kgon_params(6, k, plus, length, bias, 0.2)
    w = np.concatenate([W.ravel(), b])
    f = lambda v: float(laplace.population_loss(v, 6, xp=np))
    H_fd = fd_hessian(f, w)
    H = laplace.hessian(laplace.population_loss, w)
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)
    a, b_ = laplace.hessian_terms(H, rtol=1e-5), laplace.hessian_terms(H_fd, rtol=1e-5)
    assert a["rank"] == b_["rank"]
    np.testing.assert_allclose(a["half_logdet"], b_["half_logdet"], rtol=1e-5)


def test_the_optimised_minima_have_17_curved_directions_and_one_rotation():
    for label in ("5+", "6"):
        t = laplace.phase_terms(label)
        assert t["rank"] == 17 and t["negative_eigs"] == 0
        H = laplace.hessian(laplace.population_loss, laplace.flat_point(label))
        W = laplace.flat_point(label)[:12].reshape(2, 6)
        rot = np.concatenate([(np.array([[0, -1], [1, 0]]) @ W).ravel(), np.zeros(6)])  # d/dθ of R_θ W
        np.testing.assert_allclose(H @ rot, 0.0, atol=1e-6)


def _orbits(W, b):
    """Distinct labelled configurations under feature permutations and reflection, up to rotation."""
    seen = set()
    for perm in itertools.permutations(range(W.shape[1])):
        for flip in (1, -1):
            Wp, bp = W[:, perm] * np.array([[1], [flip]]), b[list(perm)]
            j = int(np.argmax(np.linalg.norm(Wp, axis=0) > 1e-9))  # first represented feature
            angle = np.arctan2(Wp[1, j], Wp[0, j])
            c, s = np.cos(-angle), np.sin(-angle)
            Wc = np.array([[c, -s], [s, c]]) @ Wp
            seen.add(tuple(np.round(np.concatenate([Wc.ravel(), bp]), 6)))
    return len(seen)


@pytest.mark.parametrize("label", ["6", "5+", "5", "4++"])
def test_multiplicity_counts_the_distinct_orbits(label):
    k, plus = int(label.rstrip("+")), label.count("+")
    W, b = kgon_params(6, k, plus, 1.0, -0.1, 0.3)
    assert laplace.multiplicity(label) == _orbits(W, b)


def test_ncr_table_adds_the_terms_it_names():
    df = laplace.ncr_table("5", "6", prior_variances=(1.0, 0.5))
    a, b = laplace.phase_terms("5"), laplace.phase_terms("6")
    w5, w6 = laplace.flat_point("5"), laplace.flat_point("6")
    row = df[(df.terms == "prior") & (df.prior_variance == 1.0)].iloc[0]
    np.testing.assert_allclose(row.delta_c, 0.5 * (w6 @ w6 - w5 @ w5), rtol=1e-12)
    full = df[(df.terms == "all (+ orbit, multiplicity)") & (df.prior_variance == 0.5)].iloc[0]
    want = (w6 @ w6 - w5 @ w5) + (b["half_logdet"] - a["half_logdet"]) - 1.5 * np.log(2 * np.pi) \
        - np.log(np.linalg.norm(w6[:12]) / np.linalg.norm(w5[:12])) - np.log(120 / 144)
    np.testing.assert_allclose(full.delta_c, want, rtol=1e-9)
    np.testing.assert_allclose(full.n_cr, critical_n(b["loss"] - a["loss"], 1.5, want), rtol=1e-9)
    assert (df.terms == "none").sum() == 1
