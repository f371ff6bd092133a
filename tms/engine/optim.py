"""Optimizers and learning-rate schedules, with per-instance learning rates and weight decays.

``OPTIMIZERS`` and ``SCHEDULES`` are the allowed names, defined once.
"""

from __future__ import annotations

from typing import Protocol

import jax
import jax.numpy as jnp
import optax


class OptimSettings(Protocol):
    """The fields of :class:`tms.engine.config.StaticConfig` this module reads (the config imports the allowed
    names from here, so this module does not import it)."""

    steps: int
    optimizer: str
    schedule: str
    warmup_steps: int
    decay_every: int
    decay_factor: float


OPTIMIZERS = ("adam", "adamw", "sgd")

# Learning-rate schedules by name: multiplier f(static, t) at step t (float, 0-based) of ``static.steps``.
SCHEDULES = {
    "constant": lambda static, t: jnp.ones_like(t),
    "linear": lambda static, t: 1.0 - t / float(static.steps),
    "cosine": lambda static, t: 0.5 * (1.0 + jnp.cos(jnp.pi * t / float(static.steps))),
    "step": lambda static, t: static.decay_factor ** jnp.floor(t / static.decay_every),
}


def lr_factor(static: OptimSettings, step: jax.Array) -> jax.Array:
    """Schedule multiplier at ``step`` (0-based), after the optional linear warm-up."""
    t = step.astype(jnp.float32)
    f = SCHEDULES[static.schedule](static, t)
    if static.warmup_steps:
        f = f * jnp.minimum(1.0, (t + 1.0) / static.warmup_steps)
    return f


def _per_instance(a: jax.Array, leaf: jax.Array) -> jax.Array:
    """Reshape a per-instance vector ``(instances,)`` to broadcast against a leaf ``(..., instances)``."""
    return a.reshape((1,) * (leaf.ndim - 1) + (-1,))


def make_optimizer(static: OptimSettings, lr: jax.Array, weight_decay: jax.Array) -> optax.GradientTransformation:
    """Adam / AdamW / SGD with the schedule; ``lr`` and ``weight_decay`` are per instance, ``(instances,)``.

    AdamW's decay is decoupled and multiplied by the lr, as in PyTorch and optax.
    """

    def scale_and_decay(updates, state, params):
        count = state
        f = lr_factor(static, count)
        def leaf(u, p):
            if static.optimizer == "adamw":
                u = u + _per_instance(weight_decay, p) * p
            return -f * _per_instance(lr, u) * u
        return jax.tree.map(leaf, updates, params), count + 1

    tail = optax.GradientTransformation(lambda params: jnp.zeros((), jnp.int32), scale_and_decay)
    if static.optimizer in ("adam", "adamw"):
        return optax.chain(optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8), tail)
    return tail
