"""Extended embeddings, neuron contributions, neuron families and geometry (issue 5, items 5-7).

Glossary: v = 113 input values, d = d_model, m = d_mlp, h = n_heads, k = key position (0: x, 1: y,
2: the "=" token), N = 12,769 inputs in row-major order, ``u = W_U[:, 1] − W_U[:, 0]`` the logit-difference
direction.

*Extended embeddings* (:func:`extended_embeddings`). With the last query's attention frozen at its mean
p̄ (h, k), the last-position resid_mid is exactly additive:
    resid_mid(x, y) = E_x[x] + E_y[y] + c,
    E_x[t] = Σ_h p̄[h, 0] (W_E[t] + W_pos[0]) W_V[h] W_O[h],  E_y likewise with p̄[h, 1] and W_pos[1],
    c = (W_E[=] + W_pos[2]) (I + Σ_h p̄[h, 2] W_V[h] W_O[h]).
Carried through W_in, every neuron's pre-activation is N_x[x, n] + N_y[y, n] + N_c[n] (+ b_in inside N_c).

*Neuron contributions* (:func:`neuron_contributions`): neuron n adds post[i, n] · (W_out[n] · u) to the
logit difference of input i; the sum over neurons plus the direct path (resid_mid · u + b_out · u) is the
logit difference exactly. :func:`neuron_subset_search` finds a small set S whose sum (every other term
replaced by its mean over the inputs) reproduces the model's labels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tms.challenge import model as M


def _np(params) -> dict[str, np.ndarray]:
    M.check_params(params)
    return {k: np.asarray(v, np.float64) for k, v in params.items()}


# ------------------------------------------------------------------------------------- 5. extended embeddings
class ExtendedEmbeddings(NamedTuple):
    x: np.ndarray  # (v, d) E_x
    y: np.ndarray  # (v, d) E_y
    const: np.ndarray  # (d,) c
    neuron_x: np.ndarray  # (v, m) E_x W_in
    neuron_y: np.ndarray  # (v, m) E_y W_in
    neuron_const: np.ndarray  # (m,) c W_in + b_in


def extended_embeddings(params, mean_pattern, n_values: int = 113, equals_token: int = 113) -> ExtendedEmbeddings:
    """Extended embeddings of the two input positions under the mean last-query pattern ``(h, 3)``."""
    p = _np(params)
    mp = np.asarray(mean_pattern, np.float64)
    h = p["W_Q"].shape[0]
    if mp.shape != (h, 3):
        raise ValueError(f"mean_pattern must have shape (n_heads, 3)={(h, 3)}; got {mp.shape}")
    if not 1 <= n_values <= p["W_E"].shape[0]:
        raise ValueError(f"n_values must lie in 1..{p['W_E'].shape[0]}; got {n_values}")
    OV = np.einsum("hde,hef->hdf", p["W_V"], p["W_O"])  # (h, d, d)
    vals = p["W_E"][:n_values]
    ext = []
    for pos in (0, 1):
        ov = np.einsum("h,hdf->df", mp[:, pos], OV)
        ext.append((vals + p["W_pos"][pos][None, :]) @ ov)
    eq = p["W_E"][equals_token] + p["W_pos"][2]
    const = eq + eq @ np.einsum("h,hdf->df", mp[:, 2], OV)
    return ExtendedEmbeddings(ext[0], ext[1], const, ext[0] @ p["W_in"], ext[1] @ p["W_in"],
                              const @ p["W_in"] + p["b_in"])


# ------------------------------------------------------------------------------------- 6. neuron contributions
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

    def score(S):
        return _agreement(base + Cc[list(S)].sum(0), y) if S else _agreement(np.full(len(y), base), y)

    rows, best_sets, S = [], [], []
    for k in range(1, max_k + 1):
        cur = base + (Cc[S].sum(0) if S else np.zeros(len(y)))
        cand = _agreement(cur[None, :] + Cc, y) + tie
        cand[S] = -1
        S = S + [int(np.argmax(cand))]
        for _ in range(swap_passes):
            improved = False
            for pos in range(len(S)):
                others = [n for i, n in enumerate(S) if i != pos]
                cur = base + (Cc[others].sum(0) if others else np.zeros(len(y)))
                cand = _agreement(cur[None, :] + Cc, y)
                cand[others] = -1
                j = int(np.argmax(cand + tie))
                if cand[j] > score(S) + 0.5 / len(y):
                    S[pos], improved = j, True
            if not improved:
                break
        best_sets.append(sorted(S))
        tot = base + Cc[S].sum(0)
        cut = _best_cut(tot, y)
        rows.append({"k": k, "neurons": tuple(sorted(S)), "agreement": float(score(S)),
                     "offset": float(base - means[S].sum()),
                     "agreement_best_offset": float(_agreement(tot - cut, y)), "best_offset_shift": -cut})
    return SubsetSearch(pd.DataFrame(rows), best_sets)


def neuron_families(contrib, n_families: int = 6, min_share: float = 1e-3) -> pd.DataFrame:
    """Cluster neurons by the shape of their contribution maps.

    contrib: (N, m). Neurons whose RMS contribution is below ``min_share`` of the largest are "inactive"
    (family −1). The others are grouped by average-linkage hierarchical clustering on the cosine distance
    between their centred maps, cut into ``n_families`` clusters; families are numbered by decreasing total
    RMS contribution. Columns: neuron, family, rms (RMS contribution), mean (mean contribution), active_frac
    (fraction of inputs where the contribution is non-zero).
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
                          criterion="maxclust") - 1
        weight = np.array([rms[idx][labels == f].sum() for f in range(labels.max() + 1)])
        rank = np.empty_like(weight, dtype=int)
        rank[np.argsort(-weight, kind="stable")] = np.arange(len(weight))
        fam[idx] = rank[labels]
    elif len(idx) == 1:
        fam[idx] = 0
    return pd.DataFrame({"neuron": np.arange(C.shape[1]), "family": fam, "rms": rms, "mean": C.mean(0),
                         "active_frac": (C != 0).mean(0)})


