"""Challenge diagnostics on cases with known answers: synthetic arrays and small random transformers."""

import itertools

import jax
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import diagnostics as Dg
from tms.challenge import directions as Dr
from tms.challenge import model as M
from tms.challenge import neurons as N

SMALL = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)


@pytest.fixture(scope="module")
def small():
    params = M.init_params(SMALL, jax.random.PRNGKey(1))
    # larger biases so that neurons switch on and off across the grid
    params["b_in"] = 0.3 * jax.random.normal(jax.random.PRNGKey(2), (SMALL.d_mlp,))
    return params, Dg.run_grid(params)


# --------------------------------------------------------------------------- 1. accuracy tables
def test_accuracy_table_counts_planted_errors():
    truth = D.label_grid().ravel()
    tr, te = D.split()
    pred = truth.copy()
    pred[tr[:7]] ^= 1
    pred[te[:3]] ^= 1
    t = Dg.accuracy_table(pred, original=truth).set_index("set")
    assert list(t["errors"]) == [7, 3, 10]
    np.testing.assert_allclose(t.loc["train", "accuracy"], 1 - 7 / 6384)
    np.testing.assert_allclose(t.loc["full", "agreement_original"], 1 - 10 / 12769)
    assert np.isnan(Dg.accuracy_table(truth)["agreement_original"]).all()


def test_accuracy_table_of_the_original_model():
    ref = D.load_reference()
    if ref is None:
        pytest.skip("challenge2_labels.npz not present")
    t = Dg.accuracy_table(ref["model_labels"]).set_index("set")
    np.testing.assert_allclose(t["accuracy"], [0.9970, 0.9757, 0.9864], atol=5e-5)
    assert t.loc["full", "errors"] == 174


def test_accuracy_table_rejects_bad_labels():
    with pytest.raises(ValueError, match="pred"):
        Dg.accuracy_table(np.zeros(10))
    with pytest.raises(ValueError, match="only 0 and 1"):
        Dg.accuracy_table(np.full((113, 113), 2))


# --------------------------------------------------------------------------- 2. error distances
def test_boundary_distances_of_known_points():
    truth = D.label_grid().ravel()
    f = Dg.error_distances(truth).set_index(["x", "y"])
    # 20² = 200·√4 (curve a), 60² = 600·√36 (curve b), 60 + 73 = 133 (line c)
    np.testing.assert_allclose(f.loc[(20, 4), "d_a"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(36, 60), "d_b"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(60, 73), "d_c"], 0.0, atol=0.05)
    np.testing.assert_allclose(f.loc[(0, 0), "d_c"], 133 / np.sqrt(2), rtol=1e-3)
    assert not f["error"].any()
    # d_label: the nearest input with the other true label, by brute force on a few points
    pairs, lab = D.all_pairs(), truth
    for x, y in [(0, 0), (50, 50), (100, 10), (30, 100)]:
        other = pairs[lab != lab[x * 113 + y]]
        np.testing.assert_allclose(f.loc[(x, y), "d_label"], np.sqrt(((other - [x, y]) ** 2).sum(1)).min())


def test_error_summary_separates_planted_errors():
    truth = D.label_grid().ravel()
    f0 = Dg.error_distances(truth)
    near = np.flatnonzero(f0["d_min"] < 0.5)[:40]
    pred = truth.copy()
    pred[near] ^= 1
    s = Dg.error_distance_summary(Dg.error_distances(pred)).set_index("group")
    assert s.loc["errors", "n"] == 40
    np.testing.assert_allclose(s.loc["errors", "frac_d_min_le_1"], 1.0)
    np.testing.assert_allclose(s.loc["all", "frac_d_min_le_1"], (f0["d_min"] <= 1).mean())


# --------------------------------------------------------------------------- 3. fixed attention
def test_fixed_attention_with_constant_pattern_changes_nothing():
    params = M.init_params(SMALL, jax.random.PRNGKey(3))
    params["W_Q"] = 0 * params["W_Q"]  # scores 0: uniform causal attention for every input
    run = Dg.run_grid(params)
    np.testing.assert_allclose(run.pattern[:, :, :], 1 / 3, atol=1e-6)
    fa = Dg.fixed_attention(params, run)
    np.testing.assert_allclose(fa.run.logit_diff, run.logit_diff, atol=1e-5)
    np.testing.assert_allclose(fa.table["agreement_full_model"], 1.0)


