"""The model-kind record, and the generic training path every kind gets from its one-example loss.

A **model kind** is a small frozen record of functions plus its name (:class:`ModelKind`). It declares

- its parameters: ``init(key, n, m)`` returns the pytree of one model (a NamedTuple of float32 arrays; the
  field names are the parameter names, the shapes are written in the kind's docstring);
- the forward pass for **one example**: ``forward(params, x: (n,)) -> (n,)``;
- its loss, Σ_i I_i (y_i − y'_i)² with the target ``y = target(x)`` (``x`` itself for the autoencoding kinds);
- the data it expects: ``features(draws, sparsity, sets) -> X: (n, batch, instances)`` (non-zero features
  ~U[0, 1] by default, see :func:`tms.engine.data.features`);
- which parameters are biases (held at zero when a run says ``bias = false``).

The parameter names and shapes are what the results store saves for each model (:meth:`ModelKind.param_shapes`;
``W`` and ``b`` for the tied kinds, ``W1``, ``W2`` and ``b`` for ``abs``), so every registered kind sweeps.

From these the engine trains any kind: the loss of one example is vmapped over the batch and over the model
instances, and differentiated with ``jax.grad`` (:meth:`ModelKind.generic_grads`). A kind may attach
optimisations (``fast_step``, ``fast_instance_loss``, ``fast_batch_loss``, ``fast_eval``), each tested equal
to the generic path; the engine uses the generic path only where a kind has no fast one.

Layouts: one model's params as ``init`` returns them; in training, ``instances`` models side by side on a
**trailing** axis of every leaf (``W: (m, n, instances)``), data feature-major ``X: (n, batch, instances)``,
importance ``(n, instances)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from .. import data as tdata


def identity(x: jax.Array) -> jax.Array:
    return x


@dataclass(frozen=True)
class ModelKind:
    """One model kind, registered under ``name`` (see :mod:`.registry`).

    Args:
        name: the registry name, as written in sweep files (``model.kind``) and on the command line.
        summary: one line for help texts and tables (the model's formula).
        init: ``(key, n, m) -> params`` of one model.
        forward: ``(params, x: (n,)) -> (n,)``, one example.
        target: ``(x: (n,)) -> (n,)``, what the output should be (default: ``x``).
        features: ``(draws, sparsity: (n, instances), sets) -> X: (n, batch, instances)``, the training data
            made from the engine's shared uniform draws (default :func:`tms.engine.data.features`).
        bias_fields: parameter names held at zero (zero gradient) when the run has ``bias = False``.
        fast_step: optional ``(static) -> grads(params, draws, sparsity, importance) -> (grads, losses)``,
            a faster training step in the instance-last layout (``losses: (instances,)``).
        fast_instance_loss: optional ``(params, X, importance) -> (instances,)``, a faster evaluation loss.
        fast_batch_loss: optional ``(params, X: (batch, n), importance: (n,)) -> ()``, one model's batch loss.
        fast_eval: optional ``(static) -> loss(params, draws, sparsity, importance) -> (instances,)``, the
            evaluation loss on the shared draws, each instance thresholding them itself (a dense model's data is
            never made for all instances at once); equal to :meth:`instance_loss` on :attr:`features`.
        fast_compiler_options: optional ``(static) -> dict | None``, XLA options for the CPU programs that train
            ``static``'s models by the fast path (a per-size choice by measured speed; options change how XLA
            emits code, so they can change float rounding, never what is computed).
    """

    name: str
    summary: str
    init: Callable[[jax.Array, int, int], Any]
    forward: Callable[[Any, jax.Array], jax.Array]
    target: Callable[[jax.Array], jax.Array] = identity
    features: Callable = tdata.features
    bias_fields: tuple[str, ...] = ("b",)
    fast_step: Callable | None = None
    fast_instance_loss: Callable | None = None
    fast_batch_loss: Callable | None = None
    fast_eval: Callable | None = None
    fast_compiler_options: Callable | None = None

    # -------------------------------------------------------------------------------- the generic path
    def example_loss(self, params, x: jax.Array, importance: jax.Array) -> jax.Array:
        """Σ_i I_i (y_i − y'_i)² for one example ``x: (n,)``, ``importance: (n,)``, ``y = target(x)``."""
        err = self.target(x) - self.forward(params, x)
        return jnp.sum(importance * err * err)

    def generic_batch_loss(self, params, X: jax.Array, importance: jax.Array) -> jax.Array:
        """The training loss of one model, ``X: (batch, n)``: the batch mean of :meth:`example_loss`."""
        return jnp.mean(jax.vmap(self.example_loss, in_axes=(None, 0, None))(params, X, importance))

    def generic_instance_loss(self, params, X: jax.Array, importance: jax.Array) -> jax.Array:
        """Per-instance training loss ``(instances,)``: params leaves ``(..., instances)``,
        ``X: (n, batch, instances)``, ``importance: (n, instances)``."""
        return jax.vmap(lambda p, x, imp: self.generic_batch_loss(p, x.T, imp), in_axes=(-1, -1, -1))(
            params, X, importance)

    def generic_grads(self, params, X: jax.Array, importance: jax.Array):
        """``(grads of Σ instance losses (shaped like params), losses (instances,))`` by ``jax.grad``."""
        def total(p):
            per = self.generic_instance_loss(p, X, importance)
            return jnp.sum(per), per

        return jax.grad(total, has_aux=True)(params)

    def param_shapes(self, n: int, m: int) -> dict[str, tuple[int, ...]]:
        """The kind's parameters of one model at ``n`` features and ``m`` hidden units: name -> shape, in the
        order ``init`` declares them (its NamedTuple's fields; nothing is computed, ``jax.eval_shape``)."""
        shapes = jax.eval_shape(lambda: self.init(jax.random.PRNGKey(0), n, m))
        return {name: tuple(leaf.shape) for name, leaf in zip(shapes._fields, shapes)}

    # ------------------------------------------------------------------------- fast path where one exists
    def instance_loss(self, params, X: jax.Array, importance: jax.Array) -> jax.Array:
        """Per-instance loss (instance-last layout), by the kind's fast path if it has one."""
        fast = self.fast_instance_loss
        return (fast or self.generic_instance_loss)(params, X, importance)

    def make_eval(self, static, fast: bool = True):
        """``loss(params, draws, sparsity, importance) -> (instances,)``: every instance's loss on the shared
        ``draws`` thresholded at its ``sparsity`` (instance-last layout), by the kind's ``fast_eval`` when it has
        one and ``fast`` is true, else :meth:`instance_loss` on :attr:`features` of the draws."""
        if fast and self.fast_eval is not None:
            return self.fast_eval(static)
        sets = static.sets

        def loss(params, draws, sparsity, importance):
            return self.instance_loss(params, self.features(draws, sparsity, sets), importance)

        return loss

    def batch_loss(self, params, X: jax.Array, importance: jax.Array) -> jax.Array:
        """One model's training loss on ``X: (batch, n)``, by the kind's fast path if it has one."""
        return (self.fast_batch_loss or self.generic_batch_loss)(params, X, importance)

    def batch_forward(self, params, X: jax.Array) -> jax.Array:
        """Outputs ``(batch, n)`` of one model on ``X: (batch, n)``."""
        return jax.vmap(self.forward, in_axes=(None, 0))(params, X)

    def make_step(self, static, fast: bool = True):
        """``grads(params, draws, sparsity, importance) -> (grads, losses (instances,))`` for one step of
        ``static`` (a :class:`~tms.engine.config.StaticConfig`): the kind's fast path when it has one and
        ``fast`` is true, else ``jax.grad`` of the vmapped one-example loss."""
        if fast and self.fast_step is not None:
            return self.fast_step(static)
        sets = static.sets

        def grads(params, draws, sparsity, importance):
            return self.generic_grads(params, self.features(draws, sparsity, sets), importance)

        return grads
