"""H&H's resampling variants on a model that is exactly the α/β AND hypothesis (every variant keeps 100%),
and on one that also reads a third direction (only the variants that resample it lose)."""

import numpy as np
import pytest

from tms.challenge.diagnostics import resampling as Rs
from tms.challenge.diagnostics.directions import AndRule, pca
from tms.challenge.diagnostics.grid import tail_logit_diff

D_MODEL, N = 5, 6000


def _data(seed=0):
    """resid_mid with exactly uncorrelated centred columns of decreasing spread: PCs are the axes."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(N, D_MODEL))
    Q, _ = np.linalg.qr(Z - Z.mean(0))
    return 0.3 + Q * np.sqrt(N) * np.array([2.0, 1.5, 0.6, 0.3, 0.1])


def _and_model(alpha, beta, ta, tb, third=0.0):
    """Params whose tail is min(α·r − t_α, β·r − t_β) + third · r_2 exactly: [logit > 0] = the AND."""
    p = {"W_in": np.zeros((D_MODEL, 8)), "b_in": np.full(8, -1.0), "W_out": np.zeros((8, D_MODEL)),
         "b_out": np.zeros(D_MODEL), "W_U": np.zeros((D_MODEL, 2))}
    u = alpha + third * np.eye(D_MODEL)[2]  # the logit direction (α, plus the third direction)
    p["W_U"][:, 1] = u
    p["W_in"][:, 0], p["b_in"][0] = alpha - beta, tb - ta
    p["W_out"][0] = -alpha / (alpha @ u)  # W_out[0]·u = −1
    p["b_out"] = -ta * alpha / (alpha @ u)
    return p


def _setup(third=0.0):
    X = _data()
    alpha = np.eye(D_MODEL)[0]
    beta = (np.eye(D_MODEL)[0] + np.eye(D_MODEL)[1]) / np.sqrt(2)  # not orthogonal to α, in the PC1–PC2 plane
    ta, tb = np.quantile(X @ alpha, 0.3), np.quantile(X @ beta, 0.4)
    params = _and_model(alpha, beta, ta, tb, third)
    rule = AndRule(np.stack([alpha, beta]), np.array([ta, tb]), 1.0)
    return X, params, rule


def test_the_hand_built_model_is_the_and():
    X, params, rule = _setup()
    ld = tail_logit_diff(params, X)
    np.testing.assert_allclose(ld, np.minimum(X @ rule.directions[0] - rule.thresholds[0],
                                              X @ rule.directions[1] - rule.thresholds[1]), atol=1e-5)


def test_basis_round_trip_and_filter_values():
    X, _, rule = _setup()
    b = Rs.Basis(pca(X), rule)
    f, rest = b.split(X)
    np.testing.assert_allclose(f, X @ rule.directions.T, atol=1e-9)
    np.testing.assert_allclose(b.join(f, rest), X, atol=1e-9)
    with pytest.raises(ValueError, match="first two principal components"):
        Rs.Basis(pca(X), AndRule(np.eye(D_MODEL)[[0, 2]], np.zeros(2), 1.0))


def test_every_variant_keeps_an_exact_and_hypothesis():
    X, params, rule = _setup()
    truth = (tail_logit_diff(params, X) > 0)
    t = Rs.resample_ablation(params, X, pca(X), rule, truth, repeats=2).set_index("variant")
    assert list(t.index) == ["clean", *Rs.VARIANTS]
    for metric in ("agreement_full", "agreement_clean", "accuracy"):
        np.testing.assert_allclose(t[metric], 1.0)
        np.testing.assert_allclose(t[f"{metric}_std"], 0.0, atol=1e-12)
    assert set(t["composition"]) == {"none", "alone", "on top of [1]", "all together"}


def test_a_third_direction_shows_in_variant_1_but_not_1star():
    X, params, rule = _setup(third=0.5)
    truth = (tail_logit_diff(params, X) > 0)
    t = Rs.resample_ablation(params, X, pca(X), rule, truth, repeats=1).set_index("variant")
    for v in ("[1]", "[1]+[2]", "[1]+[3a]", "[1]+[3b]", "all"):
        assert t.loc[v, "agreement_clean"] < 0.97, v
    np.testing.assert_allclose(t.loc["[1*]", "agreement_clean"], 1.0)  # PC3 (the third direction) is kept
    with pytest.raises(ValueError, match="variants"):
        Rs.resample_ablation(params, X, pca(X), rule, truth, variants=("[4]",))


def test_agreement_full_is_against_the_given_full_labels():
    """The fixed-attention model's variants are scored against the full model's labels (H&H's notebook)."""
    X, params, rule = _setup()
    clean = tail_logit_diff(params, X) > 0
    other = clean.copy()
    other[:600] = ~other[:600]  # a "full model" that differs on 600 of 6000 inputs
    t = Rs.resample_ablation(params, X, pca(X), rule, clean, full_labels=other, repeats=1,
                             variants=("[1]",)).set_index("variant")
    np.testing.assert_allclose(t.loc[["clean", "[1]"], "agreement_full"], 0.9)
    np.testing.assert_allclose(t.loc[["clean", "[1]"], "agreement_clean"], 1.0)


def test_permutation_donors_use_each_index_once():
    rng = np.random.default_rng(6)
    mask = rng.random(500) < 0.4
    donors = Rs.permute_within(mask, rng)
    np.testing.assert_array_equal(np.sort(donors[mask]), np.flatnonzero(mask))  # a permutation of the masked
    np.testing.assert_array_equal(donors[~mask], np.flatnonzero(~mask))  # the rest keep their own values
    assert (donors[mask] != np.flatnonzero(mask)).mean() > 0.9  # and it does move them


def test_each_step_permutes_values_within_its_groups():
    """Every step only reorders values among the inputs it may exchange: the multiset of values in each group
    is unchanged and nothing outside the group moves."""
    rng = np.random.default_rng(1)
    f, rest, t = rng.normal(size=(400, 2)), rng.normal(size=(400, 3)), np.array([0.2, -0.1])
    for name in Rs.STEPS:
        f2, rest2 = f.copy(), rest.copy()
        Rs._step(name, f2, rest2, t, rng)
        a, b = f[:, 0] > t[0], f[:, 1] > t[1]
        groups = {"[1]": [], "[1*]": [], "[2]": [(0, a), (0, ~a), (1, b), (1, ~b)], "[3a]": [(0, ~b)],
                  "[3b]": [(1, ~a)]}[name]
        moved = {i for i, _ in groups}
        for i, g in groups:
            np.testing.assert_array_equal(np.sort(f2[g, i]), np.sort(f[g, i]))
            np.testing.assert_array_equal(f2[~np.any([gg for ii, gg in groups if ii == i], 0), i],
                                          f[~np.any([gg for ii, gg in groups if ii == i], 0), i])
        for i in {0, 1} - moved:
            np.testing.assert_array_equal(f2[:, i], f[:, i])
        if name in ("[1]", "[1*]"):
            keep = 1 if name == "[1*]" else 0
            np.testing.assert_array_equal(rest2[:, :keep], rest[:, :keep])
            order = np.argsort(rest2[:, keep])  # rows move together: one donor per input
            np.testing.assert_array_equal(np.sort(rest2[:, keep:], 0), np.sort(rest[:, keep:], 0))
            assert len(order) == 400
        else:
            np.testing.assert_array_equal(rest2, rest)


def test_on_top_of_1_resamples_a_superset_of_1s_positions():
    """A hand-made hypothesis that reads a third direction: "[1]+[2]" changes every coordinate that "[1]" does
    (the same permutation seed gives the same [1] step) and additionally the filter values."""
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    f = np.random.default_rng(0).normal(size=(300, 2))
    rest = np.random.default_rng(1).normal(size=(300, 4))
    t = np.zeros(2)
    f1, r1 = Rs.ablate("[1]", f, rest, t, rng_a)
    f12, r12 = Rs.ablate("[1]+[2]", f, rest, t, rng_b)
    changed_1 = np.concatenate([f1 != f, r1 != rest], 1)
    changed_12 = np.concatenate([f12 != f, r12 != rest], 1)
    assert changed_1.any() and (changed_12 & ~changed_1).any()
    assert not (changed_1 & ~changed_12).any()  # superset
    np.testing.assert_array_equal(r12, r1)
    # and the hypothesis says [2] is harmless: the AND of the filters is unchanged
    np.testing.assert_array_equal((f12 > t).all(1), (f1 > t).all(1))


def test_variant_seeds_are_recorded_and_reproducible():
    X, params, rule = _setup(third=0.5)
    truth = tail_logit_diff(params, X) > 0
    a = Rs.resample_ablation(params, X, pca(X), rule, truth, seed=4, repeats=2, variants=("all",))
    b = Rs.resample_ablation(params, X, pca(X), rule, truth, seed=4, repeats=2, variants=("[1]", "all"))
    assert a["seed"].tolist() == [4, 4] and a["repeats"].tolist() == [0, 2]
    np.testing.assert_array_equal(a.iloc[1, 4:], b.iloc[2, 4:])  # a variant's draws do not depend on the others
    assert Rs.variant_seed(4, "all", 1) == [4, list(Rs.VARIANTS).index("all"), 1]
