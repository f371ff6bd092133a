"""Training many SAEs in one compiled call: ``jit(vmap(train))`` over SAE instances.

``make_sae_train(config, source) -> train(hparams, key, data_key)`` trains one SAE (Adam, the architecture's
loss, decoder rows renormalised after each step unless ``decoder="weighted"``, optional dead-latent
resampling); :func:`train_saes` maps it over instances, which share the data stream (one batch per step drawn
once from ``data_key`` and read by every SAE) and differ in their hyperparameters and init key.

Dictionary sizes change parameter shapes, so one call holds one size; :func:`train_sae_sizes` groups a sweep
by size (one compiled call per size) rather than padding to the largest size with masks, which would spend
compute on masked latents (3× the work for sizes 0.5×..8×) and make top-k selections mask-aware.

Metrics per SAE and step: ``loss``, ``mse`` (reconstruction), ``l0`` (mean active latents), ``dead`` (latents
that fired on no input in the last ``dead_window`` steps) and ``resampled`` (latents resampled at that step).
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import ticks
from .config import SaeConfig, SaeHparams, init_sae, sae_hparams, with_k_max
from .registry import SaeError, get_arch
from .resample import resample
from .sources import ActivationSource

METRICS = ("loss", "mse", "l0", "dead", "resampled")
SAE_AXIS = "sae"  # the vmapped axis of the SAEs of one call (a training step reads the call's largest dead count)
# AuxK's cheap routes (architectures.auxk_loss) cost a conditional per step, ~1.5 s more compilation per call; they
# pay from about this d_in · d_sae. Measured on one core of the 2-core Intel AVX-512 machine, 6 December 2026, TopK,
# warm / cold seconds per call, routes against the plain ranked AuxK: d_in 256 × 512 latents, 4 SAEs, 300 steps:
# 20 s against 31 s (cold, the other core busy); d_in 32 × 128 latents, 6 SAEs, 1,500 steps: 7.2 / 14.4 s against
# 7.6 / 12.9 s; the pentagon, d_in 2 × 10 latents, 2,000 steps: 0.97 / 6.8 s against 1.13 / 5.5 s.
AUXK_ROUTES_MIN = 32768


class Context(NamedTuple):
    """Training state a loss may read: ``dead: (d_sae,)`` latents dead over the window (AuxK uses it), and
    ``most_dead``, the largest count of dead latents of any SAE of the call (not batched; ``None`` outside a
    training call), which lets AuxK skip work that cannot change its value (:func:`~.architectures.auxk_loss`)."""

    dead: jax.Array
    most_dead: jax.Array | None = None


class SaeTrainOutput(NamedTuple):
    """Trained SAEs: ``params`` leaves ``(instances, ...)``; ``metrics[name]: (instances, steps)``."""

    params: dict
    metrics: dict


def check_source(config: SaeConfig, source: ActivationSource) -> None:
    if source.d_in != config.d_in:
        raise SaeError(f"sae.d_in = {config.d_in} does not match the activation source's width "
                       f"{source.d_in} ({source.name})")


def renormalise(p: dict) -> dict:
    """Decoder rows scaled to unit norm."""
    W = p["W_dec"]
    return {**p, "W_dec": W / jnp.maximum(jnp.linalg.norm(W, axis=1, keepdims=True), 1e-12)}


def _step(config, arch, source, tx, hp, data_key, axis_name, carry, t):
    p, opt, last_fired = carry
    H, _ = source.sample(jax.random.fold_in(data_key, t), config.batch)
    dead_now = last_fired <= t - config.dead_window
    share = axis_name is not None and config.d_in * config.d_sae >= AUXK_ROUTES_MIN
    ctx = Context(dead=dead_now, most_dead=jax.lax.pmax(jnp.sum(dead_now), axis_name) if share else None)
    (loss, stats), grads = jax.value_and_grad(arch.loss, has_aux=True)(p, H, hp, ctx, config)
    updates, opt = tx.update(grads, opt, p)
    p = optax.apply_updates(p, updates)
    if config.decoder == "renorm":
        p = renormalise(p)
    if arch.after_step is not None:
        p = arch.after_step(p, stats, config)
    last_fired = jnp.where(stats.fired, t, last_fired)
    dead = jnp.sum(last_fired <= t - config.dead_window).astype(jnp.float32)
    return (p, opt, last_fired), jnp.stack([loss, stats.mse, stats.l0, dead])


def make_sae_train(config: SaeConfig, source: ActivationSource, axis_name: str | None = None):
    """``train(hparams, key, data_key) -> (params, metrics (steps, 5))`` for one SAE (see the module docstring).

    ``axis_name``: the name of the ``vmap`` axis the SAEs of a call are mapped over, if any (:func:`compiled_train`
    uses :data:`SAE_AXIS`); then, for SAEs with ``d_in · d_sae`` of at least :data:`AUXK_ROUTES_MIN`, each step
    shares the call's largest dead-latent count, so AuxK can skip work for every SAE at once. Without it AuxK ranks the dead latents at every step (its reference route): the same
    result up to float32 rounding (``tests/unit/engine/sae/test_auxk.py``).

    ``hparams`` is one SAE's :class:`SaeHparams` entry (scalars); ``key`` seeds its init and resampling,
    ``data_key`` the data stream. Resampling happens after steps ``every − 1, 2·every − 1, ...`` but never after
    the last step.
    """
    check_source(config, source)
    arch = get_arch(config.arch)
    every = config.resample_every

    def train(hp, key, data_key):
        k_init, k_res = jax.random.split(key)
        p = init_sae(k_init, config)
        tx = optax.adam(hp.lr)
        carry = (p, tx.init(p), jnp.full((config.d_sae,), -1, jnp.int32))
        run = partial(ticks.scan_outputs, partial(_step, config, arch, source, tx, hp, data_key, axis_name))
        blocks = (config.steps - 1) // every if config.resample != "none" else 0

        def block(carry, b):
            carry, m = run(carry, b * every + jnp.arange(every))
            t_end = b * every + every - 1
            H, _ = source.sample(jax.random.fold_in(data_key, config.steps + b), config.resample_batch)
            p, opt, last, n = resample(jax.random.fold_in(k_res, b), *carry, t_end, H, hp, config)
            return (p, opt, last), (m, n)

        if blocks == 0:  # no resampling: one scan (a zero-length scan of blocks would still be compiled)
            carry, metrics = run(carry, jnp.arange(config.steps))
            return carry[0], jnp.concatenate([metrics, jnp.zeros((config.steps, 1))], axis=1)
        carry, (m_blocks, n_res) = jax.lax.scan(block, carry, jnp.arange(blocks))
        carry, m_rest = run(carry, blocks * every + jnp.arange(config.steps - blocks * every))
        metrics = jnp.concatenate([m_blocks.reshape(-1, 4), m_rest])
        res = jnp.zeros((blocks, every)).at[:, -1].set(n_res.astype(jnp.float32)).reshape(-1)
        res = jnp.concatenate([res, jnp.zeros(config.steps - blocks * every)])
        return carry[0], jnp.concatenate([metrics, res[:, None]], axis=1)

    return train


_COMPILED: dict = {}


def compiled_train(config: SaeConfig, source: ActivationSource):
    """``jit(vmap(train))`` for ``(config, source)``, kept so that a second call with them does not recompile."""
    check_source(config, source)
    key = (config, id(source.sample))
    if key not in _COMPILED:
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        train = make_sae_train(config, source, SAE_AXIS)
        _COMPILED[key] = (source, jax.jit(jax.vmap(train, in_axes=(0, 0, None), axis_name=SAE_AXIS)))
    return _COMPILED[key][1]


def train_saes(config: SaeConfig, source: ActivationSource, hparams: SaeHparams, seeds, data_seed: int = 0,
               ) -> SaeTrainOutput:
    """Train ``instances`` SAEs of one size in one compiled call; ``seeds: (instances,)`` ints seed each init."""
    seeds = np.atleast_1d(np.asarray(seeds))
    if seeds.shape != hparams.penalty.shape:
        raise SaeError(f"sae.seed: give one seed per SAE ({hparams.penalty.shape[0]}), got shape {seeds.shape}")
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds, jnp.uint32))
    config = with_k_max(config, hparams)
    params, metrics = compiled_train(config, source)(hparams, keys, jax.random.PRNGKey(data_seed))
    return SaeTrainOutput(params, {name: metrics[:, :, i] for i, name in enumerate(METRICS)})


class SaeGrid(NamedTuple):
    """One size's SAEs as a flat list: ``coords`` rows ``(penalty, k, seed)`` and the trained output."""

    d_sae: int
    coords: np.ndarray
    output: SaeTrainOutput


