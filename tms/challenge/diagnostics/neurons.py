"""Neurons: each neuron's contribution to the logit difference, the smallest sets that reproduce the labels,
and families of neurons with alike contribution maps.

Glossary: N = 12,769 inputs in row-major order, d = d_model, m = d_mlp, ``u = W_U[:, 1] − W_U[:, 0]`` the
logit-difference direction.

*Neuron contributions* (:func:`neuron_contributions`): neuron n adds post[i, n] · (W_out[n] · u) to the
logit difference of input i; the sum over neurons plus the direct path (resid_mid · u + b_out · u) is the
logit difference exactly. :func:`neuron_subset_search` finds a small set S whose sum (every other term
replaced by its mean over the inputs) reproduces the model's labels: an extra beside the published
zero-ablation protocol of :mod:`.families`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tms.challenge import plots
from tms.challenge.diagnostics import neuron_families
from tms.challenge.diagnostics.grid import as_grid
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError


def logit_direction(params) -> np.ndarray:
    """(d,) u = W_U[:, 1] − W_U[:, 0]."""
    W_U = np.asarray(params["W_U"], np.float64)
    return W_U[:, 1] - W_U[:, 0]


def neuron_contributions(params, post) -> np.ndarray:
    """(N, m) contribution of each neuron to the logit difference: post[i, n] · (W_out[n] · u)."""
    w = np.asarray(params["W_out"], np.float64) @ logit_direction(params)
    post = np.asarray(post, np.float64)
    if post.ndim != 2 or post.shape[1] != w.shape[0]:
        raise TmsError(f"post must have shape (N, d_mlp={w.shape[0]}); got {post.shape}")
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
        raise TmsError(f"contrib must have shape (N, m); got {C.shape}")
    y = np.asarray(target).reshape(-1).astype(bool)
    if y.shape[0] != C.shape[0]:
        raise TmsError(f"target must have {C.shape[0]} entries; got {y.shape}")
    if not 1 <= max_k <= C.shape[1]:
        raise TmsError(f"max_k must lie in 1..{C.shape[1]}; got {max_k}")
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


# ------------------------------------------------------------------------------------- registered diagnostics
@register("neurons", "RGRGRG's 4-neuron reconstruction (zero-ablation, one neuron per family); mean-ablated "
                     "greedy sets as an extra")
def neuron_diagnostic(dx) -> Outcome:
    C, sub, fs = dx.contributions, dx.subsets, dx.family_set
    names = dx.families["family"].to_numpy()
    numbers = {"neurons_4_zero_ablation": fs.agreement, "neurons_4_set": list(fs.neurons),
               "neurons_4_families": list(fs.families),
               "neurons_4_zero_ablation_accuracy": float(((C[:, list(fs.neurons)].sum(1) > 0) == dx.truth).mean()),
               "neurons_all_zero_ablation": float(((C.sum(1) > 0) == dx.full.pred).mean())}
    if set(neuron_families.PUBLISHED_FAMILIES) <= set(names):
        pub = neuron_families.best_family_set(C, dx.full.pred, names, top=dx.settings.family_top,
                                              only=neuron_families.PUBLISHED_FAMILIES)
        top = neuron_families.top_per_family(C, names, neuron_families.PUBLISHED_FAMILIES)
        numbers.update(neurons_4_published_families_zero_ablation=pub.agreement,
                       neurons_4_published_families_set=list(pub.neurons),
                       neurons_4_top_per_family_zero_ablation=neuron_families.zero_ablation_agreement(
                           C, top, dx.full.pred),
                       neurons_4_top_per_family_set=list(top),
                       neurons_4_sets_searched=int(fs.table["sets_searched"].sum()))
    for _, row in sub.table.iterrows():  # extra: mean-ablation, no family constraint
        numbers[f"neurons_{int(row['k'])}_mean_ablation"] = row["agreement"]
        numbers[f"neurons_{int(row['k'])}_mean_ablation_best_offset"] = row["agreement_best_offset"]
    k4 = min(4, dx.settings.max_neurons)
    numbers["neurons_mean_ablation_set"] = [int(n) for n in sub.neurons[k4 - 1]]
    numbers["neurons_never_active"] = int((np.asarray(dx.full.post).max(0) <= 0).sum())
    figures = {}
    if dx.settings.figures:
        figures["subsets"] = plots.subset_figure(sub.table)
        figures["neuron_maps"] = plots.value_map_figure(
            {f"neuron {n} ({f})": as_grid(C[:, n]) for n, f in zip(fs.neurons, fs.families)},
            suptitle=f"contribution to logit[1] − logit[0]: the 4-neuron set, one per family "
                     f"(zero-ablation agreement {100 * fs.agreement:.1f}%)")
    return Outcome(numbers, {"neuron_subsets": sub.table, "neuron_family_sets": fs.table}, figures)


@register("families", "neuron families by RGRGRG's scheme (colour and where on the row), checked against "
                      "clusters of the uncentred signed maps")
def family_diagnostic(dx) -> Outcome:
    C, fam = dx.contributions, dx.families
    rms = fam["rms"].to_numpy()
    members = fam[fam["family"] != ""]
    sizes = members["family"].value_counts()
    numbers = {
        "neuron_family_sizes": {f: int(sizes.get(f, 0)) for f in neuron_families.FAMILY_NAMES},
        "neurons_in_families": len(members),  # max |contribution| > 0.5, as published
        "family_cluster_agreement": float((members["family"] == members["cluster_family"]).mean()),
        "neurons_for_half_rms": int(np.searchsorted(np.cumsum(np.sort(rms)[::-1]) / rms.sum(), 0.5) + 1),
    }
    figures = {}
    if dx.settings.figures:
        maps = {f"{f} ({int(sizes[f])} neurons)": as_grid(C[:, fam.index[fam["family"] == f]].sum(1))
                for f in neuron_families.FAMILY_NAMES if f in sizes}
        figures["neuron_families"] = plots.value_map_figure(maps, suptitle="summed contribution of each neuron family")
    return Outcome(numbers, {"neuron_families": fam}, figures)
