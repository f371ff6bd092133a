"""The challenge transformer's forward pass against an independent float64 NumPy reference; hooks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import model as M


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
