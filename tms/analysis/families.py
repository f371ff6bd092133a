"""Polytope families recognised by structure, and tegum factors split by the subspaces they span.

A set of k feature vectors ``W_f: (m, k)`` spanning r dimensions is named by what is invariant under rotations
of the hidden space and permutations of features, never by matching one ideal shape, so that families with a
free parameter (a square antiprism of any height, a triangular antiprism of any twist height) are named:

1. **equal norms**: every ‖W_i‖ within ``norm_rtol`` of their mean;
2. **vertex-transitive cosine pattern**: every row of the cosine matrix, sorted, is the same multiset (within
   ``gram_tol`` of the mean sorted row), as it is for every vertex-transitive polytope;
3. **combinatorial type**: for r = 2 the k-gon (the only vertex-transitive polygon with equal gaps; its rows
   are compared with the regular k-gon's, which has no free parameter); for r = 3 the convex hull of the unit
   vectors in their span: the number of vertices and the multiset of face sizes (coplanar hull triangles,
   normals within ``face_tol_deg``, are merged into one face; every vertex has degree 2E/V by Euler's
   formula). ``HULL_TYPES`` names the types; the octahedron is the triangular antiprism at one height, where
   its three antipodal pairs are orthogonal (and it splits into three digons, see below).

A set that passes 1 and 2 but has no named type and is a **tight frame** (its non-zero squared singular values
agree within ``norm_rtol``; then every D_i = r/k) is a ``tight_frame``, labelled "uniform tight frame (k in r)";
anything else is ``irregular``.

**Tegum factors.** Features first join where |cos| > ``interference_threshold``. A joined set that is not a
family is then split, if it can be: the joining threshold is raised step by step (``SPLIT_LEVELS``) inside it,
and the first split whose parts span nearly orthogonal subspaces (the largest cosine of a principal angle
between any two parts' spans, :func:`span_coupling`, at most ``span_tol``) is kept, each part split again in
turn. So a few stray cosines above the threshold between two orthogonal polytopes no longer weld a large
model into one frame, while a polytope whose vertices interfere strongly stays whole. A triangular bipyramid
(a digon on the axis of a triangle) is the tegum product of the two and is found as ``triangle + digon``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError

# (vertices, sorted face sizes) -> family of three-dimensional vertex-transitive polytopes.
HULL_TYPES = {
    (4, (3, 3, 3, 3)): "tetrahedron",
    (6, (3,) * 8): "triangular_antiprism",
    (8, (3,) * 8 + (4, 4)): "square_antiprism",
    (8, (4,) * 6): "cube",
    (12, (3,) * 20): "icosahedron",
}
# Regular polygons with their own names (others are "kgon").
POLYGONS = {3: "triangle", 5: "pentagon"}
FAMILIES = ("dedicated", "digon", "triangle", "pentagon", "kgon", *dict.fromkeys(HULL_TYPES.values()),
            "tight_frame")
SPLIT_LEVELS = tuple(np.round(np.arange(0.25, 0.96, 0.05), 2))


def span_basis(W: np.ndarray, rank_tol: float) -> np.ndarray:
    """Orthonormal basis ``(m, r)`` of the span of ``W: (m, k)`` (singular values above ``rank_tol`` × the largest)."""
    U, s, _ = np.linalg.svd(W, full_matrices=False)
    return U[:, s > rank_tol * s[0]] if s.size and s[0] > 0 else U[:, :0]


def span_coupling(Wa: np.ndarray, Wb: np.ndarray, rank_tol: float) -> float:
    """Cosine of the smallest principal angle between the spans of ``Wa: (m, ka)`` and ``Wb: (m, kb)``
    (0: orthogonal subspaces, 1: they share a direction)."""
    Qa, Qb = span_basis(Wa, rank_tol), span_basis(Wb, rank_tol)
    if not Qa.size or not Qb.size:
        return 0.0
    return float(np.linalg.svd(Qa.T @ Qb, compute_uv=False)[0])


def vertex_transitive(cos: np.ndarray, gram_tol: float) -> bool:
    """Every sorted row of the cosine matrix ``(k, k)`` within ``gram_tol`` of the mean sorted row."""
    rows = np.sort(cos, axis=-1)
    return bool(np.max(np.abs(rows - rows.mean(axis=0))) <= gram_tol)


def is_tight(W: np.ndarray, r: int, rtol: float) -> bool:
    """``W: (m, k)`` of rank ``r`` is a tight frame: its r largest squared singular values agree within ``rtol``."""
    s2 = np.linalg.svd(W, compute_uv=False)[:r] ** 2
    return bool(s2[-1] > 0 and s2[0] / s2[-1] - 1.0 <= rtol)


def regular_polygon_row(k: int) -> np.ndarray:
    """Sorted cosines of one vertex of the regular k-gon with all vertices."""
    return np.sort(np.cos(2 * np.pi * np.arange(k) / k))


def hull_type(U: np.ndarray, face_tol_deg: float) -> tuple[int, tuple[int, ...]] | None:
    """Combinatorial type ``(vertices, sorted face sizes)`` of the convex hull of ``U: (3, k)``, or None when
    some point is not a hull vertex or the hull is degenerate."""
    try:
        hull = ConvexHull(U.T)
    except (QhullError, ValueError):
        return None
    if len(hull.vertices) != U.shape[1]:
        return None
    normals = hull.equations[:, :3]
    cos_tol = np.cos(np.deg2rad(face_tol_deg))
    group = -np.ones(len(normals), dtype=int)
    for i in range(len(normals)):  # merge hull triangles whose normals agree: one polygonal face
        if group[i] < 0:
            group[(group < 0) & (normals @ normals[i] >= cos_tol)] = i
    faces = [len(np.unique(hull.simplices[group == g])) for g in np.unique(group)]
    return U.shape[1], tuple(sorted(faces))


def family_name(W: np.ndarray, norms: np.ndarray, cos: np.ndarray, r: int, t) -> str:
    """The family of one factor ``W: (m, k)`` of rank ``r`` (norms ``(k,)``, cosines ``(k, k)``), by structure;
    ``t`` carries ``norm_rtol``, ``gram_tol``, ``rank_tol`` and ``face_tol_deg``. ``"irregular"`` if none fits."""
    k = W.shape[1]
    if k == 1:
        return "dedicated"
    if np.max(np.abs(norms / norms.mean() - 1.0)) > t.norm_rtol or not vertex_transitive(cos, t.gram_tol):
        return "irregular"
    if r == 1 and k == 2 and cos[0, 1] < -1.0 + t.gram_tol:
        return "digon"
    polygon = r == 2 and k >= 3
    if polygon and np.max(np.abs(np.sort(cos, axis=-1) - regular_polygon_row(k)[None, :])) <= t.gram_tol:
        return POLYGONS.get(k, "kgon")
    if r == 3 and k >= 4:
        Q = span_basis(W, t.rank_tol)
        U = Q.T @ (W / norms[None, :])
        name = HULL_TYPES.get(hull_type(U, t.face_tol_deg))
        if name is not None:
            return name
    return "tight_frame" if r >= 2 and is_tight(W, r, t.norm_rtol) else "irregular"


def components(adj: np.ndarray) -> list[list[int]]:
    """Connected components of a boolean adjacency matrix, each sorted, ordered by smallest member."""
    if not len(adj):
        return []
    _, lab = connected_components(csr_matrix(adj), directed=False)
    comps: dict[int, list[int]] = {}
    for i, c in enumerate(lab):
        comps.setdefault(int(c), []).append(i)
    return sorted(comps.values(), key=lambda c: c[0])


def coupled_parts(parts: list[np.ndarray], W: np.ndarray, t) -> np.ndarray:
    """``(P, P)`` bool: the spans of two parts couple by more than ``t.span_tol`` (diagonal True).

    The Frobenius norm of ``Q_aᵀ Q_b`` (all pairs at once) bounds the largest principal cosine from above, so
    the singular values are computed only for pairs whose bound exceeds the tolerance."""
    bases = [span_basis(W[:, p], t.rank_tol) for p in parts]
    Q = np.concatenate(bases, axis=1)
    starts = np.cumsum([0] + [q.shape[1] for q in bases])[:-1]
    G2 = (Q.T @ Q) ** 2
    fro = np.sqrt(np.add.reduceat(np.add.reduceat(G2, starts, axis=0), starts, axis=1))
    out = fro > t.span_tol
    for i, j in zip(*np.nonzero(np.triu(out, 1))):
        out[i, j] = out[j, i] = np.linalg.svd(bases[i].T @ bases[j], compute_uv=False)[0] > t.span_tol
    np.fill_diagonal(out, True)
    return out


def orthogonal_parts(parts: list[np.ndarray], W: np.ndarray, t) -> list[np.ndarray]:
    """Merge the feature sets ``parts`` whose spans couple by more than ``t.span_tol`` until every two
    remaining sets span nearly orthogonal subspaces; returns the merged sets."""
    parts = list(parts)
    while len(parts) >= 2:
        coupled = coupled_parts(parts, W, t)
        if coupled.sum() == len(parts):
            break
        parts = [np.sort(np.concatenate([parts[i] for i in c])) for c in components(coupled)]
    return parts


def split_factors(feats: np.ndarray, W: np.ndarray, cos: np.ndarray, is_family: Callable[[np.ndarray], bool],
                  t) -> list[np.ndarray]:
    """Tegum factors of the represented features ``feats`` of ``W: (m, n)`` (cosines ``(n, n)``).

    ``is_family(f)`` says whether the feature set ``f`` is a named family (kept whole). See the module
    docstring for the splitting rule (``interference_threshold``, ``SPLIT_LEVELS``, ``span_tol``).
    """
    out: list[np.ndarray] = []

    def split(f: np.ndarray, level_from: int):
        if len(f) == 1 or is_family(f):
            out.append(f)
            return
        sub = np.abs(cos[np.ix_(f, f)])
        for li in range(level_from, len(SPLIT_LEVELS)):
            parts = orthogonal_parts([f[c] for c in components(sub > SPLIT_LEVELS[li])], W, t)
            if len(parts) >= 2:
                for p in parts:
                    split(p, li)
                return
        out.append(f)

    for comp in components(np.abs(cos[np.ix_(feats, feats)]) > t.interference_threshold):
        split(feats[comp], 0)
    return sorted(out, key=lambda f: int(f[0]))


def antipodal_pairs(W: np.ndarray, tol: float = 0.05) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, i < j, of features of ``W: (m, n)`` with cosine below −1 + ``tol`` (antipodal), each
    feature in at most one pair (its most antipodal partner), ordered by i."""
    norms = np.linalg.norm(W, axis=0)
    U = W / np.where(norms > 0, norms, 1.0)
    cos = U.T @ U
    np.fill_diagonal(cos, np.inf)
    pairs, used = [], set()
    for i in range(W.shape[1]):
        j = int(np.argmin(cos[i]))
        if i not in used and j not in used and cos[i, j] < -1.0 + tol and norms[i] > 0 and norms[j] > 0:
            pairs.append((min(i, j), max(i, j)))
            used.update((i, j))
    return sorted(pairs)
