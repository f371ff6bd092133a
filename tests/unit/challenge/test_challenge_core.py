"""Challenge #2 core: labelling rule, split, reference data, and the transformer forward pass."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import model as M

# --------------------------------------------------------------------------- data


def test_label_counts_and_shapes():
    grid = D.label_grid()
    assert grid.shape == (113, 113) and grid.dtype == np.uint8
    assert int(grid.sum()) == 5465
    assert set(np.unique(grid)) == {0, 1}


def test_labels_match_reference_file():
    ref = D.load_reference()
    if ref is None:
        pytest.skip("challenge2_labels.npz not present")
    np.testing.assert_array_equal(D.label_grid(), ref["labels"])
    # The file's own statements about the original model (README / issue 5).
    agree = (ref["model_labels"] == ref["labels"]).ravel()
    tr, te = D.split()
    np.testing.assert_allclose(agree.mean(), 0.9864, atol=5e-5)
    np.testing.assert_allclose(agree[tr].mean(), 0.9970, atol=5e-5)
    np.testing.assert_allclose(agree[te].mean(), 0.9757, atol=5e-5)


def test_label_rule_by_hand():
    # Direct float evaluation of the rule on a few points, written independently.
    sets = {0: {45, 46}, 1: {0, 41}, 3: {2, 5}, 5: {2, 3}, 7: {3, 4}}
    for x, y in [(0, 0), (0, 112), (45, 0), (46, 1), (41, 10), (2, 5), (3, 100), (4, 112), (112, 112), (20, 20)]:
        a = x**2 < 200 * np.sqrt(y)
        b = y**2 < 600 * np.sqrt(x)
        c = x + y < 133
        r = 4 * a + 2 * b + c
        expected = int(x in D.REGION_SETS[r])
        assert D.label_fn(np.array([x]), np.array([y]))[0] == expected, (x, y, r)
        if r in sets and x in sets[r]:
            assert expected == 1
    # the exact integer form agrees with the float inequalities on the whole grid
    x, y = np.meshgrid(np.arange(113.0), np.arange(113.0), indexing="ij")
    r = 4 * (x**2 < 200 * np.sqrt(y)) + 2 * (y**2 < 600 * np.sqrt(x)) + (x + y < 133)
    np.testing.assert_array_equal(D.regions(x.astype(int), y.astype(int)), r)


def test_pairs_tokens_split():
    pairs = D.all_pairs()
    assert pairs.shape == (12769, 2)
    np.testing.assert_array_equal(pairs[114], [1, 1])
    toks = D.tokens(pairs[:3])
    np.testing.assert_array_equal(toks, [[0, 0, 113], [0, 1, 113], [0, 2, 113]])
    assert toks.dtype == np.int32
    tr, te = D.split()
    assert len(tr) == 6384 and len(te) == 6385
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(12769))
    # the challenge's own recipe, verbatim, with the global random module
    state = random.getstate()
    try:
        ref = [(x, y) for x in range(113) for y in range(113)]
        random.seed(0)
        random.shuffle(ref)
    finally:
        random.setstate(state)
    np.testing.assert_array_equal(pairs[tr], np.array(ref[:6384]))
    np.testing.assert_array_equal(pairs[te], np.array(ref[6384:]))
    train, test = D.datasets()
    assert train.tokens.shape == (6384, 3) and test.labels.shape == (6385,)


def test_bad_inputs():
    with pytest.raises(ValueError, match="x must lie in 0..112"):
        D.label_fn(np.array([113]), np.array([0]))
    with pytest.raises(ValueError, match="pairs"):
        D.tokens(np.zeros((3, 3), int))


def test_boundaries_and_distance():
    a, b, c = D.boundaries()
    np.testing.assert_allclose(a.x**2, 200 * np.sqrt(a.y), rtol=1e-9)
    np.testing.assert_allclose(b.y**2, 600 * np.sqrt(b.x), rtol=1e-9)
    np.testing.assert_allclose(c.x + c.y, 133)
    d = D.boundary_distance(np.array([[100, 100], [0, 0]]))
    np.testing.assert_allclose(d[0, 2], 67 / np.sqrt(2), atol=0.05)  # distance to x + y = 133
    np.testing.assert_allclose(d[1], [0, 0, 133 / np.sqrt(2)], atol=0.05)


# --------------------------------------------------------------------------- model


def numpy_forward(p, tokens):
    """Independent float64 reference: loops over heads, explicit softmax and mask."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    b, n = tokens.shape
    n_heads, _, d_head = p["W_Q"].shape
    x = p["W_E"][tokens] + p["W_pos"][:n][None]
    attn = np.zeros_like(x)
    patterns = []
    for h in range(n_heads):
        q = x @ p["W_Q"][h]
        k = x @ p["W_K"][h]
        v = x @ p["W_V"][h]
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d_head)  # (b, q, k)
        s = np.where(np.tril(np.ones((n, n))) > 0, s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = s / s.sum(-1, keepdims=True)
        patterns.append(a)
        attn += (a @ v) @ p["W_O"][h]
    mid = x + attn
    post = np.maximum(mid @ p["W_in"] + p["b_in"], 0)
    out = mid + post @ p["W_out"] + p["b_out"]
    return out @ p["W_U"], np.stack(patterns, 1), mid, post


def small_cfg():
    return M.Config(d_model=16, n_heads=4, d_head=4, d_mlp=32, d_vocab=114, n_ctx=3)


@pytest.fixture(scope="module")
def rand_params():
    cfg = small_cfg()
    p = M.init_params(cfg, jax.random.key(1))
    # non-zero biases so they are exercised
    p["b_in"] = 0.3 * jax.random.normal(jax.random.key(2), p["b_in"].shape)
    p["b_out"] = 0.3 * jax.random.normal(jax.random.key(3), p["b_out"].shape)
    return p


def test_forward_matches_numpy(rand_params):
    toks = np.random.default_rng(0).integers(0, 114, size=(64, 3))
    logits, cache = M.forward(rand_params, toks)
    ref_logits, ref_pat, ref_mid, ref_post = numpy_forward(rand_params, toks)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cache["blocks.0.attn.hook_pattern"], ref_pat, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cache["blocks.0.hook_resid_mid"], ref_mid, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cache["blocks.0.mlp.hook_post"], ref_post, rtol=1e-4, atol=1e-4)
    assert set(cache) == set(M.HOOK_NAMES)
    assert cache["blocks.0.attn.hook_q"].shape == (64, 3, 4, 4)
    assert cache["blocks.0.attn.hook_attn_scores"].shape == (64, 4, 3, 3)
    np.testing.assert_allclose(
        M.forward_last(rand_params, jnp.asarray(toks)), ref_logits[:, -1], rtol=1e-4, atol=1e-4
    )