def test_fixed_attention_freezes_the_mean_pattern(small):
    params, run = small
    fa = Dg.fixed_attention(params, run)
    np.testing.assert_allclose(fa.mean_pattern, run.pattern.astype(np.float64).sum(0) / len(run.pattern), rtol=1e-12)
    np.testing.assert_allclose(fa.run.pattern, np.broadcast_to(fa.mean_pattern, run.pattern.shape), atol=1e-7)
    with pytest.raises(ValueError, match="mean_pattern"):
        Dg.fixed_pattern_hooks(params, np.ones((3, 3)))


# --------------------------------------------------------------------------- 4. AND search, probes
def test_best_thresholds_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 8, 60).astype(float), rng.integers(0, 8, 60).astype(float)
    y = rng.integers(0, 2, 60)
    ta, tb, agree = Dr.best_thresholds(a, b, y)
    cand = np.arange(-1, 8) + 0.5
    brute = max((((a > s) & (b > t)) == y).mean() for s, t in itertools.product(cand, cand))
    np.testing.assert_allclose(agree, brute)
    np.testing.assert_allclose((((a > ta) & (b > tb)) == y).mean(), agree)


def test_and_search_recovers_planted_directions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 10)) * np.linspace(2, 0.5, 10)[None, :]
    u = rng.normal(size=(2, 10))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    p = X @ u.T
    y = ((p[:, 0] > 0.4) & (p[:, 1] > -0.3)).astype(np.uint8)
    rule = Dr.fit_and_rule(X, y, jax.random.PRNGKey(0), n_components=10, restarts=4, steps=300)
    cos = np.abs(rule.directions @ u.T)
    np.testing.assert_allclose(np.sort(cos.max(1)), [1.0, 1.0], atol=0.02)
    np.testing.assert_allclose(rule.agreement, 1.0, atol=0.01)
    np.testing.assert_allclose((Dr.and_predict(rule, X) == y).mean(), rule.agreement)
    neg = Dr.fit_and_rule(X, 1 - y, jax.random.PRNGKey(1), n_components=10, restarts=4, steps=300,
                          polarity="both")
    assert not neg.positive
    np.testing.assert_allclose(neg.agreement, 1.0, atol=0.01)
    np.testing.assert_allclose((Dr.and_predict(neg, X) == 1 - y).mean(), neg.agreement)
    with pytest.raises(ValueError, match="labels"):
        Dr.fit_and_rule(X, y[:10], jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="polarity"):
        Dr.fit_and_rule(X, y, jax.random.PRNGKey(0), polarity="up")


def test_pca_matches_covariance_eigendecomposition():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))
    pc = Dr.pca(X)
    w, v = np.linalg.eigh(np.cov(X.T))
    np.testing.assert_allclose(pc.variance, w[::-1], rtol=1e-8)
    np.testing.assert_allclose(np.abs(pc.components @ v[:, ::-1]), np.eye(5), atol=1e-6)
    np.testing.assert_allclose(pc.explained.sum(), 1.0)


def test_linear_probe_reads_planted_classes_and_not_noise():
    rng = np.random.default_rng(3)
    cls = rng.integers(0, 20, 4000)
    X = rng.normal(size=(20, 12))[cls] + 0.1 * rng.normal(size=(4000, 12))
    tr, te = np.arange(2000), np.arange(2000, 4000)
    np.testing.assert_allclose(Dr.linear_probe(X, cls, tr, te, n_classes=20).test_accuracy, 1.0, atol=0.005)
    np.testing.assert_allclose(Dr.linear_probe(X, cls, tr, te, n_classes=20, whiten=False).test_accuracy, 1.0,
                               atol=0.005)
    noise = Dr.linear_probe(rng.normal(size=(4000, 12)), cls, tr, te, n_classes=20)
    np.testing.assert_allclose(noise.test_accuracy, 1 / 20, atol=0.025)


# --------------------------------------------------------------------------- 5. extended embeddings
def test_extended_embeddings_are_exact_under_fixed_attention(small):
    params, run = small
    fa = Dg.fixed_attention(params, run)
    ext = N.extended_embeddings(params, fa.mean_pattern)
    x, y = D.all_pairs().T
    np.testing.assert_allclose(ext.x[x] + ext.y[y] + ext.const[None, :], fa.run.resid_mid, atol=1e-5)
    pre = ext.neuron_x[x] + ext.neuron_y[y] + ext.neuron_const[None, :]
    np.testing.assert_allclose(np.maximum(pre, 0), fa.run.post, atol=1e-5)


