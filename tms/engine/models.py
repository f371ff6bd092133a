"""The tied-weights family x' = act(WᵀW x + b) and its hand-written fast paths (the ``relu`` and ``linear``
model kinds of :mod:`tms.engine.kinds` are built from these functions).

Axis names used throughout the package:

- ``n``: features (input and output width), ``m``: hidden dimensions;
- ``batch``: examples in one step, ``R``: restarts of one cell.

A model is written for **one example** ``x: (n,)`` and vmapped for batches and instances.

The family's one variation is the output activation: ``relu=True`` gives the ReLU output model
x' = ReLU(WᵀW x + b) (Elhage et al. 2022), ``relu=False`` the linear model x' = WᵀW x + b. Callers outside the
engine pick a model by its kind name through :func:`tms.engine.kinds.get_kind`, never by this flag.

``bias=False`` drops ``b`` (it is kept in the pytree as zeros with a zero gradient mask, so every
model has the same params structure).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import data as tdata


class Params(NamedTuple):
    """Parameters of one toy model. ``W: (m, n)``, ``b: (n,)``."""

    W: jax.Array
    b: jax.Array


def init_params(key: jax.Array, n_features: int, n_hidden: int) -> Params:
    """Xavier-normal ``W: (m, n)`` (std = sqrt(2 / (m + n))) and zero ``b: (n,)``.

    Anthropic's notebook calls ``xavier_normal_`` on the stacked ``(instances, n, m)`` tensor; we use the
    per-model fan-in/fan-out, which is what Xavier initialisation means for one ``m × n`` matrix.
    """
    std = jnp.sqrt(2.0 / (n_features + n_hidden))
    W = std * jax.random.normal(key, (n_hidden, n_features), dtype=jnp.float32)
    return Params(W=W, b=jnp.zeros((n_features,), jnp.float32))


def hidden(params: Params, x: jax.Array) -> jax.Array:
    """Hidden activation ``h = W x``: ``x: (n,) -> (m,)``."""
    return params.W @ x


def _act(y: jax.Array, relu: bool) -> jax.Array:
    return jax.nn.relu(y) if relu else y


def forward(params: Params, x: jax.Array, relu: bool = True) -> jax.Array:
    """Reconstruction ``x': (n,)`` of one example ``x: (n,)``."""
    return _act(params.W.T @ (params.W @ x) + params.b, relu)


def batch_forward(params: Params, X: jax.Array, relu: bool = True) -> jax.Array:
    """Reconstructions ``(batch, n)`` of ``X: (batch, n)``.

    Written as ``(X Wᵀ) W + b`` (one matmul pair for the whole batch); equal to vmapping
    :func:`forward` over the batch (tested).
    """
    y = (X @ params.W.T) @ params.W + params.b[None, :]
    return _act(y, relu)


def batch_loss(params: Params, X: jax.Array, importance: jax.Array, relu: bool = True) -> jax.Array:
    """The training loss: Σ_i I_i (x_i − x'_i)², **averaged over the batch** (summed over features).

    Anthropic's notebook also averages over features, which divides the loss by ``n``; with Adam this only
    changes the effective epsilon, with SGD it rescales the learning rate by ``n``.
    """
    err = X - batch_forward(params, X, relu)
    return jnp.mean(jnp.sum(importance[None, :] * err * err, axis=-1))


# ------------------------------------------------------------------------------ many instances at once
#
# Training keeps many models side by side on a trailing **instance axis** ``instances``: ``W: (m, n, instances)``,
# ``b: (n, instances)``, data ``X: (n, batch, instances)``. For the toy models' tiny ``m × n`` matrices, the contractions
# are unrolled into elementwise multiply-adds over the instance axis, which XLA fuses and vectorises (a
# vmapped batched matmul of 2×5 matrices is ~8× slower on CPU; see docs/performance.md).
# The result equals :func:`batch_loss` per instance (tested against float64 NumPy).

UNROLL_LIMIT = 64  # unroll when n·m is at most this; larger models use dense matmuls per instance


def instance_loss(W: jax.Array, b: jax.Array, X: jax.Array, importance: jax.Array, relu: bool = True) -> jax.Array:
    """Per-instance training loss ``(instances,)`` (batch mean of Σ_i I_i (x_i − x'_i)²).

    ``W: (m, n, instances)``, ``b: (n, instances)``, ``X: (n, batch, instances)``, ``importance: (n, instances)``.
    """
    m, n = W.shape[0], W.shape[1]
    if m * n <= UNROLL_LIMIT:
        h = [sum(W[j, i][None, :] * X[i] for i in range(n)) for j in range(m)]  # m × (batch, instances)
        total = 0.0
        for i in range(n):
            y = sum(W[j, i][None, :] * h[j] for j in range(m)) + b[i][None, :]
            e = _act(y, relu) - X[i]
            total = total + importance[i] * jnp.mean(e * e, axis=0)
        return total
    return jax.vmap(single_loss, in_axes=(-1, -1, -1, -1, None))(W, b, X, importance, relu)


