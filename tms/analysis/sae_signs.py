"""Choosing an SAE's dictionary size and penalty without the truth, and how well that choice does against it.

Sharkey, Braun & Millidge (2022, "[Interim research report] Taking features out of superposition with sparse
autoencoders", LessWrong/Alignment Forum) trained SAEs over a grid of dictionary sizes × L1 penalties on
synthetic data whose features are known, and proposed three signs, computable without the truth, of the size
and penalty at which the dictionary has found the features (their later slides list them as "1: Num of dead
neurons, 2: Loss stickiness, 3: Similarity of learned dictionaries with dicts larger than it"):

- **dead latents**: latents that fire on no input appear once the dictionary is larger than the number of
  features; the sign picks, at each penalty, the largest size whose dead fraction is at most ``dead_tol``.
- **loss stickiness**: the loss falls as the dictionary grows until it can hold every feature, then stops
  falling ("sticks"). The report's own formula could not be read (docs/sae.md); we measure, at each penalty,
  the loss's relative fall from each size to the next, ``(L_prev − L) / |L_prev|``, and the sign picks the
  size that the largest fall lands on (the knee of the loss against size).
- **MMCS between dictionaries** (:func:`cross_mmcs`): each latent of a dictionary is matched to its most
  similar latent of the next larger dictionary trained at the same penalty, signed cosine, mean over the
  smaller dictionary's latents (as the public replication, HoagyC/sparse_coding, computes it). A dictionary
  that holds the true features is found again by the larger one; the sign picks the size where it is highest
  (the largest size has no larger partner and is never picked). Over (size, penalty) its maximum is also a
  choice of penalty (:func:`joint_picks`). The partner is the larger dictionary of the *next seed* (cyclically)
  when there are two seeds or more: our initialiser nests dictionaries of one seed (the smaller one's initial
  decoder rows are among the larger one's, MMCS 1 before training), so a same-seed pair also scores what
  training left of the shared start. ``cross_other_seed`` says which pairing a row used.

Scored against the truth (:func:`score_signs`): at each penalty, the size with the highest MMCS against the
true features, and each sign's pick, its truth MMCS and the shortfall from the best ("regret"); and whether
the pick is the true feature count itself (the signs estimate the count; the best-scoring dictionary need not
be exactly that size). "Always the largest size" is scored beside them as the baseline a sign has to beat.

Input (:func:`signs_table`): a tidy frame, one row per trained SAE, with ``arch``, ``knob`` (the penalty α,
or k for the top-k architectures), ``d_sae``, ``seed``, ``mmcs`` (against the truth), ``dead`` (latents
active on no input of a sample) and ``loss`` (the training loss), and the decoders ``(d_sae, d)`` in row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import TmsError
from .dictionary import expected_random_mmcs, mmcs

SIGNS = ("dead", "sticky", "cross")
SIGN_NAMES = {"dead": "dead latents", "sticky": "loss stickiness", "cross": "MMCS with the next size",
              "largest": "largest size (baseline)"}
REQUIRED = ("arch", "knob", "d_sae", "seed", "mmcs", "dead", "loss")


def cross_mmcs(smaller, larger) -> float:
    """Mean over the rows of ``smaller: (n, d)`` of the largest signed cosine with any row of ``larger: (m, d)``.

    1 when every latent of ``smaller`` has a copy in ``larger`` (any order); a sign-flipped copy does not
    count as one (an orthonormal basis against its negation gives 0)."""
    return mmcs(larger, smaller)[0]


def relative_fall(losses) -> np.ndarray:
    """``(L[i-1] − L[i]) / |L[i-1]|`` for each size after the first (sizes ascending), NaN for the first."""
    L = np.asarray(losses, dtype=np.float64)
    out = np.full(L.shape, np.nan)
    prev = L[:-1]
    out[1:] = np.divide(prev - L[1:], np.abs(prev), out=np.full(prev.shape, np.nan), where=prev != 0)
    return out


def _check(frame: pd.DataFrame, decoders) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise TmsError(f"signs_table: the frame lacks column(s) {missing}; it needs {list(REQUIRED)}")
    if len(decoders) != len(frame):
        raise TmsError(f"signs_table: {len(frame)} rows but {len(decoders)} decoders; give one per row")
    for i, (W, size) in enumerate(zip(decoders, frame["d_sae"])):
        if np.ndim(W) != 2 or np.shape(W)[0] != int(size):
            raise TmsError(f"signs_table: decoder {i} has shape {np.shape(W)}, expected ({int(size)}, d)")


def _per_seed(frame: pd.DataFrame, decoders) -> pd.DataFrame:
    """One row per SAE with ``dead_frac``, ``loss_fall`` (from the next smaller size) and ``cross`` (with the
    next larger size), sizes compared within one (arch, knob, seed)."""
    df = frame.reset_index(drop=True).assign(dead_frac=lambda f: f["dead"] / f["d_sae"], loss_fall=np.nan,
                                             cross=np.nan, cross_random=np.nan, cross_other_seed=np.nan)
    if df.duplicated(["arch", "knob", "seed", "d_sae"]).any():
        row = df[df.duplicated(["arch", "knob", "seed", "d_sae"])].iloc[0]
        raise TmsError(f"signs_table: two SAEs of one size at arch {row['arch']!r}, knob {row['knob']}, "
                       f"seed {row['seed']}")
    where = {key: i for i, key in enumerate(zip(df["arch"], df["knob"], df["seed"], df["d_sae"]))}
    for (arch, knob), rows in df.groupby(["arch", "knob"], sort=False):
        seeds = sorted(rows["seed"].unique())
        for seed, chain in rows.groupby("seed"):
            chain = chain.sort_values("d_sae")
            df.loc[chain.index, "loss_fall"] = relative_fall(chain["loss"].to_numpy())
            partner = seeds[(seeds.index(seed) + 1) % len(seeds)]
            for small, size in zip(chain.index[:-1], chain["d_sae"].iloc[1:]):
                large = where.get((arch, knob, partner, size))
                if large is None:
                    continue
                df.loc[small, ["cross", "cross_other_seed"]] = cross_mmcs(decoders[small], decoders[large]), \
                    float(partner != seed)
                df.loc[small, "cross_random"] = expected_random_mmcs(np.shape(decoders[small])[1], int(size))
    return df


def signs_table(frame: pd.DataFrame, decoders) -> pd.DataFrame:
    """Per (arch, knob, d_sae), seeds averaged: truth ``mmcs``, ``dead`` and ``dead_frac``, ``loss``,
    ``loss_fall`` (relative fall of the loss from the next smaller size), ``cross`` (MMCS with the next larger
    size, NaN at the largest; ``cross_other_seed`` 1 where its partner had another seed, 0 where the same) and
    ``cross_random`` (what random directions would give), and ``seeds``."""
    _check(frame, decoders)
    df = _per_seed(frame, list(decoders))
    cols = ["mmcs", "dead", "dead_frac", "loss", "loss_fall", "cross", "cross_other_seed", "cross_random"]
    out = df.groupby(["arch", "knob", "d_sae"], sort=False)[cols].mean()
    out["seeds"] = df.groupby(["arch", "knob", "d_sae"], sort=False)["seed"].nunique()
    return out.reset_index().sort_values(["arch", "knob", "d_sae"], kind="stable").reset_index(drop=True)


def pick_sizes(rows: pd.DataFrame, dead_tol: float = 0.05) -> dict:
    """The size each sign picks from one (arch, knob)'s rows of :func:`signs_table`, and the truth's best;
    NaN where a sign picks nothing (every size over ``dead_tol`` dead; no fall or no pair to compare)."""
    rows = rows.sort_values("d_sae")
    sizes = rows["d_sae"].to_numpy()

    def at_max(values) -> float:
        v = np.asarray(values, dtype=np.float64)
        return float(sizes[np.nanargmax(v)]) if np.isfinite(v).any() else np.nan

    alive = sizes[rows["dead_frac"].to_numpy() <= dead_tol]
    return {"truth": at_max(rows["mmcs"]), "dead": float(alive.max()) if alive.size else np.nan,
            "sticky": at_max(rows["loss_fall"]), "cross": at_max(rows["cross"]), "largest": float(sizes.max())}


def score_signs(table: pd.DataFrame, dead_tol: float = 0.05, n_true: int | None = None) -> pd.DataFrame:
    """One row per (arch, knob): the truth's best size and MMCS, and per sign (and the largest-size baseline)
    the picked size ``<sign>_size``, its truth MMCS ``<sign>_mmcs``, ``<sign>_hit`` (the same size as the
    truth's best), ``<sign>_regret`` (best MMCS − MMCS at the pick; NaN where the sign picks nothing) and, given
    ``n_true``, ``<sign>_count`` (the pick is the true feature count; ``truth_count`` likewise)."""
    out = []
    for (arch, knob), rows in table.groupby(["arch", "knob"], sort=False):
        picks = pick_sizes(rows, dead_tol)
        by_size = dict(zip(rows["d_sae"].astype(float), rows["mmcs"]))
        best = by_size[picks["truth"]]
        row = {"arch": arch, "knob": knob, "truth_size": picks["truth"], "truth_mmcs": best}
        if n_true is not None:
            row["truth_count"] = bool(picks["truth"] == n_true)
        for sign in SIGNS + ("largest",):
            size = picks[sign]
            got = by_size.get(size, np.nan)
            row.update({f"{sign}_size": size, f"{sign}_mmcs": got, f"{sign}_hit": bool(size == picks["truth"]),
                        f"{sign}_regret": best - got})
            if n_true is not None:
                row[f"{sign}_count"] = bool(size == n_true)
        out.append(row)
    return pd.DataFrame(out)


def summarize_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and sign (and ``truth``, the best size by the truth): knob values, how many the sign
    picks a size at, hits (picks the truth's best size), the mean and worst regret over the knob values where
    it picks, and (where :func:`score_signs` was given ``n_true``) ``count``: picks of the true feature count."""
    rows = []
    for arch, s in scores.groupby("arch", sort=False):
        for sign in ("truth",) + SIGNS + ("largest",):
            size = s[f"{sign}_size"].to_numpy(dtype=np.float64)
            regret = np.zeros(len(s)) if sign == "truth" else s[f"{sign}_regret"].to_numpy(dtype=np.float64)
            picked = np.isfinite(regret)
            row = {"arch": arch, "sign": sign, "knobs": len(s), "picks": int(np.isfinite(size).sum()),
                   "hits": len(s) if sign == "truth" else int(s[f"{sign}_hit"].sum()),
                   "mean_regret": float(regret[picked].mean()) if picked.any() else np.nan,
                   "max_regret": float(regret[picked].max()) if picked.any() else np.nan}
            if f"{sign}_count" in s:
                row["count"] = int(s[f"{sign}_count"].sum())
            rows.append(row)
    return pd.DataFrame(rows)


def joint_picks(table: pd.DataFrame) -> pd.DataFrame:
    """Per architecture, the (knob, size) with the best truth MMCS beside the one with the highest MMCS with
    the next larger dictionary (the only sign here that also ranks penalties), and the truth MMCS there."""
    rows = []
    for arch, t in table.groupby("arch", sort=False):
        best = t.loc[t["mmcs"].idxmax()]
        row = {"arch": arch, "truth_knob": best["knob"], "truth_size": best["d_sae"], "truth_mmcs": best["mmcs"]}
        cross = t.dropna(subset=["cross"])
        if len(cross):
            pick = cross.loc[cross["cross"].idxmax()]
            row.update({"cross_knob": pick["knob"], "cross_size": pick["d_sae"], "cross_value": pick["cross"],
                        "cross_mmcs": pick["mmcs"], "cross_regret": best["mmcs"] - pick["mmcs"]})
        rows.append(row)
    return pd.DataFrame(rows)
