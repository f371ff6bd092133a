"""SAE training settings: what fixes shapes (static, :class:`SaeConfig`) apart from what a sweep varies (traced).

Every check runs here, in Python, before anything compiles; a bad value raises :class:`SaeError` naming the
field and the allowed range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...io import check_float, check_int
from .registry import SaeError, get_arch

DECODER_MODES = ("renorm", "weighted")
RESAMPLE_MODES = ("none", "simple", "advanced")


def _check_int(value, field: str, lower: int, upper: int | None = None) -> int:
    return check_int(field, value, lower, upper, error=SaeError)


def _check_float(value, field: str, lower: float, strict: bool = False) -> float:
    return check_float(field, value, lower, lo_open=strict, error=SaeError)


@dataclass(frozen=True)
class SaeConfig:
    """Static settings of an SAE training call (everything here fixes shapes or the compiled program).

    Args:
        arch: a registered architecture (``relu``, ``topk``, ``batchtopk``, ``jumprelu``, ``gated``).
        d_in: width of the activations (must equal the source's).
        d_sae: dictionary size (latents), >= 1.
        batch: examples per step. steps: optimiser steps.
        decoder: ``"renorm"`` (default: decoder rows set to unit norm after every step, as Sharkey et al. and
            ARENA do) or ``"weighted"`` (rows free; ReLU's L1 penalty weighted by each row's norm, as in
            Anthropic's April 2024 update). Gated always weights its penalty by the row norms.
        resample: dead-latent resampling, ``"none"``, ``"simple"`` (random unit direction, encoder = its
            transpose) or ``"advanced"`` (ARENA's: inputs drawn ∝ loss²).
        resample_every: steps between resamplings (ARENA: 2,500).
        dead_window: a latent is dead when it fired on no input in this many latest steps (ARENA: 500); also
            the window of the ``dead`` metric and of AuxK's dead latents.
        resample_batch: inputs drawn to choose the advanced resampling's replacements.
        aux_k: latents AuxK uses (default ``d_in // 2``, Gao et al.'s d_model / 2), capped at ``d_sae``.
        aux_coef: AuxK's weight (Gao et al.: 1/32).
        bandwidth: JumpReLU's rectangle-kernel width ε (Rajamanoharan et al.: 0.001).
        init_threshold: JumpReLU's initial threshold θ (Rajamanoharan et al.: 0.001).
        threshold_lr: BatchTopK's threshold EMA rate (SAELens: 0.01).
        k_max: the largest k of the call, a static bound on the top-k selections of TopK and BatchTopK (the k
            largest are taken from the ``k_max`` largest, the same set as a full sort, far cheaper on CPU).
            Set by :func:`~tms.engine.sae.train.train_saes` from the SAEs' k (:func:`with_k_max`); ``None``
            means ``d_sae``. It changes no result, so :meth:`to_dict` leaves it out.
    """

    arch: str
    d_in: int
    d_sae: int
    batch: int = 256
    steps: int = 5000
    decoder: str = "renorm"
    resample: str = "none"
    resample_every: int = 2500
    dead_window: int = 500
    resample_batch: int = 1024
    aux_k: int | None = None
    aux_coef: float = 1.0 / 32.0
    bandwidth: float = 0.001
    init_threshold: float = 0.001
    threshold_lr: float = 0.01
    k_max: int | None = None

    def __post_init__(self):
        get_arch(self.arch)
        _check_int(self.d_in, "sae.d_in", 1)
        _check_int(self.d_sae, "sae.d_sae (dictionary size)", 1)
        for field in ("batch", "steps", "resample_every", "dead_window", "resample_batch"):
            _check_int(getattr(self, field), f"sae.{field}", 1)
        if self.decoder not in DECODER_MODES:
            raise SaeError(f"sae.decoder must be one of {DECODER_MODES}, got {self.decoder!r}")
        if self.resample not in RESAMPLE_MODES:
            raise SaeError(f"sae.resample must be one of {RESAMPLE_MODES}, got {self.resample!r}")
        if self.aux_k is not None:
            _check_int(self.aux_k, "sae.aux_k", 1)
        if self.k_max is not None:
            _check_int(self.k_max, "sae.k_max", 1, self.d_sae)
        _check_float(self.aux_coef, "sae.aux_coef", 0.0)
        for field in ("bandwidth", "init_threshold", "threshold_lr"):
            _check_float(getattr(self, field), f"sae.{field}", 0.0, strict=True)

    @property
    def aux_k_used(self) -> int:
        """AuxK's latent count: ``aux_k`` (default ``d_in // 2``) capped at ``d_sae``."""
        return min(max(1, self.d_in // 2) if self.aux_k is None else self.aux_k, self.d_sae)

    @property
    def k_bound(self) -> int:
        """The static bound of the top-k selections: ``k_max``, or ``d_sae`` when unset."""
        return self.d_sae if self.k_max is None else self.k_max

    def to_dict(self) -> dict:
        """The settings that fix results (``k_max``, a speed bound, left out)."""
        d = asdict(self)
        d.pop("k_max")
        return d


class SaeHparams(NamedTuple):
    """What varies between SAEs of one call, one entry per SAE (traced): ``(instances,)`` each."""

    penalty: jax.Array
    k: jax.Array
    lr: jax.Array


def sae_hparams(config: SaeConfig, penalty=(0.0,), k=(1,), lr=(1e-3,)) -> SaeHparams:
    """Checked hyperparameters, one entry per SAE; scalars and length-1 lists broadcast to the longest list.

    ``penalty`` >= 0 (α), ``lr`` > 0, ``k`` an integer in [1, d_sae], except for an architecture whose k is an
    average over the batch (BatchTopK): a number in (0, d_sae] with round(k · batch) >= 1. ``k`` is kept as
    float32 for every architecture (integral values are exact).
    """
    lists = [np.atleast_1d(np.asarray(v)) for v in (penalty, k, lr)]
    size = max(len(a) for a in lists)
    for name, a in zip(("penalty", "k", "lr"), lists):
        if a.ndim != 1 or len(a) not in (1, size):
            raise SaeError(f"sae.{name}: give one value or {size} (one per SAE), got shape {a.shape}")
    pen = [_check_float(v.item(), "sae.penalty", 0.0) for v in lists[0]]
    ks = [check_k(config, v.item()) for v in lists[1]]
    lrs = [_check_float(v.item(), "sae.lr", 0.0, strict=True) for v in lists[2]]
    full = [np.resize(np.asarray(a, np.float64), size) for a in (pen, ks, lrs)]
    return SaeHparams(*(jnp.asarray(a, jnp.float32) for a in full))


def check_k(config: SaeConfig, value) -> float:
    """One ``k`` checked for ``config``'s architecture and size (see :func:`sae_hparams`), as a float."""
    if get_arch(config.arch).fractional_k:
        k = check_float("sae.k", value, 0, config.d_sae, lo_open=True, error=SaeError)
        if round(k * config.batch) < 1:
            raise SaeError(f"sae.k = {k:g} keeps round(k · batch) = round({k:g} · {config.batch}) = 0 activations "
                           f"per batch; {config.arch} needs k > {0.5 / config.batch:g} (k · batch > 0.5) at batch {config.batch}")
        return k
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return float(_check_int(value, "sae.k", 1, config.d_sae))


def with_k_max(config: SaeConfig, hparams: SaeHparams) -> SaeConfig:
    """``config`` with ``k_max`` = the largest k of ``hparams`` rounded up, for an architecture with a k knob
    (unchanged otherwise, or when ``hparams.k`` is traced)."""
    if get_arch(config.arch).knob != "k":
        return config
    try:
        k = float(np.max(np.asarray(hparams.k)))
    except jax.errors.TracerArrayConversionError:
        return config
    return replace(config, k_max=min(int(np.ceil(k)), config.d_sae))


def init_sae(key: jax.Array, config: SaeConfig) -> dict:
    """Parameters of one SAE: decoder rows random unit directions, ``W_enc = W_decᵀ``, zero biases."""
    W_dec = jax.random.normal(key, (config.d_sae, config.d_in), jnp.float32)
    W_dec = W_dec / jnp.linalg.norm(W_dec, axis=1, keepdims=True)
    p = {"W_enc": W_dec.T, "b_enc": jnp.zeros((config.d_sae,), jnp.float32), "W_dec": W_dec,
         "b_dec": jnp.zeros((config.d_in,), jnp.float32)}
    for extra in get_arch(config.arch).extra:
        p[extra.name] = extra.init(config.d_sae, config)
    return p
