"""Neuron families by the published scheme, and the published 4-neuron reconstruction.

Glossary: N = 12,769 inputs (row-major [x, y]), m = d_mlp, C (N, m) each neuron's contribution to
logit[1] − logit[0] (post · (W_out · u), see :mod:`.neurons`); "red" votes for label 1 (C > 0), "blue"
for label 0. Since post ≥ 0, a neuron's contribution has one sign everywhere: its colour is the sign of
W_out[n] · u.

*Families* (RGRGRG, §3.2): neurons whose largest |contribution| exceeds ``MIN_MAGNITUDE`` = 0.5 (the
post's cut) are named by colour and by where on a row they are active: the y-profile of |C| (summed over
rows x) puts a share L of its mass in the left third of y and R in the right third; "all" when both are
at least ``ALL_SHARE``, else "left" or "right", whichever is larger. Published families: red-right,
red-all, blue-left, blue-right (and a small red-left). The names come from the sign and the shape
separately; as a check, :func:`signed_clusters` clusters the uncentred, signed maps (cosine, average
linkage) and :func:`family_table` reports how often a neuron's cluster agrees with its name.

*Zero-ablation protocol* (RGRGRG, §3.1): keep a set S of neurons; every other neuron, the residual stream
and b_out are zero-ablated, so the label is [Σ_{n∈S} C[:, n] > 0] (each kept neuron weighted 1, compared
against 0); the score is the agreement with the model's labels (published: 98.7% for 4 neurons, one per
family). :func:`best_family_set` searches sets with at most one neuron per family exhaustively among the
``top`` neurons (by RMS contribution) of each family.
"""

from __future__ import annotations

from itertools import combinations
from typing import NamedTuple

import numpy as np
import pandas as pd

from tms.challenge import data
from tms.errors import TmsError

MIN_MAGNITUDE = 0.5  # RGRGRG: "all MLP_in neurons with a maximum magnitude greater than 0.5"
ALL_SHARE = 0.25  # "all": at least this share of the y-profile in each outer third
PUBLISHED_FAMILIES = ("red-right", "red-all", "blue-left", "blue-right")
FAMILY_NAMES = ("red-left", "red-all", "red-right", "blue-left", "blue-all", "blue-right")


def _contrib(contrib) -> np.ndarray:
    C = np.asarray(contrib, np.float64)
    if C.ndim != 2 or C.shape[0] != data.N_PAIRS:
        raise TmsError(f"contrib must have shape (N={data.N_PAIRS}, d_mlp); got {C.shape}")
    return C


def family_names(contrib, min_magnitude: float = MIN_MAGNITUDE, all_share: float = ALL_SHARE) -> np.ndarray:
    """(m,) the published-scheme family of each neuron ("red-right", ...; "" when max |C| ≤ min_magnitude)."""
    C = _contrib(contrib)
    prof = np.abs(C).reshape(data.N_VALUES, data.N_VALUES, -1).sum(0)  # (y, m)
    third = data.N_VALUES // 3
    tot = prof.sum(0) + 1e-300
    left, right = prof[:third].sum(0) / tot, prof[-third:].sum(0) / tot
    where = np.where((left >= all_share) & (right >= all_share), "all", np.where(left > right, "left", "right"))
    colour = np.where(C.sum(0) > 0, "red", "blue")
    names = np.char.add(np.char.add(colour, "-"), where).astype(object)
    names[np.abs(C).max(0) <= min_magnitude] = ""
    return names


def canonical_labels(labels) -> np.ndarray:
    """Renumber cluster labels (any hashable ids, one per item) 0, 1, ... by cluster size, largest first,
    ties broken by the cluster's smallest item index: the numbering depends on the partition only."""
    labels = np.asarray(labels)
    ids, inverse = np.unique(labels, return_inverse=True)
    first = np.array([np.flatnonzero(inverse == i)[0] for i in range(len(ids))])
    sizes = np.bincount(inverse, minlength=len(ids))
    order = np.lexsort((first, -sizes))  # last key is primary
    rank = np.empty(len(ids), np.int64)
    rank[order] = np.arange(len(ids))
    return rank[inverse]


