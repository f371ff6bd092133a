"""Measures of trained weights: feature norms, superposition, interference and dimensionality.

Axis names: ``W: (..., m, n)`` has m hidden dimensions and n features (feature i is the column W_i), with
any number of leading grid axes ``...``; ``b: (..., n)``. Inputs are converted to float64 NumPy (this is
analysis, not training), and every function is vectorised over the leading axes or returns a tidy
``pandas.DataFrame`` with one row per model (or per model and feature).

Measures (Elhage et al. 2022, "Toy Models of Superposition", sections on superposition and feature
dimensionality), with Ŵ_i = W_i / ‖W_i‖ (taken as 0 for a zero column, so nothing divides by zero):

- ‖W_i‖ (:func:`feature_norms`); ‖W‖_F² (:func:`frobenius_count`), a soft count of represented features;
  D* = m / ‖W‖_F² (:func:`dims_per_feature`), dimensions per feature;
- interference Ŵ_i·W_j (:func:`interference`) and superposition Σ_{j≠i} (Ŵ_i·W_j)² (:func:`superposition`);
- D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² (:func:`feature_dimensionality`), 1 for a dedicated dimension, 1/2 for an
  antipodal pair, r/k for the k features of any equal-norm tight frame in r dimensions, 0 if W_i = 0.

Polytopes are in :mod:`tms.analysis.polytopes`, phases in :mod:`tms.analysis.phases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import TmsError


def as_weights(W) -> np.ndarray:
    try:
        arr = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TmsError(f"W must be a real numeric array of shape (..., m, n); got {type(W).__name__}") from err
    if arr.ndim < 2:
        raise TmsError(f"W must have shape (..., m, n) with ndim >= 2; got shape {arr.shape}")
    if arr.shape[-2] < 1 or arr.shape[-1] < 1:
        raise TmsError(f"W needs m >= 1 hidden dims and n >= 1 features; got shape {arr.shape}")
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise TmsError(f"W must be finite; it has {bad} NaN/inf entries")
    return arr


def as_bias(b, W: np.ndarray) -> np.ndarray | None:
    if b is None:
        return None
    shape = W.shape[:-2] + W.shape[-1:]
    try:
        arr = np.broadcast_to(np.asarray(b, dtype=np.float64), shape)
    except ValueError as err:
        raise TmsError(f"b must have shape (..., n) = {shape} to match W {W.shape}; got "
                       f"{np.shape(b)}") from err
    if not np.all(np.isfinite(arr)):
        raise TmsError("b must be finite; it has NaN/inf entries")
    return arr


def check_range(name: str, value: float, lo: float, hi: float, lo_open=False, hi_open=False) -> float:
    value = float(value)
    ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        raise TmsError(f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}; "
                       f"got {value}")
    return value


def norm_cutoff(norms: np.ndarray, norm_threshold: float, relative: bool) -> np.ndarray:
    """Per-model threshold ``(..., 1)`` on ‖W_i‖ (relative: a fraction of the model's largest norm)."""
    if relative:
        check_range("norm_threshold (relative)", norm_threshold, 0.0, 1.0, hi_open=True)
        return norm_threshold * norms.max(axis=-1, keepdims=True)
    check_range("norm_threshold", norm_threshold, 0.0, np.inf, hi_open=True)
    return np.full(norms.shape[:-1] + (1,), float(norm_threshold))


def sq_norms(W: np.ndarray) -> np.ndarray:
    return np.einsum("...mn,...mn->...n", W, W)


def _inverse(x: np.ndarray) -> np.ndarray:
    return np.divide(1.0, x, out=np.zeros_like(x), where=x > 0)


def feature_norms(W) -> np.ndarray:
    """‖W_i‖: ``(..., m, n) -> (..., n)``."""
    return np.sqrt(sq_norms(as_weights(W)))


def frobenius_count(W) -> np.ndarray:
    """‖W‖_F²: ``(..., m, n) -> (...)``."""
    return sq_norms(as_weights(W)).sum(axis=-1)


def dims_per_feature(W) -> np.ndarray:
    """D* = m / ‖W‖_F²: ``(..., m, n) -> (...)``; ``inf`` for an all-zero W."""
    W = as_weights(W)
    fro = sq_norms(W).sum(axis=-1)
    return np.divide(float(W.shape[-2]), fro, out=np.full_like(fro, np.inf), where=fro > 0)


def interference(W) -> np.ndarray:
    """Ŵ_i·W_j: ``(..., m, n) -> (..., n, n)`` (row i, column j); row i is 0 when W_i = 0."""
    W = as_weights(W)
    gram = np.swapaxes(W, -1, -2) @ W
    return _inverse(np.sqrt(sq_norms(W)))[..., :, None] * gram


def cosines(W) -> np.ndarray:
    """Ŵ_i·Ŵ_j: ``(..., m, n) -> (..., n, n)``; rows and columns of zero features are 0."""
    W = as_weights(W)
    inv = _inverse(np.sqrt(sq_norms(W)))
    return inv[..., :, None] * (np.swapaxes(W, -1, -2) @ W) * inv[..., None, :]


def superposition(W) -> np.ndarray:
    """Σ_{j≠i} (Ŵ_i·W_j)²: ``(..., m, n) -> (..., n)``."""
    W = as_weights(W)
    total = (interference(W) ** 2).sum(axis=-1)
    return np.maximum(total - sq_norms(W), 0.0)


def feature_dimensionality(W) -> np.ndarray:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²: ``(..., m, n) -> (..., n)``; 0 for a zero feature."""
    W = as_weights(W)
    denom = (interference(W) ** 2).sum(axis=-1)
    return np.divide(sq_norms(W), denom, out=np.zeros_like(denom), where=denom > 0)


def index_frame(lead: tuple[int, ...], axes) -> pd.DataFrame:
    """One row per model (C order) with a column per leading axis: its index, or ``axes[name]`` values."""
    if axes is None:
        names, coords = [f"axis{k}" for k in range(len(lead))], [None] * len(lead)
    elif isinstance(axes, Mapping):
        names = [str(k) for k in axes]
        coords = [np.asarray(v) for v in axes.values()]
    elif isinstance(axes, Sequence) and not isinstance(axes, str):
        names, coords = [str(a) for a in axes], [None] * len(lead)
    else:
        raise TmsError(f"axes must be a sequence of names or a mapping name -> values; got {axes!r}")
    if len(names) != len(lead):
        raise TmsError(f"axes must name each of the {len(lead)} leading axes of W {lead}; got {names}")
    grids = np.meshgrid(*[np.arange(s) for s in lead], indexing="ij") if lead else []
    cols = {}
    for name, size, c, g in zip(names, lead, coords, grids):
        if c is not None and (c.ndim != 1 or len(c) != size):
            raise TmsError(f"axes[{name!r}] must hold {size} values (one per index); got shape {c.shape}")
        cols[name] = g.reshape(-1) if c is None else c[g.reshape(-1)]
    return pd.DataFrame(cols, index=pd.RangeIndex(int(np.prod(lead, dtype=int))))


def feature_frame(W, b=None, axes=None, *, norm_threshold: float = 0.5, relative: bool = False) -> pd.DataFrame:
    """One row per (model, feature): index columns, feature, norm, superposition, dimensionality,
    represented, bias and bias_sign (−1/0/+1; NA and NaN when ``b`` is None)."""
    W = as_weights(W)
    b = as_bias(b, W)
    lead, n = W.shape[:-2], W.shape[-1]
    norms = np.sqrt(sq_norms(W))
    idx = index_frame(lead, axes)
    df = idx.loc[idx.index.repeat(n)].reset_index(drop=True)
    df["feature"] = np.tile(np.arange(n), len(idx))
    df["norm"] = norms.reshape(-1)
    df["superposition"] = superposition(W).reshape(-1)
    df["dimensionality"] = feature_dimensionality(W).reshape(-1)
    df["represented"] = (norms > norm_cutoff(norms, norm_threshold, relative)).reshape(-1)
    if b is None:
        df["bias"] = np.nan
        df["bias_sign"] = pd.array([pd.NA] * len(df), dtype="Int8")
    else:
        df["bias"] = b.reshape(-1)
        df["bias_sign"] = pd.array(np.sign(b).reshape(-1).astype(np.int8), dtype="Int8")
    return df


# ---------------------------------------------------------------------- finite data: training points
#
# Henighan et al. (2023), "Superposition, Memorization, and Double Descent": a model trained on T examples
# x_t has hidden training vectors h_t = W x_t, ``H: (..., T, m)``, and each point a dimensionality
# D_{X_t} = ‖h_t‖² / Σ_s (ĥ_t·h_s)², the feature dimensionality with points in the place of features.


def datapoint_dimensionality(H) -> np.ndarray:
    """D_{X_t} = ‖h_t‖² / Σ_s (ĥ_t·h_s)² of hidden vectors ``H: (..., T, m) -> (..., T)``; 0 where h_t = 0.

    Computed as ‖h_t‖⁴ / h_tᵀ G h_t with G = Σ_s h_s h_sᵀ (``m × m``), so no ``T × T`` matrix is built; the
    same value as :func:`feature_dimensionality` of ``Hᵀ`` (tested). Zero rows (padding) change nothing.
    """
    H = as_weights(H)
    sq = np.einsum("...tm,...tm->...t", H, H)
    G = np.swapaxes(H, -1, -2) @ H
    quad = np.einsum("...tm,...mk,...tk->...t", H, G, H)
    return np.divide(sq * sq, quad, out=np.zeros_like(sq), where=quad > 0)


def strong_items(norms, dims, fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Count and mean dimensionality of the *strong* items: norm above ``fraction`` of the largest.

    ``norms, dims: (..., k)`` (features: ‖W_i‖ and D_i; training points: ‖h_t‖ and D_{X_t}) ->
    ``(count (...), mean D (...))``; the mean is NaN where every norm is 0. Unlike Σ D (≈ m in every regime),
    these separate memorising (strong points at D ≈ m/T) from generalising (strong features of a k-gon).
    """
    check_range("fraction", fraction, 0.0, 1.0, hi_open=True)
    norms, dims = np.asarray(norms, np.float64), np.asarray(dims, np.float64)
    top = norms.max(axis=-1, keepdims=True)
    strong = (norms > fraction * top) & (top > 0)
    count = strong.sum(axis=-1)
    total = np.where(strong, dims, 0.0).sum(axis=-1)
    return count, np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


PEAK_RISE = 0.005  # an interior test-loss peak stands this far above the lowest loss before it and the last one


def interior_peaks(loss, rise: float = PEAK_RISE) -> list[int]:
    """Indices j (not the first or last) of a loss curve over increasing T whose value stands ``rise`` above
    both the lowest loss before j and the loss at the largest T: the curve rises to them and falls after them
    (the data double-descent peak). NaN entries are never peaks."""
    check_range("rise", rise, 0.0, np.inf)
    loss = np.asarray(loss, np.float64)
    return [j for j in range(1, len(loss) - 1) if loss[j] > np.nanmin(loss[:j]) + rise and loss[j] > loss[-1] + rise]


def peak_index(loss, rise: float = PEAK_RISE) -> int | None:
    """The highest of :func:`interior_peaks` (None when the curve has none)."""
    inner = interior_peaks(loss, rise)
    loss = np.asarray(loss, np.float64)
    return max(inner, key=lambda j: loss[j]) if inner else None
