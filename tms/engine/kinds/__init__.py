"""Model kinds: one module per kind, a registry by name (see :mod:`.base` for what a kind declares).

Built in: ``relu`` (ReLU(WᵀW x + b)), ``linear`` (WᵀW x + b), ``relu_hidden`` (ReLU(Wᵀ ReLU(W x) + b)),
``relu_hidden_bias`` (the same with a hidden bias) and ``abs`` (|x| computed by an untied ReLU layer). The functions below pick the kind by name
from the registry; ``kind`` defaults to ``"relu"``.
"""

from __future__ import annotations

import jax

from .base import ModelKind
from .registry import UnknownKindError, get_kind, kind_names, register_kind, unregister_kind


def forward(params, x: jax.Array, kind: str = "relu") -> jax.Array:
    """Output ``(n,)`` of one model of ``kind`` on one example ``x: (n,)``."""
    return get_kind(kind).forward(params, x)


def batch_forward(params, X: jax.Array, kind: str = "relu") -> jax.Array:
    """Outputs ``(batch, n)`` of one model of ``kind`` on ``X: (batch, n)``."""
    return get_kind(kind).batch_forward(params, X)


def batch_loss(params, X: jax.Array, importance: jax.Array, kind: str = "relu") -> jax.Array:
    """The training loss of one model of ``kind``: Σ_i I_i (y_i − y'_i)² averaged over the batch ``X: (batch, n)``."""
    return get_kind(kind).batch_loss(params, X, importance)


__all__ = ["ModelKind", "UnknownKindError", "batch_forward", "batch_loss", "forward", "get_kind", "kind_names",
           "register_kind", "unregister_kind"]
