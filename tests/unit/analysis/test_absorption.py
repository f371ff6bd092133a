"""The absorption measure against dictionaries built by hand with NumPy (float64), with values derived by hand
or counted directly from the true activations X."""

import numpy as np
import pytest

from tms.analysis import dictionary as dic
from tms.errors import TmsError

P, C, D = 2, 2, 8  # parents 0, 1; children of 0: features 2, 3; of 1: 4, 5
PARENTS = np.array([-1, -1, 0, 0, 1, 1])
N_TRUE = P * (1 + C)


def _truth(seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(D, N_TRUE)))
    return Q.T  # orthonormal rows


def _activations(n=4000, seed=1):
    """Parents on with probability 1/2; given a parent, none / child 0 / child 1 each 1/3; magnitudes U[0.2, 1]."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, N_TRUE))
    for p in range(P):
        on = rng.uniform(size=n) < 0.5
        pick = rng.integers(0, 3, size=n)  # 0: no child
        X[on, p] = rng.uniform(0.2, 1.0, size=on.sum())
        for j in range(C):
            kid = on & (pick == j + 1)
            X[kid, P + p * C + j] = rng.uniform(0.2, 1.0, size=kid.sum())
    return X


def _encode(W_enc, b_enc, H):
    return np.maximum(H @ W_enc + b_enc, 0.0)


def _absorbed(T, pairs, carry_parent=True, M=100.0):
    """Decoder and encoder with child latent c = (f_p + f_c)/√2 (or f_c) and parent latent p silenced by c."""
    dec, enc = T.copy(), T.T.copy()
    for c in pairs:
        p = PARENTS[c]
        enc[:, p] -= M * T[c]  # pre_p = x_p − M x_c: negative whenever c is on (x_c >= 0.2)
        if carry_parent:
            dec[c] = (T[p] + T[c]) / np.sqrt(2.0)
    return dec, enc


def test_truth_dictionary_absorbs_nothing():
    T, X = _truth(), _activations()
    Z = _encode(T.T, 0.0, X @ T)
    np.testing.assert_allclose(Z, X, atol=1e-12)
    t = dic.absorption_table(T, T, Z, X, PARENTS)
    np.testing.assert_array_equal(t["child"], [2, 3, 4, 5])
    np.testing.assert_array_equal(t["parent_latent"], [0, 0, 1, 1])
    np.testing.assert_array_equal(t["child_latent"], [2, 3, 4, 5])
    for key in ("miss_child", "miss_alone", "absorption", "absorbed"):
        np.testing.assert_allclose(t[key], 0.0, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(t["child_parent_cos"], 0.0, atol=1e-12)
    np.testing.assert_allclose(t["parent_cos"], 1.0, rtol=1e-12)
    on = X > 0
    np.testing.assert_array_equal(t["n_child"], [np.sum(on[:, PARENTS[c]] & on[:, c]) for c in (2, 3, 4, 5)])
    np.testing.assert_array_equal(t["n_alone"][[0, 2]], [np.sum(on[:, p] & ~on[:, PARENTS == p].any(axis=1))
                                                         for p in (0, 1)])
    s = dic.absorption_scores(T, T, Z, X, PARENTS)
    assert s == {"absorption": 0.0, "absorbed": 0.0, "miss_child": 0.0, "miss_alone": 0.0, "absorbing_latents": 0.0}
    assert dic.split_and_shared(T, T) == (0, 0)


def test_fully_absorbed_dictionary_scores_one():
    T, X = _truth(), _activations()
    dec, enc = _absorbed(T, [2, 3, 4, 5])
    Z = _encode(enc, 0.0, X @ T)
    t = dic.absorption_table(dec, T, Z, X, PARENTS)
    np.testing.assert_array_equal(t["parent_latent"], [0, 0, 1, 1])  # the Hungarian match keeps the pure parent
    np.testing.assert_allclose(t["miss_child"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(t["miss_alone"], 0.0, atol=1e-12)
    np.testing.assert_allclose(t["absorption"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(t["absorbed"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(t["child_parent_cos"], 1 / np.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(t["child_cos"], 1 / np.sqrt(2), rtol=1e-12)
    s = dic.absorption_scores(dec, T, Z, X, PARENTS)
    np.testing.assert_allclose([s["absorption"], s["absorbed"], s["absorbing_latents"]], 1.0, rtol=1e-12)
    # The older counters: every child latent is shared (cosine 1/√2 >= 0.3 with parent and child), and since
    # 1/√2 > 0.7 each parent counts as split (its own latent and two child latents above 0.7).
    assert dic.split_and_shared(dec, T) == (2, 4)
    # The reconstruction is exact only when the parent's and the child's magnitudes agree.
    H_hat = Z @ dec
    same = np.isclose(X[:, 0], X[:, 2]) & (X[:, 2] > 0)
    assert not same.any() and dic.fvu(X @ T, H_hat) > 0.01


def test_one_absorbed_child_of_four():
    T, X = _truth(), _activations()
    dec, enc = _absorbed(T, [2])
    Z = _encode(enc, 0.0, X @ T)
    t = dic.absorption_table(dec, T, Z, X, PARENTS)
    np.testing.assert_allclose(t["absorption"], [1.0, 0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(t["absorbed"], [1.0, 0.0, 0.0, 0.0], atol=1e-12)
    s = dic.absorption_scores(dec, T, Z, X, PARENTS)
    np.testing.assert_allclose([s["absorption"], s["absorbed"], s["absorbing_latents"]], 0.25, rtol=1e-12)


def test_silenced_parent_without_an_absorbing_latent():
    """The parent latent is silenced by its children but no latent carries the parent's direction: the misses
    count as absorption (excess misses) but not as absorbed (no absorbing latent fires)."""
    T, X = _truth(), _activations()
    dec, enc = _absorbed(T, [2, 3, 4, 5], carry_parent=False)
    Z = _encode(enc, 0.0, X @ T)
    s = dic.absorption_scores(dec, T, Z, X, PARENTS)
    np.testing.assert_allclose([s["absorption"], s["absorbed"], s["absorbing_latents"]], [1.0, 0.0, 0.0], atol=1e-12)


def test_baseline_subtracted_with_a_thresholded_parent_latent():
    """Parent latents with bias −0.5 fire only when x_p > 0.5, with or without a child: the miss rates are
    counted straight from X, and their difference is the absorption (small, of either sign)."""
    T, X = _truth(), _activations()
    b = np.where(np.arange(N_TRUE) < P, -0.5, 0.0)
    Z = _encode(T.T, b, X @ T)
    t = dic.absorption_table(T, T, Z, X, PARENTS)
    on = X > 0
    for row, c in enumerate((2, 3, 4, 5)):
        p = PARENTS[c]
        both = on[:, p] & on[:, c]
        alone = on[:, p] & ~on[:, PARENTS == p].any(axis=1)
        miss_c, miss_a = np.mean(X[both, p] <= 0.5), np.mean(X[alone, p] <= 0.5)
        assert 0.2 < miss_a < 0.5 and 0.2 < miss_c < 0.5  # x_p ~ U[0.2, 1]: P(x_p <= 0.5) = 3/8
        np.testing.assert_allclose([t["miss_child"][row], t["miss_alone"][row]], [miss_c, miss_a], rtol=1e-12)
        np.testing.assert_allclose(t["absorption"][row], miss_c - miss_a, atol=1e-12)
    assert np.all(np.abs(t["absorption"]) < 0.1)
    np.testing.assert_allclose(t["absorbed"], 0.0, atol=1e-12)  # no other latent carries the parent's direction


def test_fire_level_and_unmatched_features():
    T, X = _truth(), _activations()
    Z = _encode(T.T, 0.0, X @ T)
    t = dic.absorption_table(T, T, Z, X, PARENTS, fire=0.6)  # x_p <= 0.6 now counts as silent
    on = X > 0
    both = on[:, 0] & on[:, 2]
    np.testing.assert_allclose(t["miss_child"][0], np.mean(X[both, 0] <= 0.6), rtol=1e-12)
    only_parents = T[:P]  # two latents: the children have none
    t = dic.absorption_table(only_parents, T, Z[:, :P], X, PARENTS)
    assert np.all(t["child_latent"] == -1) and np.all(np.isnan(t["absorption"]))
    assert np.isnan(dic.absorption_scores(only_parents, T, Z[:, :P], X, PARENTS)["absorption"])


def test_a_latent_against_the_parent_is_not_its_match():
    """Signed matching: a decoder row −f_p does not stand for p; the latent with +f_p does."""
    T = _truth()
    dec = np.vstack([-T[0], T[1:], T[0]])  # latent 0 = −f_0, latent 6 = +f_0
    np.testing.assert_array_equal(dic.matched_latents(dec, T), [6, 1, 2, 3, 4, 5])


@pytest.mark.parametrize("Z_shape, X_shape, parents, match", [
    ((10, 5), (10, 6), PARENTS, "Z"),
    ((10, 6), (9, 6), PARENTS, "Z"),
    ((10, 6), (10, 6), PARENTS[:5], "parents must be"),
    ((10, 6), (10, 6), np.array([-1, -1, 0, 0, 1, 7]), "parents entries"),
    ((10, 6), (10, 6), np.array([-1, 1, 0, 0, 1, 1]), "parents entries"),
])
def test_bad_shapes_refused(Z_shape, X_shape, parents, match):
    T = _truth()
    with pytest.raises(TmsError, match=match):
        dic.absorption_table(T, T, np.zeros(Z_shape), np.zeros(X_shape), parents)