def train_sae_sizes(config: SaeConfig, source: ActivationSource, sizes, penalties=(0.0,), ks=(1,), seeds=(0,),
                    lr: float = 1e-3, data_seed: int = 0) -> list[SaeGrid]:
    """Train every (size, penalty, k, seed) SAE: one compiled call per dictionary size.

    ``config.d_sae`` is replaced by each size; every (penalty, k, seed) product is checked for every size
    before anything compiles (so ``k`` > a size fails up front).
    """
    configs = [SaeConfig(**{**config.to_dict(), "d_sae": int(s)}) for s in sizes]
    coords = np.array(list(itertools.product(penalties, ks, seeds)), dtype=np.float64)
    checked = [sae_hparams(c, coords[:, 0], coords[:, 1], [lr]) for c in configs]
    for c in configs:
        check_source(c, source)
    return [SaeGrid(c.d_sae, coords, train_saes(c, source, hp, coords[:, 2].astype(int), data_seed))
            for c, hp in zip(configs, checked)]


def encode_many(config: SaeConfig, params: dict, hparams: SaeHparams, H: jax.Array) -> jax.Array:
    """Latents ``(instances, N, d_sae)`` of stacked SAEs (leaves ``(instances, ...)``) on inputs ``H: (N, d_in)``."""
    arch = get_arch(config.arch)
    config = with_k_max(config, hparams)
    one = jax.vmap(arch.encode, (None, 0, None, None))
    return jax.jit(jax.vmap(lambda p, hp: one(p, H, hp, config)))(params, hparams)
