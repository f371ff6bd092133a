"""Polytopes of trained weights: tegum factors, named polytopes, the census, and k-gon labels.

Axis names as in :mod:`tms.analysis.measures`: ``W: (..., m, n)``, ``b: (..., n)``.

A feature is *represented* when ‖W_i‖ exceeds ``norm_threshold`` (absolute, default 0.5: the toy models'
kept features have norm ≈ 1 and dropped ones ≈ 0; with ``relative=True`` the threshold is a fraction of the
model's largest norm, for weights of any scale). Represented features are grouped into *tegum factors*:
joined where |Ŵ_i·Ŵ_j| exceeds ``interference_threshold`` (default 0.2, below the weakest coupling that
holds every named polytope together: 1/3 in the tetrahedron), then split where the joined set is not a
polytope family but falls apart into parts spanning nearly orthogonal subspaces (``span_tol``; see
:mod:`tms.analysis.families`). Each factor gets k (features), r (numerical rank: singular values above
``rank_tol`` times the largest) and a family name recognised by structure (:func:`families.family_name`:
equal norms within ``norm_rtol``, every sorted cosine row equal within ``gram_tol``, and the combinatorial
type):

    dedicated (1 in 1)   digon (2 in 1)   triangle, pentagon, kgon (k in 2)   tetrahedron (4 in 3)
    triangular_antiprism (6 in 3, the octahedron's family)   square_antiprism (8 in 3, any height)
    cube (8 in 3)   icosahedron (12 in 3)   tight_frame ("uniform tight frame (k in r)")   irregular

Only norms and cosines (and the hull of the unit vectors) are used, so the names are invariant under
rotations of the hidden space and permutations of features. The square antiprism is named at every height:
the tight one (squares at heights ±1/√3, D_i = 3/8, the shape the paper reports) and the equal-edge one
(D_i ≈ 0.366) alike; ``max_dim_deviation`` (max |D_i − r/k|) tells them apart.

k-gon labels (Chen et al. 2023, m = 2): the number k of represented features followed by one ``+`` per
unrepresented feature with a positive bias (``"5"``, ``"5+"``, ``"4++"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import TmsError
from . import families
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

POLYTOPES = (*families.FAMILIES, "irregular")


_LABEL_ORDER = ("icosahedron", "cube", "square_antiprism", "triangular_antiprism", "tight_frame", "kgon",
                "pentagon", "tetrahedron", "triangle", "digon", "dedicated", "irregular")


def polytope_vectors(name: str, k: int | None = None) -> np.ndarray:
    """Unit vectors ``(r, k)`` of the ideal polytope ``name`` (``k`` is needed only for ``"kgon"``)."""
    if name == "dedicated":
        return np.ones((1, 1))
    if name == "digon":
        return np.array([[1.0, -1.0]])
    if name in ("triangle", "pentagon", "kgon"):
        k = {"triangle": 3, "pentagon": 5}.get(name, k)
        if k is None or k < 2:
            raise TmsError(f"kgon needs k >= 2 vertices; got {k}")
        theta = 2 * np.pi * np.arange(k) / k
        return np.stack([np.cos(theta), np.sin(theta)])
    if name == "tetrahedron":
        return np.array([[1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]) / np.sqrt(3.0)
    if name == "square_antiprism":
        h, rho = 1 / np.sqrt(3.0), np.sqrt(2.0 / 3.0)
        phi = np.pi / 2 * np.arange(8) + np.pi / 4 * (np.arange(8) >= 4)
        return np.stack([rho * np.cos(phi), rho * np.sin(phi), np.where(np.arange(8) < 4, h, -h)])
    raise TmsError(f"name must be one of {POLYTOPES[:-1]}; got {name!r}")


class Factor(NamedTuple):
    """One tegum factor of a model: its features, size k, rank r, family name (``irregular`` unless the
    factor is a recognised family), regularity, max |D_i − r/k| over its features, and the features'
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
    span_tol: float = 0.3
    face_tol_deg: float = 10.0

    def checked(self) -> "Thresholds":
        check_range("interference_threshold", self.interference_threshold, 0.0, 1.0, hi_open=True)
        check_range("rank_tol", self.rank_tol, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("gram_tol", self.gram_tol, 0.0, 2.0, lo_open=True)
        check_range("norm_rtol", self.norm_rtol, 0.0, 1.0)
        check_range("span_tol", self.span_tol, 0.0, 1.0)
        check_range("face_tol_deg", self.face_tol_deg, 0.0, 45.0, lo_open=True)
        return self


def _thresholds(kwargs: dict) -> Thresholds:
    unknown = sorted(set(kwargs) - set(Thresholds._fields))
    if unknown:
        raise TmsError(f"unknown threshold(s) {unknown}; allowed: {list(Thresholds._fields)}")
    return Thresholds(**kwargs)


def _classify_one(W: np.ndarray, norms: np.ndarray, dims: np.ndarray, cos: np.ndarray, rep: np.ndarray,
                  b: np.ndarray | None, t: Thresholds) -> list[Factor]:
    def rank(f):
        sv = np.linalg.svd(W[:, f], compute_uv=False)
        return int(np.sum(sv > t.rank_tol * sv[0]))

    def name(f):
        return families.family_name(W[:, f], norms[f], cos[np.ix_(f, f)], rank(f), t)

    factors = []
    for f in families.split_factors(np.flatnonzero(rep), W, cos, lambda f: name(f) != "irregular", t):
        nm = name(f)
        factors.append(Factor(
            features=tuple(int(i) for i in f), k=len(f), r=rank(f), name=nm, regular=nm != "irregular",
            max_dim_deviation=float(np.max(np.abs(dims[f] - rank(f) / len(f)))),
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
    ``relative=False``, ``interference_threshold=0.2``, ``rank_tol=0.1``, ``gram_tol=0.1``, ``norm_rtol=0.1``, ``span_tol=0.3``, ``face_tol_deg=10``."""
    W, b, t, norms, dims, cos, rep = _prepare(W, b, _thresholds(thresholds))
    if W.ndim != 2:
        raise TmsError(f"classify takes one model W: (m, n); got shape {W.shape} (use polytope_census)")
    return _classify_one(W, norms, dims, cos, rep, b, t)


def _factor_label(f: Factor) -> str:
    if f.name == "kgon":
        return f"{f.k}-gon"
    if f.name == "irregular":
        return f"irregular({f.k} in {f.r})"
    if f.name == "tight_frame":
        return f"uniform tight frame ({f.k} in {f.r})"
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
        raise TmsError(f"kgon labels need m = 2 hidden dims; W has shape {W.shape}")
    if b is None:
        raise TmsError("kgon labels need the bias b: (..., n) to count '+' features")
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
        raise TmsError(f"kgon_label takes one model W: (2, n); got shape {np.shape(W)} (use kgon_labels)")
    return str(out)


def kgon_angle_error(W, *, norm_threshold: float = 0.5, relative: bool = False) -> np.ndarray:
    """``(..., 2, n) -> (...)``: max |gap − 2π/k| (radians) between angularly adjacent represented features;
    0 for a regular k-gon, NaN when no feature is represented."""
    W = as_weights(W)
    if W.shape[-2] != 2:
        raise TmsError(f"kgon angles need m = 2 hidden dims; W has shape {W.shape}")
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
