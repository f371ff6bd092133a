"""Models with a privileged basis: a hidden ReLU layer whose neurons can be asked what they carry.

``relu_hidden`` (Elhage et al. 2022, "superposition in a privileged basis"): h = ReLU(W x), x' = ReLU(Wᵀ h + b).
Parameters (:class:`tms.engine.models.Params`, the tied kinds' layout): ``W: (m, n)`` Xavier-normal, ``b: (n,)``
zeros. Data and loss as the ReLU output model: non-zero features ~U[0, 1], Σ_i I_i (x_i − x'_i)².

``relu_hidden_bias``: the same with a hidden bias, h = ReLU(W x + b_hidden), parameters
:class:`HiddenBiasParams` (``W: (m, n)``, ``b_hidden: (m,)`` zeros, ``b: (n,)`` zeros). The paper notes that
this model can make its hidden biases positive and run its neurons linearly; the kind lets a run show it.

``abs`` ("computation in superposition"): untied weights, h = ReLU(W₁ x), y' = ReLU(W₂ h + b), target
y_i = |x_i| with non-zero inputs x_i ~ U[−1, 1]. Parameters :class:`UntiedParams`: ``W1: (m, n)``,
``W2: (n, m)`` Xavier-normal (independent draws), ``b: (n,)`` zeros.

These kinds train by the registry's generic path (``jax.grad`` of the one-example loss, vmapped).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import data as tdata
from .. import models
from .base import ModelKind


class HiddenBiasParams(NamedTuple):
    """``W: (m, n)``, ``b_hidden: (m,)``, ``b: (n,)``."""

    W: jax.Array
    b_hidden: jax.Array
    b: jax.Array


class UntiedParams(NamedTuple):
    """``W1: (m, n)`` (input to hidden), ``W2: (n, m)`` (hidden to output), ``b: (n,)``."""

    W1: jax.Array
    W2: jax.Array
    b: jax.Array


def relu_hidden_forward(params: models.Params, x: jax.Array) -> jax.Array:
    """x' = ReLU(Wᵀ ReLU(W x) + b) for one example ``x: (n,)``."""
    return jax.nn.relu(params.W.T @ jax.nn.relu(params.W @ x) + params.b)


def hidden_bias_init(key: jax.Array, n: int, m: int) -> HiddenBiasParams:
    p = models.init_params(key, n, m)
    return HiddenBiasParams(W=p.W, b_hidden=jnp.zeros((m,), jnp.float32), b=p.b)


def hidden_bias_forward(params: HiddenBiasParams, x: jax.Array) -> jax.Array:
    """x' = ReLU(Wᵀ ReLU(W x + b_hidden) + b) for one example ``x: (n,)``."""
    return jax.nn.relu(params.W.T @ jax.nn.relu(params.W @ x + params.b_hidden) + params.b)


def untied_init(key: jax.Array, n: int, m: int) -> UntiedParams:
    """Xavier-normal ``W1: (m, n)`` and ``W2: (n, m)`` (std sqrt(2 / (m + n)) each), zero ``b``."""
    k1, k2 = jax.random.split(key)
    std = jnp.sqrt(2.0 / (n + m))
    return UntiedParams(W1=std * jax.random.normal(k1, (m, n), jnp.float32),
                        W2=std * jax.random.normal(k2, (n, m), jnp.float32), b=jnp.zeros((n,), jnp.float32))


def abs_forward(params: UntiedParams, x: jax.Array) -> jax.Array:
    """y' = ReLU(W₂ ReLU(W₁ x) + b) for one example ``x: (n,)``."""
    return jax.nn.relu(params.W2 @ jax.nn.relu(params.W1 @ x) + params.b)


def signed_features(draws: tdata.Draws, sparsity: jax.Array, sets: tdata.FeatureSets = tdata.FeatureSets()):
    """Features whose non-zero values are ~U[−1, 1] (``2u − 1`` of the same draws): ``X: (n, batch, instances)``."""
    return tdata.features(draws._replace(value=2.0 * draws.value - 1.0), sparsity, sets)


RELU_HIDDEN = ModelKind(name="relu_hidden", summary="ReLU(W^T ReLU(W x) + b)", init=models.init_params,
                        forward=relu_hidden_forward)
RELU_HIDDEN_BIAS = ModelKind(name="relu_hidden_bias", summary="ReLU(W^T ReLU(W x + b_hidden) + b)",
                             init=hidden_bias_init, forward=hidden_bias_forward, bias_fields=("b", "b_hidden"))
ABS = ModelKind(name="abs", summary="|x| target: ReLU(W2 ReLU(W1 x) + b), x ~ U[-1, 1]", init=untied_init,
                forward=abs_forward, target=jnp.abs, features=signed_features)
