"""Dead-latent resampling as ARENA's SAE exercises do it, for one SAE (vmapped with training).

Every ``resample_every`` steps, the latents that fired on no input in the last ``dead_window`` steps are dead.

- ``simple``: each dead latent gets a random unit decoder direction ``d``; its encoder column is ``d`` and its
  encoder bias 0.
- ``advanced``: a batch of ``resample_batch`` inputs is drawn and each input's reconstruction loss
  ``ℓ = Σ_d (h − ĥ)²`` computed; each dead latent draws one input with probability ∝ ``ℓ²``; its decoder row is
  the normalised ``h − b_dec``, its encoder column that row × 0.5 × the mean encoder-column norm of the live
  latents (1 if none is live), its encoder bias 0. If every loss is 0, nothing is resampled.

The resampled latents' Adam moments are zeroed (their old statistics belong to another direction) and they
count as having fired at the resampling step. Returns the number resampled.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .config import SaeConfig
from .registry import decode, get_arch


def _replace(p: dict, dead: jax.Array, rows: jax.Array, enc_scale: jax.Array) -> dict:
    """Put unit ``rows: (d_sae, d_in)`` into the dead latents' decoder rows and (× ``enc_scale``) encoder columns."""
    return {**p, "W_dec": jnp.where(dead[:, None], rows, p["W_dec"]),
            "W_enc": jnp.where(dead[None, :], enc_scale * rows.T, p["W_enc"]),
            "b_enc": jnp.where(dead, 0.0, p["b_enc"])}


def _unit(rows: jax.Array) -> jax.Array:
    return rows / jnp.maximum(jnp.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def simple_rows(key, p, H, hp, config):
    rows = _unit(jax.random.normal(key, p["W_dec"].shape))
    return rows, jnp.ones((), bool)


def advanced_rows(key, p, H, hp, config):
    """Replacement rows drawn ∝ loss², and whether any loss was positive."""
    arch = get_arch(config.arch)
    Z = jax.vmap(arch.encode, (None, 0, None, None))(p, H, hp, config)
    err = H - jax.vmap(decode, (None, 0))(p, Z)
    loss = jnp.sum(err * err, axis=-1)
    weight = loss * loss
    any_loss = jnp.sum(weight) > 0
    logits = jnp.where(weight > 0, jnp.log(jnp.maximum(weight, 1e-30)), -jnp.inf)
    logits = jnp.where(any_loss, logits, 0.0)
    idx = jax.random.categorical(key, logits, shape=(p["W_dec"].shape[0],))
    rows = _unit(H[idx] - p["b_dec"][None, :])
    return rows, any_loss


def resample(key: jax.Array, p: dict, opt_state, last_fired: jax.Array, t: jax.Array, H: jax.Array, hp,
             config: SaeConfig):
    """Resample the dead latents of one SAE at step ``t``; ``H: (resample_batch, d_in)`` fresh inputs.

    Returns ``(params, opt_state, last_fired, n_resampled)``.
    """
    dead = last_fired <= t - config.dead_window
    pick = simple_rows if config.resample == "simple" else advanced_rows
    rows, ok = pick(key, p, H, hp, config)
    dead = dead & ok
    if config.resample == "simple":
        scale = jnp.ones(())
    else:
        norms = jnp.linalg.norm(p["W_enc"], axis=0)
        live = ~dead
        mean_live = jnp.where(jnp.any(live), jnp.sum(jnp.where(live, norms, 0.0)) / jnp.maximum(jnp.sum(live), 1),
                              1.0)
        scale = 0.5 * mean_live
    p = _replace(p, dead, rows, scale)
    opt_state = zero_moments(opt_state, dead)
    return p, opt_state, jnp.where(dead, t, last_fired), jnp.sum(dead).astype(jnp.int32)


def _zero_leaf(name: str, leaf: jax.Array, dead: jax.Array) -> jax.Array:
    if name == "W_dec":
        return jnp.where(dead[:, None], 0.0, leaf)
    if name == "W_enc":
        return jnp.where(dead[None, :], 0.0, leaf)
    if name == "b_enc":
        return jnp.where(dead, 0.0, leaf)
    return leaf


def zero_moments(opt_state, dead: jax.Array):
    """Zero Adam's first and second moments of the dead latents' encoder columns, decoder rows, encoder biases."""
    def fix(state):
        if hasattr(state, "mu") and hasattr(state, "nu"):
            mu = {k: _zero_leaf(k, v, dead) for k, v in state.mu.items()}
            nu = {k: _zero_leaf(k, v, dead) for k, v in state.nu.items()}
            return state._replace(mu=mu, nu=nu)
        return state
    return tuple(fix(s) for s in opt_state) if isinstance(opt_state, tuple) and not hasattr(
        opt_state, "_fields") else fix(opt_state)