def instance_grads(W: jax.Array, b: jax.Array, X: jax.Array, importance: jax.Array,
                   relu: bool = True) -> tuple[Params, jax.Array]:
    """Gradients of ``Σ instance_loss`` with respect to ``W`` and ``b``, written out by hand, and the losses.

    The training step's fast path for unrolled models (n·m <= ``UNROLL_LIMIT``); its readable reference is
    ``jax.grad`` of :func:`instance_loss` (the two agree to float32 rounding: tested, and both against float64
    NumPy). Shapes as in :func:`instance_loss`; returns ``(Params(W: (m, n, instances), b: (n, instances)),
    losses (instances,))``. For one instance, with ``h = W x``, ``y = Wᵀh + b``, ``e = act(y) − x`` and the
    loss ``(1/batch) Σ_batch Σ_i I_i e_i²``::

        dy_i  = (2 / batch) I_i e_i act'(y_i)      (act' = [y_i > 0] for ReLU, as jax.nn.relu's gradient)
        ∂b_i  = Σ_batch dy_i
        dh_j  = Σ_i W_ji dy_i
        ∂W_ji = Σ_batch (dy_i h_j + dh_j x_i)

    Written this way the step has 15 batch reductions at n=5, m=2 instead of autodiff's 25, and ~10% less
    work per step (see docs/performance.md).
    """
    m, n, batch = W.shape[0], W.shape[1], X.shape[1]
    xs = [X[i] for i in range(n)]  # n × (batch, instances)
    h = [sum(W[j, i][None, :] * xs[i] for i in range(n)) for j in range(m)]
    dy, loss = [], 0.0
    for i in range(n):
        y = sum(W[j, i][None, :] * h[j] for j in range(m)) + b[i][None, :]
        e = _act(y, relu) - xs[i]
        loss = loss + importance[i] * jnp.mean(e * e, axis=0)
        g = (2.0 / batch) * importance[i][None, :] * e
        dy.append(jnp.where(y > 0, g, 0.0) if relu else g)
    dh = [sum(W[j, i][None, :] * dy[i] for i in range(n)) for j in range(m)]
    gW = jnp.stack([jnp.stack([jnp.sum(dy[i] * h[j] + dh[j] * xs[i], axis=0) for i in range(n)])
                    for j in range(m)])
    gb = jnp.stack([jnp.sum(dy[i], axis=0) for i in range(n)])
    return Params(W=gW, b=gb), loss


def single_loss(W: jax.Array, b: jax.Array, X: jax.Array, importance: jax.Array, relu: bool = True) -> jax.Array:
    """The training loss of one model with feature-major data: ``W: (m, n)``, ``b: (n,)``, ``X: (n, batch)``.

    Plain matmuls: the training step maps this over instances one at a time (``lax.map``) for models too
    large to unroll, which keeps each matmul a dense CPU kernel (~5× a vmapped batched matmul here).
    """
    y = W.T @ (W @ X) + b[:, None]
    e = _act(y, relu) - X
    return jnp.sum(importance * jnp.mean(e * e, axis=1))


def single_grads(W: jax.Array, WT: jax.Array, b: jax.Array, X: jax.Array, importance: jax.Array,
                 relu: bool = True) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """:func:`single_loss` and its gradients ``(loss, (gW, gb))``, written out by hand; ``WT``: ``W.T`` laid out
    row-major (``(n, m)``), passed in by the caller.

    Every one of the five matmuls then multiplies an untransposed left operand (``W X``, ``WT h``, ``W dy``, and the
    two weight gradients contracted over the batch), which XLA's CPU backend hands to YNNPACK; ``jax.grad`` of
    :func:`single_loss` has one product whose left operand is transposed (``Wᵀ h`` forward, or ``W dy`` when the
    transposed copy is an input), which XLA emits itself at about half the speed. Tested against ``jax.grad``.
    """
    h = W @ X
    y = WT @ h + b[:, None]
    e = _act(y, relu) - X
    loss = jnp.sum(importance * jnp.mean(e * e, axis=1))
    dy = (2.0 / X.shape[1]) * importance[:, None] * e
    if relu:
        dy = jnp.where(y > 0, dy, 0.0)
    batch = (((1,), (1,)), ((), ()))  # contract the batch axis of both operands
    gW = jax.lax.dot_general(h, dy, batch) + jax.lax.dot_general(W @ dy, X, batch)
    return loss, (gW, jnp.sum(dy, axis=1))


