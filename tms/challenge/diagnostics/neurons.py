"""Neurons: each neuron's contribution to the logit difference, the smallest sets that reproduce the labels,
and families of neurons with alike contribution maps.

Glossary: N = 12,769 inputs in row-major order, d = d_model, m = d_mlp, ``u = W_U[:, 1] − W_U[:, 0]`` the
logit-difference direction.

*Neuron contributions* (:func:`neuron_contributions`): neuron n adds post[i, n] · (W_out[n] · u) to the
logit difference of input i; the sum over neurons plus the direct path (resid_mid · u + b_out · u) is the
logit difference exactly. :func:`neuron_subset_search` finds a small set S whose sum (every other term
replaced by its mean over the inputs) reproduces the model's labels; the published solution keeps 98.7% of
the original model's labels with 4 neurons. :func:`neuron_families` clusters the contribution maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from tms.challenge import plots as P
from tms.challenge.diagnostics.grid import as_grid
from tms.challenge.diagnostics.registry import Outcome, register

if TYPE_CHECKING:
    from tms.challenge.diagnostics.context import Diagnosis


def logit_direction(params) -> np.ndarray:
    """(d,) u = W_U[:, 1] − W_U[:, 0]."""
    W_U = np.asarray(params["W_U"], np.float64)
    return W_U[:, 1] - W_U[:, 0]


def neuron_contributions(params, post) -> np.ndarray:
    """(N, m) contribution of each neuron to the logit difference: post[i, n] · (W_out[n] · u)."""
    w = np.asarray(params["W_out"], np.float64) @ logit_direction(params)
    post = np.asarray(post, np.float64)
    if post.ndim != 2 or post.shape[1] != w.shape[0]:
        raise ValueError(f"post must have shape (N, d_mlp={w.shape[0]}); got {post.shape}")
    return post * w[None, :]


def direct_contribution(params, resid_mid) -> np.ndarray:
    """(N,) the logit difference that bypasses the neurons: resid_mid · u + b_out · u."""
    u = logit_direction(params)
    return np.asarray(resid_mid, np.float64) @ u + float(np.asarray(params["b_out"], np.float64) @ u)


class SubsetSearch(NamedTuple):
    table: pd.DataFrame  # k, neurons (tuple), agreement, offset, agreement_best_offset, best_offset_shift
    neurons: list  # best set found for each k


def _agreement(total: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(..., N) sums -> (...) fraction with [sum > 0] == target."""
    return ((total > 0) == target).mean(-1)


def _best_cut(v: np.ndarray, y: np.ndarray) -> float:
    """The threshold c maximising the agreement of [v > c] with y (exact, over midpoints of sorted v)."""
    order = np.argsort(v, kind="stable")
    vs, ys = v[order], y[order]
    # predictions 0 for the first k sorted points, 1 for the rest (k = 0..N)
    score = np.concatenate([[0], np.cumsum(~ys)]) + np.concatenate([[ys.sum()], ys.sum() - np.cumsum(ys)])
    valid = np.concatenate([[True], vs[1:] != vs[:-1], [True]])
    k = int(np.argmax(np.where(valid, score, -1)))
    return float(vs[0] - 1.0 if k == 0 else (vs[-1] + 1.0 if k == len(vs) else (vs[k - 1] + vs[k]) / 2))


def _set_agreement(Cc: np.ndarray, base: float, y: np.ndarray, S: list[int]) -> float:
    """Agreement with y of [base + Σ_{n∈S} Cc[n] > 0]; Cc: (m, N) centred contribution maps."""
    return _agreement(base + Cc[list(S)].sum(0), y) if S else _agreement(np.full(len(y), base), y)


def _candidates(Cc: np.ndarray, base: float, y: np.ndarray, members: list[int]) -> np.ndarray:
    """(m,) agreement of ``members`` plus each neuron n in turn; the members themselves score −1."""
    cur = base + (Cc[members].sum(0) if members else np.zeros(Cc.shape[1]))
    cand = _agreement(cur[None, :] + Cc, y)
    cand[members] = -1
    return cand


