"""Each SAE architecture's encode/decode against a float64 NumPy reference; TopK's and BatchTopK's counts;
JumpReLU's threshold gradient by its straight-through rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.sae import SaeConfig, SaeError, decode, get_arch, init_sae, sae_hparams
from tms.engine.sae.architectures import batchtopk_train_acts, jumprelu_loss, topk_mask
from tms.engine.sae.config import with_k_max
from tms.engine.sae.train import Context

D_IN, D_SAE = 6, 10


def _params(arch, seed=0):
    cfg = SaeConfig(arch, D_IN, D_SAE)
    p = init_sae(jax.random.PRNGKey(seed), cfg)
    rng = np.random.default_rng(seed)
    p = {k: jnp.asarray(rng.normal(size=v.shape) * 0.5, jnp.float32) for k, v in p.items()}
    return cfg, p


def _np(p):
    return {k: np.asarray(v, np.float64) for k, v in p.items()}


def _pre(q, h):
    return (h - q["b_dec"]) @ q["W_enc"] + q["b_enc"]


def reference(arch, q, h, k, bandwidth):
    pre = _pre(q, h)
    if arch == "relu":
        return np.maximum(pre, 0)
    if arch == "topk":
        keep = np.argsort(-pre, kind="stable")[:k]
        z = np.zeros_like(pre)
        z[keep] = np.maximum(pre[keep], 0)
        return z
    if arch == "batchtopk":
        return np.where(pre > q["threshold"], np.maximum(pre, 0), 0)
    if arch == "jumprelu":
        return np.where(pre > np.exp(q["log_threshold"]), pre, 0)
    gate = pre
    mag = (h - q["b_dec"]) @ (q["W_enc"] * np.exp(q["r_mag"])[None, :]) + q["b_mag"]
    return (gate > 0) * np.maximum(mag, 0)


@pytest.mark.parametrize("arch", ["relu", "topk", "batchtopk", "jumprelu", "gated"])
def test_encode_and_decode_match_numpy(arch):
    cfg, p = _params(arch)
    if arch == "jumprelu":
        p["log_threshold"] = jnp.log(jnp.full((D_SAE,), 0.3, jnp.float32))
    if arch == "batchtopk":
        p["threshold"] = jnp.asarray(0.2, jnp.float32)
    hp = jax.tree.map(lambda a: a[0], sae_hparams(cfg, penalty=0.1, k=3))
    H = np.random.default_rng(1).normal(size=(20, D_IN))
    Z = np.asarray(jax.vmap(get_arch(arch).encode, (None, 0, None, None))(p, jnp.asarray(H, jnp.float32), hp, cfg))
    Z_ref = np.stack([reference(arch, _np(p), h, 3, cfg.bandwidth) for h in H])
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-5, atol=1e-5)
    assert np.count_nonzero(Z_ref) > 0
    H_hat = np.asarray(jax.vmap(decode, (None, 0))(p, jnp.asarray(Z)))
    np.testing.assert_allclose(H_hat, Z_ref @ _np(p)["W_dec"] + _np(p)["b_dec"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [1, 4, D_SAE])
def test_topk_gives_exactly_k_active(k):
    cfg, p = _params("topk")
    p["b_enc"] = jnp.full((D_SAE,), 50.0)  # every pre-activation positive, so ReLU keeps all k selected
    hp = jax.tree.map(lambda a: a[0], sae_hparams(cfg, k=k))
    H = jnp.asarray(np.random.default_rng(2).normal(size=(30, D_IN)), jnp.float32)
    Z = np.asarray(jax.vmap(get_arch("topk").encode, (None, 0, None, None))(p, H, hp, cfg))
    np.testing.assert_array_equal((Z > 0).sum(axis=1), np.full(30, k))


def test_batchtopk_keeps_k_times_batch_over_the_batch():
    cfg, p = _params("batchtopk")
    p["b_enc"] = jnp.full((D_SAE,), 50.0)
    H = jnp.asarray(np.random.default_rng(3).normal(size=(16, D_IN)), jnp.float32)
    Z = np.asarray(batchtopk_train_acts(p, H, jnp.asarray(3)))
    assert (Z > 0).sum() == 3 * 16
    pre = np.stack([_pre(_np(p), h) for h in np.asarray(H, np.float64)])
    assert Z[Z > 0].min() >= np.sort(pre.ravel())[-48] - 1e-4  # the kept ones are the batch's largest


def test_jumprelu_threshold_gradient_is_the_straight_through_rule():
    """∂L/∂log θ_i = θ_i Σ_b [(1/B)(−2)(h_b − ĥ_b)·W_dec,i · (−θ_i/ε) K_bi + α (1/B)(−1/ε) K_bi],
    K_bi = 1 if |pre_bi − θ_i| < ε/2 (the rectangle kernel)."""
    cfg = SaeConfig("jumprelu", D_IN, D_SAE, bandwidth=0.6)
    _, p = _params("jumprelu")
    p["log_threshold"] = jnp.log(jnp.full((D_SAE,), 0.4, jnp.float32))
    alpha = 0.3
    hp = jax.tree.map(lambda a: a[0], sae_hparams(cfg, penalty=alpha))
    H = np.random.default_rng(4).normal(size=(25, D_IN))
    ctx = Context(dead=jnp.zeros(D_SAE, bool))
    grad = jax.grad(lambda q: jumprelu_loss(q, jnp.asarray(H, jnp.float32), hp, ctx, cfg)[0])(p)["log_threshold"]

    q, eps = _np(p), cfg.bandwidth
    theta = np.exp(q["log_threshold"])
    pre = np.stack([_pre(q, h) for h in H])
    Z = np.where(pre > theta, pre, 0)
    err = H - (Z @ q["W_dec"] + q["b_dec"])
    dz = (-2.0 / len(H)) * err @ q["W_dec"].T  # ∂mse/∂z: (B, d_sae)
    K = (np.abs((pre - theta) / eps) < 0.5).astype(float)
    d_theta = np.sum(dz * (-theta / eps) * K, axis=0) + alpha / len(H) * np.sum(-K / eps, axis=0)
    assert K.sum() > 5
    np.testing.assert_allclose(np.asarray(grad), theta * d_theta, rtol=1e-4, atol=1e-6)


def _batchtopk_reference(pre: np.ndarray, k: float) -> np.ndarray:
    """NumPy: ReLU(pre) on the round(k · batch) largest entries of the flattened batch (ties by flat index)."""
    flat = np.maximum(pre, 0).ravel()
    keep = np.zeros(flat.size, bool)
    keep[np.argsort(-flat, kind="stable")[: int(np.round(k * pre.shape[0]))]] = True
    return np.where(keep & (flat > 0), flat, 0).reshape(pre.shape)


@pytest.mark.parametrize("k", [0.25, 0.5, 0.75, 1.3, 3.0])
def test_batchtopk_fractional_k_keeps_round_k_batch_activations(k):
    cfg, p = _params("batchtopk")
    p["b_enc"] = jnp.full((D_SAE,), 50.0)  # every pre-activation positive: the count is exactly round(k · B)
    H = np.random.default_rng(5).normal(size=(16, D_IN))
    Z = np.asarray(batchtopk_train_acts(p, jnp.asarray(H, jnp.float32), jnp.float32(k)))
    ref = _batchtopk_reference(np.stack([_pre(_np(p), h) for h in H]), k)
    assert (Z > 0).sum() == (ref > 0).sum() == round(k * 16)
    np.testing.assert_allclose(Z, ref, rtol=1e-5, atol=1e-4)


def test_batchtopk_breaks_ties_by_index_and_keeps_only_positive_activations():
    cfg, p = _params("batchtopk")
    p["W_enc"] = jnp.zeros_like(p["W_enc"])  # every pre-activation equals its b_enc: ties across the batch
    p["b_enc"] = jnp.asarray([1.0, 1.0, -1.0] + [0.5] * (D_SAE - 3), jnp.float32)
    H = jnp.asarray(np.random.default_rng(6).normal(size=(8, D_IN)), jnp.float32)
    for k, count in [(0.75, 6), (2.0, 16), (D_SAE, 8 * (D_SAE - 1))]:
        Z = np.asarray(batchtopk_train_acts(p, H, jnp.float32(k)))
        ref = _batchtopk_reference(np.tile(np.asarray(p["b_enc"], np.float64), (8, 1)), k)
        assert (Z > 0).sum() == count  # round(k · 8) of the tied ones; at k = d_sae only the 9 positive latents
        np.testing.assert_array_equal(Z, ref)


def test_top_k_selections_bounded_by_k_max_equal_a_full_stable_sort():
    """TopK's mask and BatchTopK's training activations take their k from the static ``k_max`` largest
    (``lax.top_k``): the same set as NumPy's stable argsort of the whole row / batch, on rows with many ties,
    zeros of both signs and negative values, for every k up to k_max and for k_max = d_sae."""
    rng = np.random.default_rng(7)
    pre = np.round(rng.normal(size=(40, D_SAE)) * 2) / 4  # many ties
    pre[:, 3] = pre[:, 5]
    pre[::3, :4] = -0.0
    pre[1::3, 4:8] = 0.0
    for k_max in (4, D_SAE):
        for k in range(1, k_max + 1):
            select = jax.vmap(lambda r, k=k, k_max=k_max: topk_mask(r, jnp.int32(k), k_max))
            ours = np.asarray(select(jnp.asarray(pre, jnp.float32)))
            rank = np.argsort(np.argsort(-(pre + 0.0), kind="stable"), kind="stable")  # + 0.0: −0 read as 0
            np.testing.assert_array_equal(ours, rank < k)
    _, p = _params("batchtopk")
    p["W_enc"] = jnp.zeros_like(p["W_enc"])
    H = jnp.asarray(rng.normal(size=(8, D_IN)), jnp.float32)
    p["b_enc"] = jnp.asarray([1.0, 1.0, -1.0, 0.0, -0.0] + [0.5] * (D_SAE - 5), jnp.float32)
    for k_max in (1.0, 2.0, float(D_SAE)):
        for k in (0.25, 0.5, 1.0, 2.0, float(D_SAE)):
            if k <= k_max:
                Z = np.asarray(batchtopk_train_acts(p, H, jnp.float32(k), k_max))
                ref = _batchtopk_reference(np.tile(np.asarray(p["b_enc"], np.float64), (8, 1)), k)
                np.testing.assert_array_equal(Z, ref)


def test_training_bounds_k_by_the_largest_k_and_leaves_it_out_of_the_settings():
    cfg = SaeConfig("topk", D_IN, D_SAE)
    assert with_k_max(cfg, sae_hparams(cfg, k=[1, 3, 2])).k_max == 3 and cfg.k_bound == D_SAE
    bcfg = SaeConfig("batchtopk", D_IN, D_SAE)
    assert with_k_max(bcfg, sae_hparams(bcfg, k=[0.25, 1.5])).k_max == 2  # rounded up
    rcfg = SaeConfig("relu", D_IN, D_SAE)
    assert with_k_max(rcfg, sae_hparams(rcfg, penalty=[0.1])) is rcfg
    assert "k_max" not in with_k_max(cfg, sae_hparams(cfg, k=[2])).to_dict()  # no result depends on it
    with pytest.raises(SaeError, match=r"sae.k_max must be an integer in \[1, 10\]"):
        SaeConfig("topk", D_IN, D_SAE, k_max=D_SAE + 1)


def test_k_checks_name_the_field_and_range():
    topk, btk = SaeConfig("topk", D_IN, D_SAE), SaeConfig("batchtopk", D_IN, D_SAE, batch=64)
    np.testing.assert_array_equal(np.asarray(sae_hparams(btk, k=[0.25, 0.5, 4.0]).k), [0.25, 0.5, 4.0])
    assert np.asarray(sae_hparams(topk, k=[2.0, 3]).k).tolist() == [2.0, 3.0]
    with pytest.raises(SaeError, match=r"sae.k must be an integer in \[1, 10\]; got 0.5"):
        sae_hparams(topk, k=0.5)
    for bad in (0.0, -1.0, 10.5):
        with pytest.raises(SaeError, match=r"sae.k must be a number in \(0, 10\]"):
            sae_hparams(btk, k=bad)
    with pytest.raises(SaeError, match=r"round\(k · batch\) = round\(0.005 · 64\) = 0"):
        sae_hparams(btk, k=0.005)
