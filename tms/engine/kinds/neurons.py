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

Fast paths (:func:`neuron_fast_paths`, tested equal to the registry's generic path): small models
(n·m ≤ ``UNROLL_LIMIT``, 10, chosen by measurement: see its comment) unroll their contractions into
multiply-adds over the instance axis, differentiated by ``jax.grad``; larger ones map a dense single-model loss
(plain matmuls, feature-major data) over the instances one at a time. Same data, same loss, float32 rounding
apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import data as tdata
from .. import models
from . import base
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


# ------------------------------------------------------------------------------------------ fast paths
#
# Each kind writes its forward pass twice more: unrolled over the instance axis (params leaves (..., instances),
# one (batch, instances) array per feature) and dense for one model (feature-major X: (n, batch)).

# Unroll when n·m is at most this; above it, one dense model at a time. Set by measurement (2-core AMD EPYC,
# AVX2, jax 0.10.2, 32 instances, batch 1,024, 2026-12-06; warm steps/s, compile s in brackets):
#   relu_hidden n=5,  m=2: unrolled 862 (5.1 s)   dense 923 (2.2 s)   generic 296 (3.2 s)
#   abs         n=5,  m=2: unrolled 892 (6.4 s)   dense 722 (3.4 s)   generic 298 (4.3 s)
#   relu_hidden n=10, m=5: unrolled 185 (13.9 s)  dense 339 (2.7 s)   generic 141 (5.7 s)
#   abs         n=10, m=5: unrolled 182 (14.6 s)  dense 366 (3.8 s)   generic 133 (6.6 s)
# (the tied ReLU output model unrolls up to 64, with hand-written gradients: models.UNROLL_LIMIT).
UNROLL_LIMIT = 10


def _matvec(A: jax.Array, xs: list) -> list:
    """Unrolled products: ``A: (rows, cols, instances)``, ``xs``: cols × (batch, instances) -> rows × (batch,
    instances)."""
    return [sum(A[r, c][None, :] * xs[c] for c in range(A.shape[1])) for r in range(A.shape[0])]


def _relu_all(hs: list, bias=None) -> list:
    return [jax.nn.relu(h if bias is None else h + bias[j][None, :]) for j, h in enumerate(hs)]


def relu_hidden_unrolled(params: models.Params, xs: list) -> list:
    W = params.W
    return _relu_all(_matvec(jnp.swapaxes(W, 0, 1), _relu_all(_matvec(W, xs))), params.b)


def relu_hidden_dense(params: models.Params, X: jax.Array) -> jax.Array:
    return jax.nn.relu(params.W.T @ jax.nn.relu(params.W @ X) + params.b[:, None])


def hidden_bias_unrolled(params: HiddenBiasParams, xs: list) -> list:
    W = params.W
    return _relu_all(_matvec(jnp.swapaxes(W, 0, 1), _relu_all(_matvec(W, xs), params.b_hidden)), params.b)


def hidden_bias_dense(params: HiddenBiasParams, X: jax.Array) -> jax.Array:
    h = jax.nn.relu(params.W @ X + params.b_hidden[:, None])
    return jax.nn.relu(params.W.T @ h + params.b[:, None])


def abs_unrolled(params: UntiedParams, xs: list) -> list:
    return _relu_all(_matvec(params.W2, _relu_all(_matvec(params.W1, xs))), params.b)


def abs_dense(params: UntiedParams, X: jax.Array) -> jax.Array:
    return jax.nn.relu(params.W2 @ jax.nn.relu(params.W1 @ X) + params.b[:, None])


def neuron_fast_paths(unrolled: Callable, dense: Callable, target: Callable = base.identity,
                      features: Callable = tdata.features) -> dict:
    """``fast_step``, ``fast_instance_loss`` and ``fast_batch_loss`` for a kind whose forward pass is written
    unrolled (``unrolled(params, xs) -> ys``, instance-last) and dense (``dense(params, X: (n, batch)) ->
    (n, batch)``, one model). The loss is the generic one: the batch mean of Σ_i I_i (y_i − y'_i)²."""

    def unrolled_loss(params, X, importance):  # (instances,)
        xs = [X[i] for i in range(X.shape[0])]
        ys = unrolled(params, xs)
        total = 0.0
        for i, (x, y) in enumerate(zip(xs, ys)):
            e = y - target(x)
            total = total + importance[i] * jnp.mean(e * e, axis=0)
        return total

    def dense_loss(params, X, importance):  # one model, X: (n, batch)
        e = dense(params, X) - target(X)
        return jnp.sum(importance * jnp.mean(e * e, axis=1))

    def small(params) -> bool:
        leaf = jax.tree.leaves(params)[0]  # a weight matrix (rows, cols, instances) or (rows, cols)
        return leaf.shape[0] * leaf.shape[1] <= UNROLL_LIMIT

    def instance_loss(params, X, importance):
        if small(params):
            return unrolled_loss(params, X, importance)
        return jax.vmap(dense_loss, in_axes=(-1, -1, -1))(params, X, importance)

    def batch_loss(params, X, importance):
        return dense_loss(params, X.T, importance)

    def fast_step(static):
        sets = static.sets

        def unrolled_total(params, X, importance):
            per = unrolled_loss(params, X, importance)
            return jnp.sum(per), per

        unrolled_grad = jax.grad(unrolled_total, has_aux=True)
        dense_grad = jax.value_and_grad(dense_loss)

        def grads(params, draws, sparsity, importance):
            if static.n_features * static.n_hidden <= UNROLL_LIMIT:
                return unrolled_grad(params, features(draws, sparsity, sets), importance)

            loss, g = tdata.map_instances(dense_grad, params, draws, sparsity, importance, sets, features)
            return jax.tree.map(lambda a: jnp.moveaxis(a, 0, -1), g), loss

        return grads

    return {"fast_step": fast_step, "fast_instance_loss": instance_loss, "fast_batch_loss": batch_loss,
            "fast_eval": functools.partial(_fast_eval, instance_loss, dense_loss, features)}


def _fast_eval(instance_loss: Callable, dense_loss: Callable, features: Callable, static):
    """The evaluation loss on shared draws (:attr:`~tms.engine.kinds.base.ModelKind.fast_eval`): small models by
    ``instance_loss`` on the thresholded draws, larger ones ``dense_loss`` per instance (``lax.map``), each
    thresholding the draws itself as the training step does."""
    sets = static.sets

    def loss(params, draws, sparsity, importance):
        if static.n_features * static.n_hidden <= UNROLL_LIMIT:
            return instance_loss(params, features(draws, sparsity, sets), importance)
        return tdata.map_instances(dense_loss, params, draws, sparsity, importance, sets, features)

    return loss


RELU_HIDDEN = ModelKind(name="relu_hidden", summary="ReLU(W^T ReLU(W x) + b)", init=models.init_params,
                        forward=relu_hidden_forward, **neuron_fast_paths(relu_hidden_unrolled, relu_hidden_dense))
RELU_HIDDEN_BIAS = ModelKind(name="relu_hidden_bias", summary="ReLU(W^T ReLU(W x + b_hidden) + b)",
                             init=hidden_bias_init, forward=hidden_bias_forward, bias_fields=("b", "b_hidden"),
                             **neuron_fast_paths(hidden_bias_unrolled, hidden_bias_dense))
ABS = ModelKind(name="abs", summary="|x| target: ReLU(W2 ReLU(W1 x) + b), x ~ U[-1, 1]", init=untied_init,
                forward=abs_forward, target=jnp.abs, features=signed_features,
                **neuron_fast_paths(abs_unrolled, abs_dense, target=jnp.abs, features=signed_features))
