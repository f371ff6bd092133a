"""The toy models as SLT problems: their losses as ``loss_fn(params, data)``, the k-gon critical points of the
high-sparsity n = 6, m = 2 model, and their theoretical learning coefficients (Chen et al. 2023).
"""

from __future__ import annotations

from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from ..analysis.theory.high_sparsity import kgon_critical_points, kgon_params
from ..engine.data import HighSparsitySet, high_sparsity_set_loss
from ..engine.kinds import get_kind
from ..engine.models import Params
from ..errors import TmsError

# Local learning coefficients of the k-gon critical points of the n = 6, m = 2 high-sparsity model
# (Chen, Lau, Mendel, Wei & Murfet 2023): the plain 5-gon is not a local minimum (its value is 7 by their
# count of the regular directions), the 5+-gon and 6-gon are.
THEORY_LLC = {"5": 7.0, "5+": 8.5, "6": 8.5}


def set_loss(params: Params, data: HighSparsitySet):
    """The ReLU model's mean loss on a whole high-sparsity set (exact full batch, from sums)."""
    return high_sparsity_set_loss(params.W, params.b, data)


def dense_loss(kind: str = "relu", importance=None):
    """``loss(params, X: (batch, n))``: the training loss (batch mean of Σ_i I_i (x_i − x'_i)²)."""
    model = get_kind(kind)

    def loss(params: Params, X):
        imp = jnp.ones(X.shape[-1], X.dtype) if importance is None else jnp.asarray(importance, X.dtype)
        return model.batch_loss(params, X, imp)

    return loss


@lru_cache(maxsize=8)
def _kgon_table(n_features: int):
    return kgon_critical_points(n_features)


def kgon_table(n_features: int = 6):
    """The optimised k-gon critical points (label, k, n_plus, length, bias, bias_plus, loss), cached."""
    return _kgon_table(int(n_features)).copy()


def kgon_point(label: str, n_features: int = 6) -> Params:
    """The critical point ``label`` ("5", "5+", "6", ...) as float32 ``Params(W: (2, n), b: (n,))``."""
    table = _kgon_table(int(n_features))
    rows = table[table.label == label]
    if rows.empty:
        raise TmsError(f"label must be one of {list(table.label)} for n={n_features}; got {label!r}")
    r = rows.iloc[0]
    W, b = kgon_params(n_features, int(r.k), int(r.n_plus), float(r.length), float(r.bias), float(r.bias_plus))
    return Params(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))


def is_local_minimum(label: str, n_features: int = 6) -> bool:
    """False for a k-gon that leaves a feature with a zero column *and* zero bias (the plain 5-gon, the 4+-gon
    at n = 6): raising that bias lowers the loss, so SGLD chains escape below L(w*)."""
    table = _kgon_table(int(n_features))
    r = table[table.label == label]
    if r.empty:
        raise TmsError(f"label must be one of {list(table.label)} for n={n_features}; got {label!r}")
    return int(r.k.iloc[0]) + int(r.n_plus.iloc[0]) == int(n_features)


def kgon_loss(label: str, n_features: int = 6) -> float:
    table = _kgon_table(int(n_features))
    return float(np.asarray(table.loss[table.label == label])[0])