# --------------------------------------------------------------------------- 6. neurons
def test_contributions_sum_to_logit_difference(small):
    params, run = small
    C = N.neuron_contributions(params, run.post)
    rest = N.direct_contribution(params, run.resid_mid)
    np.testing.assert_allclose(C.sum(1) + rest, run.logit_diff, atol=1e-4)


def test_subset_search_finds_planted_neurons():
    rng = np.random.default_rng(4)
    n, m = 3000, 60
    C = 0.05 * rng.normal(size=(n, m))
    planted = [7, 23, 41]
    C[:, planted] = rng.normal(size=(n, 3)) * [3.0, 2.0, 1.5]
    target = (C[:, planted].sum(1) > 0).astype(np.uint8)
    s = N.neuron_subset_search(C - C.mean(0), target, max_k=4)
    assert s.neurons[2] == planted
    t = s.table.set_index("k")
    assert (t["agreement_best_offset"] >= t["agreement"]).all()
    np.testing.assert_allclose(t.loc[3, "agreement"], ((C[:, planted].sum(1) > 0) == target).mean(), atol=0.01)
    assert t["agreement"].is_monotonic_increasing or np.all(np.diff(t["agreement"]) >= -1e-12)
    with pytest.raises(ValueError, match="max_k"):
        N.neuron_subset_search(C, target, max_k=0)


def test_best_cut_matches_brute_force():
    rng = np.random.default_rng(7)
    v = rng.integers(-5, 5, 80).astype(float)
    y = rng.random(80) < 0.4
    c = N._best_cut(v, y)
    brute = max(((v > t) == y).mean() for t in np.arange(-6, 6) + 0.5)
    np.testing.assert_allclose(((v > c) == y).mean(), brute)


def test_families_recover_planted_prototypes():
    rng = np.random.default_rng(5)
    protos = rng.normal(size=(3, 2000))
    fam = np.repeat([0, 1, 2], [10, 6, 4])
    C = (protos[fam] * rng.uniform(0.5, 2, size=(20, 1)) + 0.05 * rng.normal(size=(20, 2000))).T
    C = np.concatenate([C, np.zeros((2000, 2))], 1)  # two dead neurons
    f = N.neuron_families(C, n_families=3)
    assert list(f["family"][-2:]) == [-1, -1]
    got = f["family"].to_numpy()[:20]
    # same partition as the planted one (family numbers may differ)
    assert len({(a, b) for a, b in zip(fam, got)}) == 3 and len(set(got)) == 3


# --------------------------------------------------------------------------- 7. geometry
def test_geometry_table_on_hand_built_matrices():
    objs = {"orthonormal": np.eye(6)[:, :4], "antipodal": np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 2.0]])}
    t = N.geometry_table(objs).set_index("object")
    np.testing.assert_allclose(t.loc["orthonormal", ["frobenius", "mean_dimensionality", "max_abs_cosine"]],
                               [4.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(t.loc["antipodal", "frobenius"], 6.0)
    np.testing.assert_allclose(t.loc["antipodal", "mean_dimensionality"], (0.5 + 0.5 + 1) / 3)
    np.testing.assert_allclose(t.loc["orthonormal", "effective_rank"], 4.0)
    assert "orthonormal:random" in t.index and t.loc["orthonormal", "census"] == "4×dedicated"


# --------------------------------------------------------------------------- 8. resampling ablation
def test_resampling_keeps_groups():
    rng = np.random.default_rng(6)
    g = rng.integers(0, 4, 500)
    np.testing.assert_array_equal(g[Dg._resample_within(g, rng)], g)


def test_resampling_in_a_plane_that_is_the_whole_space():
    cfg = M.Config(d_model=2, n_heads=1, d_head=2, d_mlp=8)
    params = M.init_params(cfg, jax.random.PRNGKey(4))
    run = Dg.run_grid(params)
    np.testing.assert_allclose(Dg.logit_diff_from_resid_mid(params, run.resid_mid), run.logit_diff, atol=1e-5)
    rule = Dr.AndRule(np.eye(2), np.array([0.0, 0.0]), 1.0)
    t = Dg.resample_ablation(params, run.resid_mid, run.pred, rule, repeats=1).set_index("variant")
    # the plane is all of resid_mid: resampling "the other directions" changes nothing
    np.testing.assert_allclose(t.loc["others", "agreement"], 1.0)
    # a random other input's resid_mid agrees as often as a random other input's label
    rand = t.loc["random", "agreement"]
    q = run.pred.mean()
    np.testing.assert_allclose(rand, q**2 + (1 - q) ** 2, atol=0.02)
