"""Dictionary scores against hand-built cases, closed forms and Monte Carlo, two-sided."""

import numpy as np
import pytest

from tms.analysis import dictionary as dic


def _truth(n=12, d=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_truth_scores_one():
    T = _truth()
    s = dic.scores(3.0 * T, T)
    for name in ("mmcs", "mmcs_decoder", "mcc", "uniqueness", "recovered_0.9", "recovered_0.99"):
        np.testing.assert_allclose(s[name], 1.0, rtol=1e-12, err_msg=name)


def test_expected_random_mmcs_closed_form_in_three_dimensions():
    for m in (1, 2, 7, 40):
        np.testing.assert_allclose(dic.expected_random_mmcs(3, m), (m - 1) / (m + 1), rtol=1e-7, atol=1e-9)


def test_random_dictionary_mmcs_matches_its_expected_value():
    rng = np.random.default_rng(1)
    d, d_sae = 16, 32
    values = [dic.mmcs(rng.normal(size=(d_sae, d)), rng.normal(size=(10, d)))[0] for _ in range(400)]
    expected = dic.expected_random_mmcs(d, d_sae)
    se = np.std(values) / np.sqrt(len(values))
    np.testing.assert_allclose(np.mean(values), expected, atol=4 * se)
    assert 0.4 < expected < 0.8  # far from 1 and from 0: the test separates random from learned


def test_hungarian_recovers_a_permuted_sign_flipped_copy():
    T = _truth(n=9, d=9, seed=2)
    perm = np.random.default_rng(3).permutation(9)
    signs = np.where(np.arange(9) % 2 == 0, 1.0, -1.0)
    D = signs[:, None] * 2.5 * T[perm]  # latent j = ± true feature perm[j]
    rows, cols, cos = dic.hungarian(D, T)
    np.testing.assert_array_equal(perm[cols], rows)
    np.testing.assert_allclose(cos, signs[cols], rtol=1e-12)
    np.testing.assert_allclose(dic.mcc(D, T), 1.0, rtol=1e-12)
    np.testing.assert_allclose(dic.mmcs(D * signs[:, None], T), (1.0, 1.0), rtol=1e-12)  # signs undone


def test_uniqueness_recovered_split_shared_by_hand():
    T = np.eye(3)
    D = np.array([[1, 0, 0], [1, 0, 0], [0, 0.995, np.sqrt(1 - 0.995 ** 2)], [0.6, 0, 0.8]])
    np.testing.assert_allclose(dic.uniqueness(D, T), 3 / 4)  # latents 0, 1 collide on feature 0
    np.testing.assert_allclose(dic.recovered(D, T, 0.99), 2 / 3)
    np.testing.assert_allclose(dic.recovered(D, T, 0.9), 2 / 3)
    np.testing.assert_allclose(dic.mmcs(D, T)[0], (1 + 0.995 + 0.8) / 3, rtol=1e-12)
    assert dic.split_and_shared(D, T) == (1, 1)  # feature 0 split in two; latent 3 shares features 0 and 2


def test_activity_fvu_and_spliced_loss():
    Z = np.array([[0, 1.0, 0, 0], [0, 2.0, 3.0, 0], [0, 1.0, 0, 0]])
    assert dic.activity(Z, dense_frac=0.5) == {"l0": 4 / 3, "dead": 2, "dense": 1}
    H = np.array([[1.0, 0], [0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(dic.fvu(H, H), 0.0, atol=1e-15)
    np.testing.assert_allclose(dic.fvu(H, np.tile(H.mean(0), (3, 1))), 1.0, rtol=1e-12)
    angles = 2 * np.pi * np.arange(5) / 5
    W = np.stack([np.cos(angles), np.sin(angles)])
    b = -0.2 * np.ones(5)
    X = np.random.default_rng(4).uniform(size=(50, 5)) * (np.random.default_rng(5).uniform(size=(50, 5)) < 0.2)
    exact = dic.spliced_loss(W, b, X, X @ W.T)
    np.testing.assert_allclose([exact["spliced"], exact["recovered"]], [exact["clean"], 1.0], rtol=1e-12)
    zero = dic.spliced_loss(W, b, X, np.zeros((50, 2)))
    np.testing.assert_allclose(zero["recovered"], 0.0, atol=1e-12)
    np.testing.assert_allclose(zero["zero"], np.mean(np.sum(X ** 2, axis=1)), rtol=1e-12)  # ReLU(b) = 0


def test_width_mismatch():
    with pytest.raises(ValueError, match="share d"):
        dic.mmcs(np.ones((3, 4)), np.ones((3, 5)))