def _improve_by_swaps(S: list[int], Cc, base, y, tie, passes: int) -> list[int]:
    """Up to ``passes`` passes over S replacing each member by the best outsider while that gains at least
    one input (``tie`` breaks ties between outsiders)."""
    S = list(S)
    for _ in range(passes):
        improved = False
        for pos in range(len(S)):
            others = [n for i, n in enumerate(S) if i != pos]
            cand = _candidates(Cc, base, y, others)
            j = int(np.argmax(cand + tie))
            if cand[j] > _set_agreement(Cc, base, y, S) + 0.5 / len(y):
                S[pos], improved = j, True
        if not improved:
            break
    return S


def neuron_subset_search(contrib, target, rest=None, max_k: int = 8, swap_passes: int = 2) -> SubsetSearch:
    """Small neuron sets whose summed contribution reproduces binary labels ``target`` (N,).

    contrib: (N, m) per-neuron contributions; rest: (N,) everything else in the logit difference (default
    0). For a set S the prediction is [Σ_{n∈S} contrib[:, n] + offset_S > 0] with offset_S the mean over
    inputs of rest + the neurons outside S (i.e. all other terms mean-ablated). For k = 1..max_k: greedy
    forward selection, then ``swap_passes`` passes of single-neuron swaps (each member replaced by the best
    outsider while that improves). A heuristic: the agreement is a lower bound on the best k-set's.
    Table columns: k, neurons, agreement, offset (the constant added to the set's sum), and
    agreement_best_offset with best_offset_shift: the same set with its threshold re-optimised exactly.
    """
    C = np.asarray(contrib, np.float64)
    if C.ndim != 2:
        raise ValueError(f"contrib must have shape (N, m); got {C.shape}")
    y = np.asarray(target).reshape(-1).astype(bool)
    if y.shape[0] != C.shape[0]:
        raise ValueError(f"target must have {C.shape[0]} entries; got {y.shape}")
    if not 1 <= max_k <= C.shape[1]:
        raise ValueError(f"max_k must lie in 1..{C.shape[1]}; got {max_k}")
    r = np.zeros(C.shape[0]) if rest is None else np.asarray(rest, np.float64).reshape(-1)
    means = C.mean(0)  # (m,)
    base = r.mean() + means.sum()  # offset when S is empty
    # Centred columns: Σ_S C + mean(rest + Σ_{not S} C) = base + Σ_S (C − mean C)
    Cc = (C - means[None, :]).T  # (m, N), row n is the centred contribution map of neuron n

    # Tie-break between candidates of equal agreement (e.g. when no single neuron flips any label yet): the
    # correlation of the neuron's centred map with the ±1 target, scaled far below one input's worth.
    sgn = np.where(y, 1.0, -1.0)
    corr = Cc @ sgn / (np.linalg.norm(Cc, axis=1) * np.sqrt(len(y)) + 1e-12)  # (m,) in [-1, 1]
    tie = 1e-3 / len(y) * corr

    rows, best_sets, S = [], [], []
    for k in range(1, max_k + 1):
        S = S + [int(np.argmax(_candidates(Cc, base, y, S) + tie))]
        S = _improve_by_swaps(S, Cc, base, y, tie, swap_passes)
        best_sets.append(sorted(S))
        tot = base + Cc[S].sum(0)
        cut = _best_cut(tot, y)
        rows.append({"k": k, "neurons": tuple(sorted(S)), "agreement": float(_set_agreement(Cc, base, y, S)),
                     "offset": float(base - means[S].sum()),
                     "agreement_best_offset": float(_agreement(tot - cut, y)), "best_offset_shift": -cut})
    return SubsetSearch(pd.DataFrame(rows), best_sets)


