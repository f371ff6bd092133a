"""SAE architectures, registered by name: each is a few lines of pure JAX written for one SAE.

Axis names: ``d_in`` (width of the activations the SAE reads), ``d_sae`` (dictionary size, latents),
``batch`` (examples in one step). Parameters are a dict pytree with SAELens's names and shapes:
``W_enc: (d_in, d_sae)``, ``b_enc: (d_sae,)``, ``W_dec: (d_sae, d_in)``, ``b_dec: (d_in,)``, plus each
architecture's own (``log_threshold``, ``threshold``, ``r_mag``, ``b_mag``).

Every architecture reads ``h`` through the decoder bias, ``pre = (h − b_dec) W_enc + b_enc``, and decodes
``ĥ = z W_dec + b_dec``. The reconstruction error is ``Σ_d (h − ĥ)²`` averaged over the batch.

========== ================================================================ =======================
name       latents z and training loss                                      sparsity knob
========== ================================================================ =======================
relu       z = ReLU(pre); mse + α Σ_i z_i w_i, w_i = 1 (decoder rows kept   ``penalty`` α
           unit norm, the default) or ‖W_dec,i‖ (``decoder="weighted"``)
topk       z = ReLU(pre) on the k largest pre-activations (ties broken by   ``k``
           index, so exactly k are selected); mse + ``aux_coef`` · AuxK
batchtopk  training: the round(k·batch) largest ReLU(pre) over the batch   ``k`` (> 0,
           (k an average per example, fractional allowed);                  may be fractional)
           inference: ReLU(pre) where pre > a global threshold θ, an EMA of
           the smallest selected activation; mse + ``aux_coef`` · AuxK
jumprelu   z = pre · H(pre − θ), θ = exp(log_threshold); mse + α Σ_i H(·);  ``penalty`` α
           the step's gradient is the straight-through rectangle estimator
gated      z = H(π_gate) ReLU(π_mag), π_gate = pre, π_mag = (h − b_dec)     ``penalty`` α
           (W_enc ⊙ exp(r_mag)) + b_mag; mse + α Σ_i ReLU(π_gate)_i ‖W_dec,i‖
           + the frozen-decoder reconstruction of ReLU(π_gate)
========== ================================================================ =======================

References: ReLU+L1 as in Sharkey, Braun & Millidge (2022) and Bricken et al. (2023); TopK and AuxK from
Gao et al. (2024) (AuxK: the residual e = h − ĥ reconstructed by the ``aux_k`` largest dead latents,
scaled by min(dead / aux_k, 1) as SAELens does); BatchTopK from Bussmann et al. (2024); JumpReLU from
Rajamanoharan et al. (2024b); Gated from Rajamanoharan et al. (2024a).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .registry import ExtraParam, SaeArch, Stats, decode, pre_acts, reconstruction, register

# ------------------------------------------------------------------------------------------- relu + L1


def relu_encode(p, h, hp, cfg):
    """``z = ReLU(pre)`` for one example ``h: (d_in,)`` -> ``(d_sae,)``."""
    return jax.nn.relu(pre_acts(p, h))


def relu_loss(p, H, hp, ctx, cfg):
    Z = jax.vmap(relu_encode, (None, 0, None, None))(p, H, hp, cfg)
    mse = reconstruction(p, H, Z)
    w = decoder_norms(p) if cfg.decoder == "weighted" else jnp.ones_like(p["b_enc"])
    penalty = hp.penalty * jnp.mean(Z @ w)
    return mse + penalty, Stats.of(mse, Z)


def decoder_norms(p) -> jax.Array:
    """``‖W_dec,i‖: (d_sae,)``."""
    return jnp.sqrt(jnp.sum(p["W_dec"] ** 2, axis=1))


# ------------------------------------------------------------------------------------------------ top k


def topk_mask(pre: jax.Array, k: jax.Array, k_max: int | None = None) -> jax.Array:
    """True on the ``k`` largest entries of ``pre: (d_sae,)`` (ties broken by index: exactly ``k``); ``k`` traced,
    at most the static ``k_max`` (default ``d_sae``). The ``k_max`` largest come from ``lax.top_k``, which orders
    equal values by index on CPU, as a stable sort; −0 is read as 0, as a sort does. On a 2-core CPU this is 26×
    faster than ranking by two stable argsorts at d_sae = 128 (``k_max`` = 8)."""
    k_max = pre.shape[-1] if k_max is None else k_max
    _, idx = jax.lax.top_k(jnp.where(pre == 0, 0.0, pre), k_max)
    return jnp.zeros(pre.shape, bool).at[idx].set(jnp.arange(k_max) < k)


def topk_encode(p, h, hp, cfg):
    pre = pre_acts(p, h)
    return jnp.where(topk_mask(pre, hp.k, cfg.k_bound), jax.nn.relu(pre), 0.0)


def auxk_loss(p, H, Z, dead, cfg, most_dead=None) -> jax.Array:
    """Gao et al.'s AuxK: ‖e − ê‖² (batch mean), e = h − ĥ (no gradient), ê from the ``aux_k`` largest dead
    latents, scaled by min(dead / aux_k, 1).

    ``most_dead`` (optional, not batched): the largest number of dead latents of any SAE trained in the same call.
    Where it is given, the loss takes the cheapest exact route: 0 when no SAE has a dead latent; when none has more
    than ``aux_k``, every dead latent is among the ``aux_k`` largest, so ê is the dead latents' activations times
    the decoder, with no ranking; otherwise ``lax.top_k``. ê is always a dense ``activations @ W_dec`` (gathering
    the ``aux_k`` decoder rows per example instead made a TopK step at d_in = 256, d_sae = 512 about 3× slower;
    ``python -m tms.bench.sae_auxk``, docs/sae.md)."""
    aux_k = cfg.aux_k_used
    scale = jnp.minimum(jnp.sum(dead) / aux_k, 1.0)

    def loss(act):
        err = jax.lax.stop_gradient(H - jax.vmap(decode, (None, 0))(p, Z))
        return scale * jnp.mean(jnp.sum((err - act @ p["W_dec"]) ** 2, axis=-1))

    def ranked():
        pre = jax.vmap(pre_acts, (None, 0))(p, H)
        vals, idx = jax.lax.top_k(jnp.where(dead[None, :], pre, -jnp.inf), aux_k)
        vals = jnp.where(jnp.isfinite(vals), jax.nn.relu(vals), 0.0)
        return loss(jnp.zeros(pre.shape, pre.dtype).at[jnp.arange(pre.shape[0])[:, None], idx].set(vals))

    def all_dead():
        return loss(jnp.where(dead[None, :], jax.nn.relu(jax.vmap(pre_acts, (None, 0))(p, H)), 0.0))

    if most_dead is None:
        return ranked()
    zero = jnp.zeros((), H.dtype)
    return jax.lax.cond(most_dead == 0, lambda: zero,
                        lambda: jax.lax.cond(most_dead <= aux_k, all_dead, ranked))


def topk_loss(p, H, hp, ctx, cfg):
    Z = jax.vmap(topk_encode, (None, 0, None, None))(p, H, hp, cfg)
    mse = reconstruction(p, H, Z)
    return mse + cfg.aux_coef * auxk_loss(p, H, Z, ctx.dead, cfg, ctx.most_dead), Stats.of(mse, Z)


# ------------------------------------------------------------------------------------------- batch top k


def batchtopk_encode(p, h, hp, cfg):
    """Inference: ``ReLU(pre)`` where ``pre > threshold`` (the threshold learned in training)."""
    pre = pre_acts(p, h)
    return jnp.where(pre > p["threshold"], jax.nn.relu(pre), 0.0)


def batchtopk_count(k: jax.Array, batch: int) -> jax.Array:
    """Activations BatchTopK keeps per batch: ``round(k · batch)`` (k may be fractional, an average per example)."""
    return jnp.round(k * batch).astype(jnp.int32)


def batchtopk_train_acts(p, H, k, k_max: float | None = None) -> jax.Array:
    """The ``round(k · batch)`` largest entries of ``ReLU(pre): (batch, d_sae)`` over the whole batch (ties broken
    by flat index, so exactly that many unless fewer are positive), others 0; ``k`` traced, fractional allowed,
    at most the static ``k_max`` (default ``d_sae``): the candidates are the ``round(k_max · batch)`` largest
    (``lax.top_k``, equal values in index order on CPU, as a stable sort)."""
    acts = jax.nn.relu(jax.vmap(pre_acts, (None, 0))(p, H))
    flat = acts.reshape(-1)
    bound = flat.size if k_max is None else min(round(k_max * H.shape[0]), flat.size)
    _, idx = jax.lax.top_k(jnp.where(flat == 0, 0.0, flat), bound)
    keep = jnp.zeros(flat.shape, bool).at[idx].set(jnp.arange(bound) < batchtopk_count(k, H.shape[0]))
    return jnp.where(keep.reshape(acts.shape) & (acts > 0), acts, 0.0)


def batchtopk_loss(p, H, hp, ctx, cfg):
    Z = batchtopk_train_acts(p, H, hp.k, cfg.k_bound)
    mse = reconstruction(p, H, Z)
    return mse + cfg.aux_coef * auxk_loss(p, H, Z, ctx.dead, cfg, ctx.most_dead), Stats.of(mse, Z)


def batchtopk_after_step(p, stats, cfg):
    """θ ← (1 − r) θ + r · (smallest positive selected activation), r = ``threshold_lr`` (as SAELens)."""
    new = jnp.where(stats.min_active < jnp.inf, stats.min_active, p["threshold"])
    return {**p, "threshold": (1.0 - cfg.threshold_lr) * p["threshold"] + cfg.threshold_lr * new}


# -------------------------------------------------------------------------------------------- jump relu


def rectangle(u: jax.Array) -> jax.Array:
    """The rectangle kernel K(u) = 1 on (−1/2, 1/2), else 0."""
    return ((u > -0.5) & (u < 0.5)).astype(u.dtype)


def _step_fwd(x, theta, eps):
    return step(x, theta, eps), (x, theta)


def _step_bwd(eps, res, g):
    x, theta = res
    return jnp.zeros_like(x), -(1.0 / eps) * rectangle((x - theta) / eps) * g


def _jumprelu_fwd(x, theta, eps):
    return jumprelu(x, theta, eps), (x, theta)


def _jumprelu_bwd(eps, res, g):
    x, theta = res
    return (x > theta) * g, -(theta / eps) * rectangle((x - theta) / eps) * g


def _with_ste(fwd_value: Callable, fwd, bwd):
    f = jax.custom_vjp(fwd_value, nondiff_argnums=(2,))
    f.defvjp(fwd, bwd)
    return f


step = _with_ste(lambda x, theta, eps: (x > theta).astype(x.dtype), _step_fwd, _step_bwd)
step.__doc__ = """H(x − θ); straight-through gradients: ∂/∂x = 0, ∂/∂θ = −(1/ε) K((x − θ)/ε)."""
jumprelu = _with_ste(lambda x, theta, eps: x * (x > theta).astype(x.dtype), _jumprelu_fwd, _jumprelu_bwd)
jumprelu.__doc__ = """x · H(x − θ); gradients: ∂/∂x = H(x − θ), ∂/∂θ = −(θ/ε) K((x − θ)/ε)."""


def jumprelu_encode(p, h, hp, cfg):
    return jumprelu(pre_acts(p, h), jnp.exp(p["log_threshold"]), cfg.bandwidth)


def jumprelu_loss(p, H, hp, ctx, cfg):
    theta = jnp.exp(p["log_threshold"])
    pre = jax.vmap(pre_acts, (None, 0))(p, H)
    Z = jax.vmap(jumprelu, (0, None, None))(pre, theta, cfg.bandwidth)
    l0 = jnp.mean(jnp.sum(jax.vmap(step, (0, None, None))(pre, theta, cfg.bandwidth), axis=-1))
    mse = reconstruction(p, H, Z)
    return mse + hp.penalty * l0, Stats.of(mse, Z)


# ------------------------------------------------------------------------------------------------ gated


def gated_parts(p, h):
    """``(π_gate, π_mag)`` for one example, each ``(d_sae,)``."""
    x = h - p["b_dec"]
    return x @ p["W_enc"] + p["b_enc"], x @ (p["W_enc"] * jnp.exp(p["r_mag"])[None, :]) + p["b_mag"]


def gated_encode(p, h, hp, cfg):
    gate, mag = gated_parts(p, h)
    return (gate > 0).astype(mag.dtype) * jax.nn.relu(mag)


def gated_loss(p, H, hp, ctx, cfg):
    gate, mag = jax.vmap(gated_parts, (None, 0))(p, H)
    Z = (gate > 0).astype(mag.dtype) * jax.nn.relu(mag)
    mse = reconstruction(p, H, Z)
    frozen = {**p, "W_dec": jax.lax.stop_gradient(p["W_dec"]), "b_dec": jax.lax.stop_gradient(p["b_dec"])}
    aux = reconstruction(frozen, H, jax.nn.relu(gate))
    penalty = hp.penalty * jnp.mean(jax.nn.relu(gate) @ decoder_norms(p))
    return mse + penalty + aux, Stats.of(mse, Z)


register(SaeArch("relu", "penalty", relu_encode, relu_loss, saelens="standard"))
register(SaeArch("topk", "k", topk_encode, topk_loss, saelens="topk"))
register(SaeArch("batchtopk", "k", batchtopk_encode, batchtopk_loss, saelens="jumprelu",
                 extra=(ExtraParam("threshold", lambda d, cfg: jnp.zeros((), jnp.float32)),),
                 after_step=batchtopk_after_step, fractional_k=True))
register(SaeArch("jumprelu", "penalty", jumprelu_encode, jumprelu_loss, saelens="jumprelu",
                 extra=(ExtraParam("log_threshold",
                               lambda d, cfg: jnp.full((d,), jnp.log(cfg.init_threshold), jnp.float32)),)))
register(SaeArch("gated", "penalty", gated_encode, gated_loss, saelens="gated",
                 extra=(ExtraParam("r_mag", lambda d, cfg: jnp.zeros((d,), jnp.float32)),
                        ExtraParam("b_mag", lambda d, cfg: jnp.zeros((d,), jnp.float32)))))