def test_default_config_shapes():
    cfg = M.Config()
    p = M.init_params(cfg, jax.random.key(0))
    assert {k: v.shape for k, v in p.items()} == cfg.shapes()
    assert cfg.shapes()["W_O"] == (8, 16, 128) and cfg.shapes()["W_E"] == (114, 128)
    assert M.Config.from_params(p) == cfg
    toks = D.tokens(D.all_pairs()[:5])
    assert M.forward(p, toks)[0].shape == (5, 3, 114)
    assert M.predict(p, toks).shape == (5,)


def test_causal_masking(rand_params):
    rng = np.random.default_rng(1)
    toks = rng.integers(0, 114, size=(16, 3))
    changed = toks.copy()
    changed[:, 2] = (changed[:, 2] + 1 + rng.integers(0, 100, size=16)) % 114
    a, ca = M.forward(rand_params, toks)
    b, cb = M.forward(rand_params, changed)
    np.testing.assert_allclose(a[:, :2], b[:, :2], rtol=1e-6, atol=1e-6)
    assert np.abs(np.asarray(a[:, 2] - b[:, 2])).max() > 1e-3
    pat = np.asarray(ca["blocks.0.attn.hook_pattern"])
    np.testing.assert_allclose(np.triu(pat, 1), 0.0, atol=0)