def neuron_families(contrib, n_families: int = 6, min_share: float = 1e-3) -> pd.DataFrame:
    """Cluster neurons by the shape of their contribution maps.

    contrib: (N, m). Neurons whose RMS contribution is below ``min_share`` of the largest are "inactive"
    (family −1). The others are grouped by average-linkage hierarchical clustering on the cosine distance
    between their centred maps, cut into ``n_families`` clusters. Families are numbered canonically, from
    the partition alone: by size (largest first), ties broken by the smallest neuron index, so that equal
    partitions always get equal numbers. Columns: neuron, family, rms (RMS contribution), mean (mean
    contribution), active_frac (fraction of inputs where the contribution is non-zero).
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    C = np.asarray(contrib, np.float64)
    if C.ndim != 2:
        raise ValueError(f"contrib must have shape (N, m); got {C.shape}")
    if n_families < 1:
        raise ValueError(f"n_families must be >= 1; got {n_families}")
    rms = np.sqrt((C**2).mean(0))
    active = rms > min_share * rms.max() if rms.max() > 0 else np.zeros_like(rms, bool)
    fam = np.full(C.shape[1], -1)
    idx = np.flatnonzero(active)
    if len(idx) >= 2:
        X = C[:, idx] - C[:, idx].mean(0)[None, :]
        X = X / (np.linalg.norm(X, axis=0)[None, :] + 1e-12)
        labels = fcluster(linkage(X.T, method="average", metric="cosine"), t=min(n_families, len(idx)),
                          criterion="maxclust")
        fam[idx] = canonical_labels(labels)
    elif len(idx) == 1:
        fam[idx] = 0
    return pd.DataFrame({"neuron": np.arange(C.shape[1]), "family": fam, "rms": rms, "mean": C.mean(0),
                         "active_frac": (C != 0).mean(0)})


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


# ------------------------------------------------------------------------------------- registered diagnostics
@register("neurons", "per-neuron contributions to the logit difference and the smallest sets that reproduce "
                     "the labels")
def neuron_diagnostic(dx: Diagnosis) -> Outcome:
    C, sub = dx.contributions, dx.subsets
    numbers = {}
    for _, row in sub.table.iterrows():
        numbers[f"neurons_{int(row['k'])}_agreement"] = row["agreement"]
        numbers[f"neurons_{int(row['k'])}_agreement_best_offset"] = row["agreement_best_offset"]
    best = dx.best_neurons
    offset = sub.table["offset"].iloc[len(best) - 1]
    numbers["neurons_best_4"] = best
    numbers["neurons_4_accuracy"] = float(((C[:, best].sum(1) + offset > 0) == dx.truth).mean())
    numbers["neurons_never_active"] = int((np.asarray(dx.full.post).max(0) <= 0).sum())
    figures = {}
    if dx.settings.figures:
        figures["subsets"] = P.subset_figure(sub.table)
        figures["neuron_maps"] = P.value_map_figure(
            {f"neuron {n}": as_grid(C[:, n]) for n in best},
            suptitle="contribution to logit[1] − logit[0] of the best 4-neuron set")
    return Outcome(numbers, {"neuron_subsets": sub.table}, figures)


@register("families", "neurons clustered by the shape of their contribution maps")
def family_diagnostic(dx: Diagnosis) -> Outcome:
    C = dx.contributions
    fam = neuron_families(C)
    rms = fam["rms"].to_numpy()
    numbers = {
        "neuron_family_sizes": fam[fam["family"] >= 0]["family"].value_counts().sort_index().tolist(),
        "neurons_negligible": int((fam["family"] < 0).sum()),  # RMS contribution < 1e-3 of the largest
        "neurons_for_half_rms": int(np.searchsorted(np.cumsum(np.sort(rms)[::-1]) / rms.sum(), 0.5) + 1),
    }
    figures = {}
    if dx.settings.figures:
        maps = {}
        for f in range(min(8, fam["family"].max() + 1)):
            members = fam.index[fam["family"] == f].to_numpy()
            maps[f"family {f} ({len(members)} neurons)"] = as_grid(C[:, members].sum(1))
        figures["neuron_families"] = P.value_map_figure(maps, suptitle="summed contribution of each neuron family")
    return Outcome(numbers, {"neuron_families": fam}, figures)