# ------------------------------------------------------------------------------ the training step's fast path

HAND_GRADS = True  # hand-written gradients (instance_grads, single_grads); False: jax.grad (the reference)


def make_fast_step(static, relu: bool):
    """The tied family's training step: ``grads(params, draws, sparsity, importance) -> (Params, losses)``.

    ``static``: the run's :class:`~tms.engine.config.StaticConfig` (n, m, feature sets). Small models
    (n·m <= ``UNROLL_LIMIT``) use the unrolled instance-last loss, differentiated by hand
    (:func:`instance_grads`, ~10% faster; with ``HAND_GRADS = False``, ``jax.grad`` of :func:`instance_loss`,
    the reference it is tested against); larger ones map a dense single model over the instances one at a
    time (:func:`single_grads`, hand-written, every matmul a YNNPACK kernel: 3.5–7% faster per step than
    ``jax.grad`` of :func:`single_loss`, which ``HAND_GRADS = False`` restores). Both are tested equal to the
    registry's generic path (:meth:`tms.engine.kinds.ModelKind.generic_grads`).
    """
    sets = static.sets

    def total_loss(params, X, importance):
        per = instance_loss(params.W, params.b, X, importance, relu)
        return jnp.sum(per), per

    unrolled_grad = jax.grad(total_loss, has_aux=True)
    single_grad = jax.value_and_grad(lambda W, b, X, imp: single_loss(W, b, X, imp, relu), argnums=(0, 1))

    def grads(params, draws, sparsity, importance):
        if static.n_features * static.n_hidden <= UNROLL_LIMIT:
            X = tdata.features(draws, sparsity, sets)
            if HAND_GRADS:
                return instance_grads(params.W, params.b, X, importance, relu)
            return unrolled_grad(params, X, importance)

        def one(p, X, imp):
            W, WT, b = p
            return single_grads(W, WT, b, X, imp, relu) if HAND_GRADS else single_grad(W, b, X, imp)

        p = (params.W, jnp.transpose(params.W, (1, 0, 2)), params.b)  # W: (m, n, inst) and Wᵀ: (n, m, inst)
        loss, (gW, gb) = tdata.map_instances(one, p, draws, sparsity, importance, sets)
        return Params(W=jnp.moveaxis(gW, 0, -1), b=gb.T), loss

    return grads


def make_fast_eval(static, relu: bool):
    """The tied family's evaluation loss ``loss(params, draws, sparsity, importance) -> (instances,)``: small
    models (n·m <= ``UNROLL_LIMIT``) by :func:`instance_loss` on the thresholded draws; larger ones map
    :func:`single_loss` over the instances one at a time, each thresholding the draws itself, as the training
    step does (the vmapped loss on ``X: (n, batch, instances)`` spends most of its time moving that array)."""
    sets = static.sets

    def loss(params, draws, sparsity, importance):
        if static.n_features * static.n_hidden <= UNROLL_LIMIT:
            return instance_loss(params.W, params.b, tdata.features(draws, sparsity, sets), importance, relu)

        return tdata.map_instances(lambda p, X, imp: single_loss(p.W, p.b, X, imp, relu), params, draws, sparsity,
                                   importance, sets)

    return loss


# XLA's CPU backend hands a program's batch reductions to YNNPACK by default. The unrolled step (instance_grads)
# is 15 such reductions over (batch, instances) arrays per step; emitted by XLA itself instead
# (YNNPACK's fusion types set to its dots alone, what ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-reduce``
# gives with jaxlib 0.10.2), the step is faster. Measured
# 7 December 2026 on the 2-core AMD EPYC with AVX-512, one core, ``tms.bench.profile.profile_size``, median ms
# per training step, YNNPACK's reductions -> XLA's: (n, m) = (3, 2), 96 models, batch 512 (a phase_n3m2 chunk)
# 0.187 -> 0.145; (5, 2), 64 models, batch 1024: 0.498 -> 0.456; (5, 2), 128 models: 0.870 -> 0.820. The dense
# path loses: (40, 10), 64 models: 4.74 -> 5.31; (400, 30), 13 models: 21.8 -> 22.5. So the option is set for
# the unrolled sizes only. It changes the order of float32 sums in the reductions, not what they compute.
UNROLLED_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


def compiler_options(static) -> dict | None:
    """XLA options for the CPU programs that train a tied kind at ``static``'s size: :data:`UNROLLED_OPTIONS`
    where the fast step is the unrolled one (n·m <= ``UNROLL_LIMIT``), else none."""
    return dict(UNROLLED_OPTIONS) if static.n_features * static.n_hidden <= UNROLL_LIMIT else None