def signed_clusters(contrib, members, n_clusters: int) -> np.ndarray:
    """Cluster ids (0..) of ``members`` by average linkage on the cosine distance of their uncentred, signed
    contribution maps, cut into ``n_clusters``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    X = _contrib(contrib)[:, members]
    if len(members) < 2:
        return np.zeros(len(members), np.int64)
    labels = fcluster(linkage(X.T, method="average", metric="cosine"), t=min(n_clusters, len(members)),
                      criterion="maxclust")
    return canonical_labels(labels)


def family_table(contrib) -> pd.DataFrame:
    """One row per neuron: neuron, family (name or ""), max_abs, rms, cluster (signed-map cluster, −1 for
    neurons outside the families) and cluster_family (the most common name in its cluster)."""
    C = _contrib(contrib)
    names = family_names(C)
    members = np.flatnonzero(names != "")
    cl = np.full(C.shape[1], -1)
    cl_name = np.full(C.shape[1], "", dtype=object)
    if len(members):
        cl[members] = signed_clusters(C, members, len(set(names[members])))
        for c in np.unique(cl[members]):
            idx = members[cl[members] == c]
            vals, counts = np.unique(names[idx].astype(str), return_counts=True)
            cl_name[idx] = vals[np.argmax(counts)]
    return pd.DataFrame({"neuron": np.arange(C.shape[1]), "family": names.astype(str), "max_abs": np.abs(C).max(0),
                         "rms": np.sqrt((C**2).mean(0)), "cluster": cl, "cluster_family": cl_name.astype(str)})


def zero_ablation_agreement(contrib, neurons, target) -> float:
    """Agreement with ``target`` (N,) 0/1 of [Σ_{n∈neurons} contrib[:, n] > 0] (RGRGRG's protocol)."""
    C = _contrib(contrib)
    y = np.asarray(target).reshape(-1).astype(bool)
    return float(((C[:, list(neurons)].sum(1) > 0) == y).mean())


def top_per_family(contrib, families, chosen) -> tuple[int, ...]:
    """The neuron of largest RMS contribution in each family of ``chosen`` (no search: one per family)."""
    C = _contrib(contrib)
    names = np.asarray(families).astype(str)
    rms = np.sqrt((C**2).mean(0))
    out = []
    for f in chosen:
        members = np.flatnonzero(names == f)
        if not len(members):
            raise TmsError(f"family {f!r} has no neuron")
        out.append(int(members[np.argmax(rms[members])]))
    return tuple(out)


class FamilySet(NamedTuple):
    neurons: tuple  # the best set found, one neuron per family
    families: tuple  # their families, in the same order
    agreement: float  # zero-ablation agreement with the target labels
    table: pd.DataFrame  # per family combination: families, neurons, agreement, sets_searched (best first)


def _best_in_product(Cs: list[np.ndarray], y: np.ndarray) -> tuple[tuple, float]:
    """Exhaustive search over one column from each (N, top_i) block; returns (column indices, agreement)."""
    partial = np.zeros((1, Cs[0].shape[0]))
    index = [()]
    for block in Cs:
        partial = (partial[:, None, :] + block.T[None, :, :]).reshape(-1, block.shape[0])
        index = [i + (j,) for i in index for j in range(block.shape[1])]
    agree = ((partial > 0) == y[None, :]).mean(1)
    b = int(np.argmax(agree))
    return index[b], float(agree[b])


def best_family_set(contrib, target, families, k: int = 4, top: int = 6,
                    only: tuple[str, ...] | None = None) -> FamilySet:
    """The k-neuron set, at most one neuron per family, whose zero-ablation sum best reproduces ``target``.

    families: (m,) names ("" = no family); every choice of k distinct families (or exactly ``only``) is
    searched exhaustively over the ``top`` neurons by RMS contribution of each family; ties go to the
    first combination found (families in sorted order, neurons by decreasing RMS).
    """
    C = _contrib(contrib)
    y = np.asarray(target).reshape(-1).astype(bool)
    names = np.asarray(families).astype(str)
    present = sorted(set(names) - {""})
    if k < 1 or top < 1:
        raise TmsError(f"k and top must be >= 1; got k={k}, top={top}")
    if not present:  # no neuron reaches the family threshold: the empty set (sum 0, label 0 everywhere)
        return FamilySet((), (), float((~y).mean()), pd.DataFrame(columns=["families", "neurons", "agreement", "sets_searched"]))
    combos = [tuple(only)] if only is not None else list(combinations(present, min(k, len(present))))
    if not combos or any(f not in present for f in combos[0]):
        raise TmsError(f"families to search must be among those present {present}; got {combos[:1]}")
    rms = np.sqrt((C**2).mean(0))
    cands = {f: np.flatnonzero(names == f)[np.argsort(-rms[names == f], kind="stable")][:top] for f in present}
    rows = []
    for fams in combos:
        idx, agree = _best_in_product([C[:, cands[f]] for f in fams], y)
        rows.append({"families": " + ".join(fams), "neurons": tuple(int(cands[f][j]) for f, j in zip(fams, idx)),
                     "agreement": agree, "sets_searched": int(np.prod([len(cands[f]) for f in fams]))})
    table = pd.DataFrame(rows).sort_values("agreement", ascending=False, kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    return FamilySet(best["neurons"], tuple(best["families"].split(" + ")), float(best["agreement"]), table)
