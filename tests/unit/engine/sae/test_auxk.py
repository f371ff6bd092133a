"""Gao et al.'s AuxK loss against a float64 NumPy reference, on each of its three exact routes (no dead latent
in the call, every dead latent within the aux_k largest, more dead latents than aux_k), and a training call in
which the SAEs share the call's largest dead count equal to the same SAEs trained without sharing it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.sae import SaeConfig, init_sae, make_sae_train, sae_hparams, train
from tms.engine.sae.architectures import auxk_loss
from tms.engine.sae.train import SAE_AXIS
from tms.experiments.sae import synthetic_source

D_IN, D_SAE, AUX_K, B = 6, 12, 4, 30


def _setup(seed=0):
    cfg = SaeConfig("topk", D_IN, D_SAE, aux_k=AUX_K)
    rng = np.random.default_rng(seed)
    p = {k: jnp.asarray(rng.normal(size=v.shape) * 0.5, jnp.float32)
         for k, v in init_sae(jax.random.PRNGKey(seed), cfg).items()}
    H = jnp.asarray(rng.normal(size=(B, D_IN)), jnp.float32)
    Z = jnp.asarray(np.maximum(rng.normal(size=(B, D_SAE)), 0) * (rng.random((B, D_SAE)) < 0.3), jnp.float32)
    return cfg, p, H, Z


def reference(p, H, Z, dead, aux_k):
    """float64: e = h − ĥ; ê = Σ over the aux_k largest pre-activations among dead latents (ties by index) of
    ReLU(pre) · W_dec row; loss = min(n_dead / aux_k, 1) · mean_b ‖e − ê‖²."""
    q = {k: np.asarray(v, np.float64) for k, v in p.items()}
    H, Z = np.asarray(H, np.float64), np.asarray(Z, np.float64)
    err = H - (Z @ q["W_dec"] + q["b_dec"])
    pre = (H - q["b_dec"]) @ q["W_enc"] + q["b_enc"]
    err_hat = np.zeros_like(err)
    for b in range(len(H)):
        cand = [i for i in np.argsort(-pre[b], kind="stable") if dead[i]][:aux_k]
        for i in cand:
            err_hat[b] += max(pre[b, i], 0.0) * q["W_dec"][i]
    return min(dead.sum() / aux_k, 1.0) * np.mean(np.sum((err - err_hat) ** 2, axis=1))


@pytest.mark.parametrize("n_dead", [0, 1, 3, AUX_K, AUX_K + 1, 9, D_SAE])
def test_auxk_matches_numpy_on_every_route(n_dead):
    cfg, p, H, Z = _setup()
    dead = np.zeros(D_SAE, bool)
    dead[np.random.default_rng(n_dead).permutation(D_SAE)[:n_dead]] = True
    want = reference(p, H, Z, dead, AUX_K)
    routes = {"ranked (no call-wide count)": None, "own count": n_dead,
              "a call whose largest count is above aux_k": D_SAE}
    for name, most in routes.items():
        if most is not None and most < n_dead:
            continue
        got = float(auxk_loss(p, H, Z, jnp.asarray(dead), cfg, None if most is None else jnp.asarray(most)))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7, err_msg=name)
    if n_dead == 0:
        assert want == 0.0


@pytest.mark.parametrize("n_dead", [0, 2, AUX_K, 9])
def test_auxk_gradient_is_the_same_on_every_route(n_dead):
    """The cheap routes give the ranked route's gradient (the same activations times the same decoder)."""
    cfg, p, H, Z = _setup(1)
    dead = jnp.asarray(np.arange(D_SAE) < n_dead)
    grad = lambda most: jax.grad(lambda q: auxk_loss(q, H, Z, dead, cfg, most))(p)
    ranked = grad(None)
    for most in {n_dead, AUX_K, D_SAE} - ({AUX_K} if n_dead > AUX_K else set()):
        if most < n_dead:
            continue
        for name in p:
            np.testing.assert_allclose(grad(jnp.asarray(most))[name], ranked[name], rtol=1e-5, atol=1e-7,
                                       err_msg=f"{name}, most_dead={most}")
    if n_dead:  # and it is not trivially zero: a float64 finite difference of the reference along W_enc
        v = np.random.default_rng(2).normal(size=p["W_enc"].shape)
        eps = 1e-4
        f = lambda s: reference({**p, "W_enc": np.asarray(p["W_enc"], np.float64) + s * v}, H, Z,
                                np.asarray(dead), AUX_K)
        fd = (f(eps) - f(-eps)) / (2 * eps)
        assert abs(fd) > 1e-3
        np.testing.assert_allclose(float(jnp.sum(ranked["W_enc"] * v)), fd, rtol=2e-3, atol=1e-6)


def test_a_call_sharing_its_largest_dead_count_trains_the_same_saes(monkeypatch):
    """`compiled_train` maps the SAEs over a named axis and (from d_in · d_sae = ``AUXK_ROUTES_MIN``) each step
    shares the call's largest dead count (AuxK
    then skips or simplifies its work for every SAE at once); the same SAEs mapped without it (AuxK's reference
    route: the dead latents ranked with ``lax.top_k`` at every step) train to the same weights, up to float32 rounding (XLA fuses the
    two programs differently; over 300 Adam steps weights of size ~0.5 moved apart by up to 1.3e-4). Skipping
    AuxK where latents are dead moves the dead latents' weights by far more (they get no other gradient)."""
    source = synthetic_source(16, 8, 2.0)
    cfg = SaeConfig("topk", 8, 32, batch=32, steps=300, dead_window=20)  # 32 latents, k <= 2: many die
    hp = sae_hparams(cfg, k=[1, 2, 2], lr=[3e-3])
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray([0, 1, 2], jnp.uint32))
    cfg_k = SaeConfig(**{**cfg.to_dict(), "k_max": 2})
    monkeypatch.setattr(train, "AUXK_ROUTES_MIN", 0)  # the routes at any size (shipped: from d_in · d_sae = 32768)
    shared = jax.jit(jax.vmap(make_sae_train(cfg_k, source, SAE_AXIS), in_axes=(0, 0, None), axis_name=SAE_AXIS))(
        hp, keys, jax.random.PRNGKey(0))
    alone = jax.jit(jax.vmap(make_sae_train(cfg_k, source), in_axes=(0, 0, None)))(hp, keys, jax.random.PRNGKey(0))
    dead = np.asarray(shared[1][:, :, 3])
    assert dead.max() > cfg.aux_k_used and (dead == 0).any() and ((dead > 0) & (dead <= cfg.aux_k_used)).any()
    for name in shared[0]:
        np.testing.assert_allclose(shared[0][name], alone[0][name], rtol=1e-3, atol=1e-3, err_msg=name)
    np.testing.assert_allclose(shared[1], alone[1], rtol=1e-3, atol=1e-3)
    assert SAE_AXIS == "sae"