def test_hooks(rand_params):
    toks = np.random.default_rng(2).integers(0, 114, size=(32, 3))
    logits, cache = M.forward(rand_params, toks)
    p = {k: np.asarray(v, np.float64) for k, v in rand_params.items()}

    # zero-ablating neurons == removing their rows of W_out
    neurons = [0, 5, 7]
    abl_logits, abl_cache = M.forward(rand_params, toks, hooks=[M.ablate_neurons_hook(neurons)])
    q = dict(p)
    q["W_out"] = p["W_out"].copy()
    q["W_out"][neurons] = 0
    np.testing.assert_allclose(abl_logits, numpy_forward(q, toks)[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(abl_cache["blocks.0.mlp.hook_post"])[..., neurons], 0)

    # mean ablation with explicit values, via the dict form
    vals = np.full(3, 0.5, np.float32)
    l2, c2 = M.forward(rand_params, toks, hooks={"blocks.0.mlp.hook_post": M.ablate_neurons_hook(neurons, vals)})
    np.testing.assert_allclose(np.asarray(c2["blocks.0.mlp.hook_post"])[..., neurons], 0.5)
    delta = 0.5 * p["W_out"][neurons].sum(0) - np.einsum("bpk,kd->bpd", np.asarray(cache["blocks.0.mlp.hook_post"])[..., neurons], p["W_out"][neurons])
    np.testing.assert_allclose(l2, np.asarray(logits) + delta @ p["W_U"], rtol=1e-4, atol=1e-4)

    # zero-ablating all heads == no attention contribution
    l3, c3 = M.forward(rand_params, toks, hooks=[M.ablate_heads_hook(range(4))])
    np.testing.assert_allclose(c3["blocks.0.hook_attn_out"], 0, atol=0)
    np.testing.assert_allclose(c3["blocks.0.hook_resid_mid"], c3["blocks.0.hook_resid_pre"], atol=0)

    # fixed pattern equal to the model's own on a single input reproduces it
    own = np.asarray(cache["blocks.0.attn.hook_pattern"])[3]
    l4, _ = M.forward(rand_params, toks[3:4], hooks=[M.fixed_pattern_hook(own)])
    np.testing.assert_allclose(l4, logits[3:4], rtol=1e-5, atol=1e-5)
    # fixing only the last query row leaves earlier positions alone
    mean_pat = np.asarray(cache["blocks.0.attn.hook_pattern"]).mean(0)
    l5, c5 = M.forward(rand_params, toks, hooks=[M.fixed_pattern_hook(mean_pat, query_positions=[2])])
    np.testing.assert_allclose(l5[:, :2], logits[:, :2], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(c5["blocks.0.attn.hook_pattern"])[:, :, 2], np.broadcast_to(mean_pat[None, :, 2], (32, 4, 3)), atol=1e-7)

    # replace_hook on resid_mid with the cached value changes nothing
    l6, _ = M.forward(rand_params, toks, hooks={"blocks.0.hook_resid_mid": M.replace_hook(cache["blocks.0.hook_resid_mid"])})
    np.testing.assert_allclose(l6, logits, rtol=1e-6, atol=1e-6)


def test_model_bad_input(rand_params):
    with pytest.raises(ValueError, match="tokens must lie in 0..113"):
        M.forward(rand_params, np.array([[0, 1, 114]]))
    with pytest.raises(ValueError, match="tokens must lie"):
        M.forward(rand_params, np.array([[-1, 1, 113]]))
    with pytest.raises(ValueError, match="shape"):
        M.forward(rand_params, np.array([[0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="unknown hook name"):
        M.forward(rand_params, np.array([[0, 1, 113]]), hooks={"blocks.0.hook_nope": lambda a: a})
    with pytest.raises(ValueError, match="d_mlp"):
        M.Config(d_mlp=0)
    bad = dict(rand_params)
    bad["W_in"] = bad["W_in"][:, :5]
    with pytest.raises(ValueError, match="W_in"):
        M.check_params(bad, small_cfg())
