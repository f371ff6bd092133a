"""The SAE architecture registry: a small record of functions per architecture, looked up by name.

An architecture is an :class:`SaeArch`: how one example is encoded (inference), the training loss on a batch,
its own parameters beyond the shared four, an optional update after each optimiser step, and the name SAELens
gives it on disk. Adding one is writing those functions and one :func:`register` call
(see :mod:`.architectures`). The shared pieces (``pre``, decoding, the reconstruction error) live here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ...errors import TmsError


class SaeError(TmsError):
    """Bad SAE settings (a size, a penalty, k, an architecture name, a source's width)."""


class ExtraParam(NamedTuple):
    """An architecture's own parameter: ``init(d_sae, config) -> array``."""

    name: str
    init: Callable


class Stats(NamedTuple):
    """What a training step reports besides the loss (per SAE).

    ``mse``: reconstruction error; ``l0``: mean active latents per example; ``fired: (d_sae,)`` whether each
    latent was active on some example of the batch; ``min_active``: the smallest positive activation (inf if none).
    """

    mse: jax.Array
    l0: jax.Array
    fired: jax.Array
    min_active: jax.Array

    @classmethod
    def of(cls, mse: jax.Array, Z: jax.Array) -> Stats:
        """Stats of latents ``Z: (batch, d_sae)``."""
        active = Z > 0
        return cls(mse, jnp.mean(jnp.sum(active, axis=-1).astype(jnp.float32)), jnp.any(active, axis=0),
                   jnp.min(jnp.where(active, Z, jnp.inf)))


class SaeArch(NamedTuple):
    """One SAE architecture.

    Args:
        name: the registry name (``relu``, ``topk``, ...), written into saved configs.
        knob: the hyperparameter that sets sparsity: ``"penalty"`` (a traced coefficient α) or ``"k"``.
        encode: ``(params, h: (d_in,), hparams, config) -> z: (d_sae,)``, one example at inference.
        loss: ``(params, H: (batch, d_in), hparams, context, config) -> (loss, Stats)``.
        saelens: SAELens's ``architecture`` name for the exported folder.
        extra: the architecture's own parameters.
        after_step: ``(params, Stats, config) -> params`` after each optimiser step (e.g. a running threshold).
        fractional_k: ``k`` may be any number > 0 (an average over the batch, as BatchTopK's), not only an
            integer >= 1 (a per-example count, as TopK's).
    """

    name: str
    knob: str
    encode: Callable
    loss: Callable
    saelens: str
    extra: tuple[ExtraParam, ...] = ()
    after_step: Callable | None = None
    fractional_k: bool = False


ARCHITECTURES: dict[str, SaeArch] = {}


def register(arch: SaeArch) -> SaeArch:
    """Add ``arch`` to the registry under ``arch.name`` (a name may be registered once)."""
    if arch.name in ARCHITECTURES:
        raise SaeError(f"SAE architecture {arch.name!r} is already registered")
    if arch.knob not in ("penalty", "k"):
        raise SaeError(f"SAE architecture {arch.name!r}: knob must be 'penalty' or 'k', got {arch.knob!r}")
    ARCHITECTURES[arch.name] = arch
    return arch


def get_arch(name: str) -> SaeArch:
    """The registered architecture ``name``; a :class:`SaeError` listing the names otherwise."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise SaeError(f"sae.arch must be one of {sorted(ARCHITECTURES)}, got {name!r}") from None


def pre_acts(p: dict, h: jax.Array) -> jax.Array:
    """``pre = (h − b_dec) W_enc + b_enc``: ``h: (d_in,) -> (d_sae,)``."""
    return (h - p["b_dec"]) @ p["W_enc"] + p["b_enc"]


def decode(p: dict, z: jax.Array) -> jax.Array:
    """``ĥ = z W_dec + b_dec``: ``z: (d_sae,) -> (d_in,)``."""
    return z @ p["W_dec"] + p["b_dec"]


def reconstruction(p: dict, H: jax.Array, Z: jax.Array) -> jax.Array:
    """``mean_batch Σ_d (h − ĥ)²`` for ``H: (batch, d_in)``, ``Z: (batch, d_sae)``."""
    err = H - jax.vmap(decode, (None, 0))(p, Z)
    return jnp.mean(jnp.sum(err * err, axis=-1))