# ------------------------------------------------------------------------------------- 7. geometry
def geometry_objects(params, ext: ExtendedEmbeddings | None = None) -> dict[str, np.ndarray]:
    """The weight matrices examined with tms.geometry, each as W: (d_model, n) with features as columns."""
    p = _np(params)
    objs = {
        "token_embeddings": p["W_E"].T,  # (d, d_vocab)
        "neuron_inputs": p["W_in"],  # (d, m)
        "neuron_outputs": p["W_out"].T,  # (d, m)
    }
    if ext is not None:  # centred over the 113 values: the shared part (W_pos, mean token) is no feature
        objs["extended_x"] = (ext.x - ext.x.mean(0)[None, :]).T
        objs["extended_y"] = (ext.y - ext.y.mean(0)[None, :]).T
    return objs


def geometry_table(objects: dict[str, np.ndarray], key_seed: int = 0, relative_threshold: float = 0.5) -> pd.DataFrame:
    """The lab's geometric measures (tms.geometry) on each W (d, n), beside a random baseline.

    The baseline ("<name>:random") is a Gaussian matrix of the same shape rescaled to the same column norms,
    i.e. directions with no learned structure. A feature is "represented" when its norm exceeds
    ``relative_threshold`` × the largest norm. Columns: object, m, n, frobenius, dims_per_feature,
    median_norm, mean_dimensionality, median_dimensionality, mean_superposition, max_abs_cosine (mean over
    features of the largest |cos| with another feature), effective_rank, n_represented, census (polytope census label).
    """
    from tms import analysis as G

    rng = np.random.default_rng(key_seed)
    rows = []
    for name, W in objects.items():
        W = np.asarray(W, np.float64)
        R = rng.normal(size=W.shape)
        R *= (np.linalg.norm(W, axis=0) / np.linalg.norm(R, axis=0))[None, :]
        for label, A in ((name, W), (f"{name}:random", R)):
            norms = G.feature_norms(A)
            dims = G.feature_dimensionality(A)
            cos = np.abs(G.cosines(A))
            np.fill_diagonal(cos, 0.0)
            census = G.polytope_census(A, norm_threshold=relative_threshold, relative=True)
            rows.append({
                "object": label, "m": A.shape[0], "n": A.shape[1], "frobenius": float(G.frobenius_count(A)),
                "dims_per_feature": float(G.dims_per_feature(A)), "median_norm": float(np.median(norms)),
                "mean_dimensionality": float(dims.mean()), "median_dimensionality": float(np.median(dims)),
                "mean_superposition": float(G.superposition(A).mean()),
                "max_abs_cosine": float(cos.max(1).mean()), "effective_rank": effective_rank(A),
                "n_represented": int(census["n_represented"].iloc[0]), "census": census["label"].iloc[0],
            })
    return pd.DataFrame(rows)


def effective_rank(W) -> float:
    """Participation ratio (Σσ²)² / Σσ⁴ of the singular values of W (d, n): how many dimensions it uses."""
    s2 = np.linalg.svd(np.asarray(W, np.float64), compute_uv=False) ** 2
    return float(s2.sum() ** 2 / (s2**2).sum()) if s2.sum() > 0 else 0.0
