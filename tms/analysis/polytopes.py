"""Polytopes of trained weights: tegum factors, named polytopes, the census, and k-gon labels.

Axis names as in :mod:`tms.analysis.measures`: ``W: (..., m, n)``, ``b: (..., n)``.

A feature is *represented* when ‖W_i‖ exceeds ``norm_threshold`` (absolute, default 0.5: the toy models' kept features have norm ≈ 1 and dropped ones
≈ 0; with ``relative=True`` the threshold is a fraction of the model's largest norm, for weights of any
scale). Represented features are joined when their cosine |Ŵ_i·Ŵ_j| exceeds ``interference_threshold``
(default 0.2); the connected components are the *tegum factors*. 0.2 sits well below the weakest coupling
that holds every named polytope together (each must stay connected: 1/3 in the tetrahedron, whose pairs all
have cosine −1/3; ≥ 0.5 in triangle, pentagon and antiprism spanning trees) and well above the stray
cosines between orthogonal factors of a trained model (≤ 0.013 in the n=5, m=2 intro models). Each factor
gets k (features), r (numerical rank: singular values above ``rank_tol`` times the largest) and a candidate
name from (k, r):

    (1, 1) dedicated   (2, 1) digon   (3, 2) triangle   (4, 3) tetrahedron   (5, 2) pentagon
    (k ≥ 4, 2) kgon    (8, 3) square_antiprism          otherwise irregular

The candidate is kept if the factor is *regular*: its norms agree within ``norm_rtol`` of their mean, and
every row of its cosine matrix, sorted, matches the sorted row of the ideal polytope within ``gram_tol``
(each named polytope is vertex-transitive, so all ideal rows share one multiset). The test sees only norms
and cosines, so it is invariant under rotations of the hidden space and permutations of features; it is a
necessary condition for congruence and in practice a sufficient one for these small shapes. Irregular
factors are named ``irregular``. The ideal square antiprism is the unit-norm tight frame (two squares
rotated by 45° at heights ±1/√3; D_i = 3/8), which is the shape the paper reports; the equal-edge
(Archimedean) antiprism is not a tight frame (D_i ≈ 0.366) and fails the test at the default tolerance.

k-gon labels (Chen et al. 2023, m = 2): the number k of represented features followed by one ``+`` per
unrepresented feature with a positive bias (``"5"``, ``"5+"``, ``"4++"``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from .measures import (
    as_bias,
    as_weights,
    check_range,
    cosines,
    dims_per_feature,
    feature_dimensionality,
    index_frame,
    norm_cutoff,
    sq_norms,
)

POLYTOPES = ("dedicated", "digon", "triangle", "tetrahedron", "pentagon", "kgon", "square_antiprism", "irregular")


_LABEL_ORDER = ("square_antiprism", "kgon", "pentagon", "tetrahedron", "triangle", "digon", "dedicated",
                "irregular")


_NAMED = {(1, 1): "dedicated", (2, 1): "digon", (3, 2): "triangle", (4, 3): "tetrahedron", (5, 2): "pentagon",
          (8, 3): "square_antiprism"}


def polytope_vectors(name: str, k: int | None = None) -> np.ndarray:
    """Unit vectors ``(r, k)`` of the ideal polytope ``name`` (``k`` is needed only for ``"kgon"``)."""
    if name == "dedicated":
        return np.ones((1, 1))
    if name == "digon":
        return np.array([[1.0, -1.0]])
    if name in ("triangle", "pentagon", "kgon"):
        k = {"triangle": 3, "pentagon": 5}.get(name, k)
        if k is None or k < 2:
            raise ValueError(f"kgon needs k >= 2 vertices; got {k}")
        theta = 2 * np.pi * np.arange(k) / k
        return np.stack([np.cos(theta), np.sin(theta)])
    if name == "tetrahedron":
        return np.array([[1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]) / np.sqrt(3.0)
    if name == "square_antiprism":
        h, rho = 1 / np.sqrt(3.0), np.sqrt(2.0 / 3.0)
        phi = np.pi / 2 * np.arange(8) + np.pi / 4 * (np.arange(8) >= 4)
        return np.stack([rho * np.cos(phi), rho * np.sin(phi), np.where(np.arange(8) < 4, h, -h)])
    raise ValueError(f"name must be one of {POLYTOPES[:-1]}; got {name!r}")


def _candidate(k: int, r: int) -> str:
    if (k, r) in _NAMED:
        return _NAMED[(k, r)]
    return "kgon" if (r == 2 and k >= 4) else "irregular"


class Factor(NamedTuple):
    """One tegum factor of a model: its features, size k, rank r, polytope name (``irregular`` unless the
    factor passes the regularity test), regularity, max |D_i − r/k| over its features, and the features'
    biases (None without ``b``)."""

    features: tuple[int, ...]
    k: int
    r: int
    name: str
    regular: bool
    max_dim_deviation: float
    bias: tuple[float, ...] | None = None


class Thresholds(NamedTuple):
    norm_threshold: float = 0.5
    relative: bool = False
    interference_threshold: float = 0.2
    rank_tol: float = 0.1
    gram_tol: float = 0.1
    norm_rtol: float = 0.1

    def checked(self) -> "Thresholds":
        check_range("interference_threshold", self.interference_threshold, 0.0, 1.0, hi_open=True)
        check_range("rank_tol", self.rank_tol, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("gram_tol", self.gram_tol, 0.0, 2.0, lo_open=True)
        check_range("norm_rtol", self.norm_rtol, 0.0, 1.0)
        return self


def _thresholds(kwargs: dict) -> Thresholds:
    unknown = sorted(set(kwargs) - set(Thresholds._fields))
    if unknown:
        raise ValueError(f"unknown threshold(s) {unknown}; allowed: {list(Thresholds._fields)}")
    return Thresholds(**kwargs)


def _components(adj: np.ndarray) -> list[list[int]]:
    """Connected components of a boolean adjacency matrix, each sorted, ordered by smallest member."""
    seen, comps = np.zeros(len(adj), bool), []
    for start in range(len(adj)):
        if seen[start]:
            continue
        stack, comp = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.flatnonzero(adj[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        comps.append(sorted(comp))
    return comps


@functools.lru_cache(maxsize=64)
def _ideal_row(name: str, k: int) -> np.ndarray:
    """Sorted cosines of one vertex of the ideal polytope with all vertices (the same for every vertex)."""
    ideal = polytope_vectors(name, k)
    row = np.sort(ideal[:, 0] @ ideal)
    row.setflags(write=False)
    return row


def _regular(name: str, k: int, norms: np.ndarray, cos: np.ndarray, t: Thresholds) -> bool:
    if name == "irregular":
        return False
    if np.max(np.abs(norms / norms.mean() - 1.0)) > t.norm_rtol:
        return False
    ideal_row = _ideal_row(name, k)
    return bool(np.max(np.abs(np.sort(cos, axis=-1) - ideal_row[None, :])) <= t.gram_tol)


def _classify_one(W: np.ndarray, norms: np.ndarray, dims: np.ndarray, cos: np.ndarray, rep: np.ndarray,
                  b: np.ndarray | None, t: Thresholds) -> list[Factor]:
    feats = np.flatnonzero(rep)
    adj = np.abs(cos[np.ix_(feats, feats)]) > t.interference_threshold
    factors = []
    for comp in _components(adj):
        f, k = feats[comp], len(comp)
        if k == 1:  # a lone represented feature: a dedicated dimension
            r, name, regular = 1, "dedicated", True
        else:
            sv = np.linalg.svd(W[:, f], compute_uv=False)
            r = int(np.sum(sv > t.rank_tol * sv[0]))
            name = _candidate(k, r)
            regular = _regular(name, k, norms[f], cos[np.ix_(f, f)], t)
        factors.append(Factor(
            features=tuple(int(i) for i in f), k=k, r=r, name=name if regular else "irregular", regular=regular,
            max_dim_deviation=float(np.max(np.abs(dims[f] - r / k))),
            bias=None if b is None else tuple(float(x) for x in b[f])))
    return factors


def _prepare(W, b, t: Thresholds):
    W = as_weights(W)
    b = as_bias(b, W)
    t = t.checked()
    norms = np.sqrt(sq_norms(W))
    rep = norms > norm_cutoff(norms, t.norm_threshold, t.relative)
    return W, b, t, norms, feature_dimensionality(W), cosines(W), rep


def classify(W, b=None, **thresholds) -> list[Factor]:
    """Tegum factors of one model ``W: (m, n)`` (``b: (n,)`` optional), as :class:`Factor` records ordered
    by their smallest feature. Keyword thresholds (see the module docstring): ``norm_threshold=0.5``,
    ``relative=False``, ``interference_threshold=0.2``, ``rank_tol=0.1``, ``gram_tol=0.1``, ``norm_rtol=0.1``."""
    W, b, t, norms, dims, cos, rep = _prepare(W, b, _thresholds(thresholds))
    if W.ndim != 2:
        raise ValueError(f"classify takes one model W: (m, n); got shape {W.shape} (use polytope_census)")
    return _classify_one(W, norms, dims, cos, rep, b, t)


def _factor_label(f: Factor) -> str:
    if f.name == "kgon":
        return f"{f.k}-gon"
    if f.name == "irregular":
        return f"irregular({f.k} in {f.r})"
    return f.name


def _census_label(factors: list[Factor], dropped: int) -> str:
    counts: dict[str, int] = {}
    order = {name: i for i, name in enumerate(_LABEL_ORDER)}
    for f in sorted(factors, key=lambda f: (order[f.name], -f.k, -f.r)):
        lab = _factor_label(f)
        counts[lab] = counts.get(lab, 0) + 1
    parts = [lab if c == 1 else f"{c}×{lab}" for lab, c in counts.items()]
    if dropped:
        parts.append(f"{dropped} dropped")
    return " + ".join(parts) if parts else "none"


def census_columns(lead_names: Sequence[str] = ()) -> list[str]:
    """Columns of :func:`polytope_census` after the index columns ``lead_names``."""
    return (list(lead_names) + ["n_features", "n_hidden", "n_represented", "n_not_represented"]
            + [f"n_{p}" for p in POLYTOPES] + [f"factors_{p}" for p in POLYTOPES]
            + ["n_dropped_positive_bias", "frobenius", "dims_per_feature", "max_dim_deviation", "label"])


def polytope_census(W, b=None, axes=None, **thresholds) -> pd.DataFrame:
    """One row per model of ``W: (..., m, n)`` (leading axes flattened in C order, index columns kept):
    features per polytope type (``n_<type>``), factors per type (``factors_<type>``), dropped features,
    dropped features with positive bias (NA without ``b``), ‖W‖_F², D*, the largest |D_i − r/k| over
    represented features, and a text label like ``"pentagon + digon + 1 dropped"``."""
    W, b, t, norms, dims, cos, rep = _prepare(W, b, _thresholds(thresholds))
    lead, (m, n) = W.shape[:-2], W.shape[-2:]
    idx = index_frame(lead, axes)
    flat = [a.reshape((-1,) + a.shape[len(lead):]) for a in (W, norms, dims, cos, rep)]
    bflat = None if b is None else b.reshape(-1, n)
    rows = []
    for i in range(len(idx)):
        Wi, ni, di, ci, ri = (a[i] for a in flat)
        factors = _classify_one(Wi, ni, di, ci, ri, None, t)
        n_rep = int(ri.sum())
        row = {"n_features": n, "n_hidden": m, "n_represented": n_rep, "n_not_represented": n - n_rep}
        row.update({f"n_{p}": sum(f.k for f in factors if f.name == p) for p in POLYTOPES})
        row.update({f"factors_{p}": sum(f.name == p for f in factors) for p in POLYTOPES})
        row["n_dropped_positive_bias"] = pd.NA if bflat is None else int(np.sum(~ri & (bflat[i] > 0)))
        row["max_dim_deviation"] = max((f.max_dim_deviation for f in factors), default=np.nan)
        row["label"] = _census_label(factors, n - n_rep)
        rows.append(row)
    body = pd.DataFrame(rows, index=idx.index, columns=[c for c in census_columns() if c not in
                                                        ("frobenius", "dims_per_feature")])
    body["frobenius"] = (norms ** 2).sum(axis=-1).reshape(-1)
    body["dims_per_feature"] = dims_per_feature(W).reshape(-1)
    body["n_dropped_positive_bias"] = body["n_dropped_positive_bias"].astype("Int64")
    df = pd.concat([idx, body], axis=1)
    return df[census_columns(list(idx.columns))]


def kgon_labels(W, b, *, norm_threshold: float = 0.5, relative: bool = False,
                bias_threshold: float = 0.0) -> np.ndarray:
    """Chen et al. (2023) labels for ``W: (..., 2, n)``, ``b: (..., n)`` -> ``(...)`` strings: the number k
    of represented features (nominally a k-gon, see :func:`kgon_angle_error`) followed by one ``+`` per
    unrepresented feature with bias > ``bias_threshold`` (e.g. ``"5"``, ``"5+"``, ``"4++"``)."""
    W = as_weights(W)
    if W.shape[-2] != 2:
        raise ValueError(f"kgon labels need m = 2 hidden dims; W has shape {W.shape}")
    if b is None:
        raise ValueError("kgon labels need the bias b: (..., n) to count '+' features")
    b = as_bias(b, W)
    norms = np.sqrt(sq_norms(W))
    rep = norms > norm_cutoff(norms, norm_threshold, relative)
    k = rep.sum(axis=-1)
    plus = (~rep & (b > float(bias_threshold))).sum(axis=-1)
    out = np.array([f"{ki}{'+' * pi}" for ki, pi in zip(k.reshape(-1), plus.reshape(-1))], dtype=str)
    return out.reshape(k.shape) if out.size else np.zeros(k.shape, dtype="<U1")


def kgon_label(W, b, **kwargs) -> str:
    """:func:`kgon_labels` for one model ``W: (2, n)``, ``b: (n,)``."""
    out = kgon_labels(W, b, **kwargs)
    if out.ndim != 0:
        raise ValueError(f"kgon_label takes one model W: (2, n); got shape {np.shape(W)} (use kgon_labels)")
    return str(out)


def kgon_angle_error(W, *, norm_threshold: float = 0.5, relative: bool = False) -> np.ndarray:
    """``(..., 2, n) -> (...)``: max |gap − 2π/k| (radians) between angularly adjacent represented features;
    0 for a regular k-gon, NaN when no feature is represented."""
    W = as_weights(W)
    if W.shape[-2] != 2:
        raise ValueError(f"kgon angles need m = 2 hidden dims; W has shape {W.shape}")
    norms = np.sqrt(sq_norms(W))
    rep = norms > norm_cutoff(norms, norm_threshold, relative)
    angle = np.arctan2(W[..., 1, :], W[..., 0, :])
    angle, rep = angle.reshape(-1, W.shape[-1]), rep.reshape(-1, W.shape[-1])
    err = np.full(len(angle), np.nan)
    for i in range(len(angle)):
        a = np.sort(angle[i][rep[i]])
        if a.size:
            gaps = np.diff(np.append(a, a[0] + 2 * np.pi))
            err[i] = np.max(np.abs(gaps - 2 * np.pi / a.size))
    return err.reshape(W.shape[:-2])
