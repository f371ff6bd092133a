"""Diagnostics of the challenge transformer over the full 113×113 input grid (issue 5, items 1-4 and 8).

Every function takes arrays (the labels of a grid, activations) or a params dict and returns NumPy arrays,
NamedTuples or tidy pandas DataFrames; figures live in ``tms.challenge.plots``.

Glossary: N = 12,769 inputs [x, y, 113] in row-major order (``data.all_pairs()``); a *grid* is a (113, 113)
array indexed [x, y] (its ``.ravel()`` is in the same order as the N inputs); d = d_model, m = d_mlp,
h = n_heads, k = key position. Activations are taken at the last position (the "=" token), the only one read.

1. :func:`accuracy_table`: train/test/full accuracy and agreement with the original model's labels.
2. :func:`error_distances`, :func:`error_distance_summary`: distance of each mistake to the three boundaries.
3. :func:`mean_last_pattern`, :func:`fixed_attention`: every head's last-position pattern frozen at its mean.
4. :func:`fit_and_rule` (two thresholded directions α, β whose AND reproduces binary labels, on any (N, d)
   array), :func:`pca`, :func:`linear_probe`; see ``directions.py`` for the searches themselves.
8. :func:`resample_ablation`: causal-scrubbing-style resampling test of the α/β AND hypothesis.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import pandas as pd

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge.directions import AndRule, and_predict

RESID_MID = "blocks.0.hook_resid_mid"
PATTERN = "blocks.0.attn.hook_pattern"


class GridRun(NamedTuple):
    """The model on all N = 12,769 inputs, last position only.

    logit_diff: (N,) logit[1] − logit[0]; pred: (N,) uint8 labels; resid_mid: (N, d); post: (N, m) MLP
    activations; pattern: (N, h, k) attention of the last query over keys 0..2.
    """

    logit_diff: np.ndarray
    pred: np.ndarray
    resid_mid: np.ndarray
    post: np.ndarray
    pattern: np.ndarray


def grid_tokens() -> np.ndarray:
    """(N, 3) int32 tokens of every input, row-major (x outer, y inner)."""
    return D.tokens(D.all_pairs())


def run_grid(params, hooks=None, batch: int = 4096) -> GridRun:
    """Run the model (optionally with intervention hooks) on every input and keep last-position activations."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1; got {batch}")
    toks = grid_tokens()
    parts = []
    for s, chunk in _chunks(toks, batch):
        logits, cache = M.forward(params, chunk, hooks)
        n = min(batch, len(toks) - s)
        parts.append((
            np.asarray(logits[:n, -1, 1] - logits[:n, -1, 0]),
            np.asarray(cache[RESID_MID][:n, -1]),
            np.asarray(cache["blocks.0.mlp.hook_post"][:n, -1]),
            np.asarray(cache[PATTERN][:n, :, -1, :]),
        ))
    ld, rm, post, pat = (np.concatenate(p) for p in zip(*parts))
    return GridRun(ld, (ld > 0).astype(np.uint8), rm, post, pat)


def _chunks(rows: np.ndarray, batch: int):
    """(start, chunk) pairs of ``batch`` rows each; the last chunk is padded by repeating its first row so
    that every chunk has one shape (one compilation)."""
    for s in range(0, len(rows), batch):
        chunk = rows[s:s + batch]
        if len(chunk) < batch and len(rows) > batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], batch - len(chunk), axis=0)])
        yield s, chunk


def as_grid(values) -> np.ndarray:
    """(N, ...) -> (113, 113, ...) indexed [x, y]."""
    values = np.asarray(values)
    if values.shape[0] != D.N_PAIRS:
        raise ValueError(f"values must have {D.N_PAIRS} rows (one per input); got shape {values.shape}")
    return values.reshape((D.N_VALUES, D.N_VALUES) + values.shape[1:])


def _flat_labels(name: str, labels) -> np.ndarray:
    a = np.asarray(labels)
    if a.size != D.N_PAIRS:
        raise ValueError(f"{name} must hold {D.N_PAIRS} labels ((113, 113) grid or flat); got shape {a.shape}")
    a = a.reshape(-1)
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    return a.astype(np.uint8)


# ------------------------------------------------------------------------------------- 1. accuracy tables
def accuracy_table(pred, truth=None, original=None) -> pd.DataFrame:
    """Accuracy of ``pred`` against ``truth`` (default: the ground truth) on the challenge's train, test and
    full sets, with agreement with ``original`` (the original model's labels) when given.

    pred, truth, original: (113, 113) or (N,) 0/1 labels. Columns: set, n, accuracy, errors,
    agreement_original (NaN without ``original``).
    """
    p = _flat_labels("pred", pred)
    t = _flat_labels("truth", D.label_grid() if truth is None else truth)
    o = None if original is None else _flat_labels("original", original)
    tr, te = D.split()
    rows = []
    for name, idx in (("train", tr), ("test", te), ("full", np.arange(D.N_PAIRS))):
        ok = p[idx] == t[idx]
        rows.append({"set": name, "n": len(idx), "accuracy": ok.mean(), "errors": int((~ok).sum()),
                     "agreement_original": np.nan if o is None else float((p[idx] == o[idx]).mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- 2. where the errors are
def error_distances(pred, truth=None) -> pd.DataFrame:
    """One row per input: x, y, truth, pred, error, the Euclidean distances d_a, d_b, d_c (grid units) to
    the boundaries x² = 200√y, y² = 600√x, x + y = 133, d_min, nearest ("a"/"b"/"c"), and d_label, the
    distance to the nearest input whose true label differs (label changes also happen between rows x inside
    one region, not only on the three curves)."""
    from scipy.spatial import cKDTree

    p = _flat_labels("pred", pred)
    t = _flat_labels("truth", D.label_grid() if truth is None else truth)
    pairs = D.all_pairs()
    d = D.boundary_distance(pairs)  # (N, 3)
    d_label = np.zeros(D.N_PAIRS)
    for v in (0, 1):
        other = pairs[t != v]
        if len(other):
            d_label[t == v] = cKDTree(other).query(pairs[t == v])[0]
        else:
            d_label[t == v] = np.inf
    return pd.DataFrame({
        "x": pairs[:, 0], "y": pairs[:, 1], "truth": t, "pred": p, "error": p != t,
        "d_a": d[:, 0], "d_b": d[:, 1], "d_c": d[:, 2], "d_min": d.min(-1),
        "nearest": np.array(["a", "b", "c"])[d.argmin(-1)], "d_label": d_label,
    })


def error_distance_summary(frame: pd.DataFrame, radii=(1.0, 2.0, 5.0)) -> pd.DataFrame:
    """Compare the mistakes with all inputs: rows "all" and "errors"; columns n, median and mean d_min,
    fraction of inputs with d_min ≤ r for each radius r, fraction whose nearest boundary is curved (a or b),
    and the median distance to a label change (d_label)."""
    rows = []
    for name, sub in (("all", frame), ("errors", frame[frame["error"]])):
        row = {"group": name, "n": len(sub), "median_d_min": sub["d_min"].median(), "mean_d_min": sub["d_min"].mean()}
        for r in radii:
            row[f"frac_d_min_le_{r:g}"] = float((sub["d_min"] <= r).mean()) if len(sub) else np.nan
        row["frac_nearest_curved"] = float(sub["nearest"].isin(["a", "b"]).mean()) if len(sub) else np.nan
        row["median_d_label"] = sub["d_label"].median()
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- 3. fixed attention
def mean_last_pattern(pattern) -> np.ndarray:
    """(N, h, k) last-query attention -> (h, k) mean over the inputs."""
    pattern = np.asarray(pattern, np.float64)  # float32 accumulation over 12,769 rows loses 1e-5
    if pattern.ndim != 3:
        raise ValueError(f"pattern must have shape (N, n_heads, n_keys); got {pattern.shape}")
    return pattern.mean(0)


def fixed_pattern_hooks(params, mean_pattern) -> dict:
    """Hooks freezing every head's last-query pattern at ``mean_pattern`` (h, k); earlier queries untouched."""
    cfg = M.Config.from_params(params)
    mean_pattern = np.asarray(mean_pattern)
    if mean_pattern.shape != (cfg.n_heads, cfg.n_ctx):
        raise ValueError(f"mean_pattern must have shape (n_heads, n_ctx)={(cfg.n_heads, cfg.n_ctx)}; "
                         f"got {mean_pattern.shape}")
    full = np.zeros((cfg.n_heads, cfg.n_ctx, cfg.n_ctx), np.float32)
    full[:, -1, :] = mean_pattern
    return {PATTERN: M.fixed_pattern_hook(full, query_positions=[cfg.n_ctx - 1])}


class FixedAttention(NamedTuple):
    mean_pattern: np.ndarray  # (h, k)
    run: GridRun  # the model with the frozen pattern
    table: pd.DataFrame  # one row: agreement with the full model, accuracy on train/test/full


def fixed_attention(params, full: GridRun) -> FixedAttention:
    """Replace each head's last-position pattern by its mean over all inputs; compare with the full model."""
    mp = mean_last_pattern(full.pattern)
    run = run_grid(params, fixed_pattern_hooks(params, mp))
    acc = accuracy_table(run.pred).set_index("set")["accuracy"]
    table = pd.DataFrame([{
        "agreement_full_model": float((run.pred == full.pred).mean()),
        "accuracy_full": acc["full"], "accuracy_train": acc["train"], "accuracy_test": acc["test"],
        "max_pattern_std": float(np.asarray(full.pattern).std(0).max()),
    }])
    return FixedAttention(mp, run, table)


# ------------------------------------------------------------------------------------- 8. resampling ablation
def _replace_last_resid_mid(new_last):
    new_last = jnp.asarray(new_last)

    def fn(act):  # (b, p, d)
        return act.at[:, -1, :].set(new_last.astype(act.dtype))

    return {RESID_MID: fn}


def logit_diff_from_resid_mid(params, resid_mid) -> np.ndarray:
    """Logit difference of every input when its last-position resid_mid is replaced by ``resid_mid`` (N, d)."""
    resid_mid = np.asarray(resid_mid)
    out = []
    toks = grid_tokens()
    if resid_mid.shape[0] != len(toks):
        raise ValueError(f"resid_mid must have {len(toks)} rows; got {resid_mid.shape}")
    batch = 4096
    padded = np.concatenate([resid_mid, np.repeat(resid_mid[:1], (-len(toks)) % batch, axis=0)])
    for s, chunk in _chunks(toks, batch):
        logits, _ = M.forward(params, chunk, _replace_last_resid_mid(padded[s:s + len(chunk)]))
        n = min(batch, len(toks) - s)
        out.append(np.asarray(logits[:n, -1, 1] - logits[:n, -1, 0]))
    return np.concatenate(out)


def _resample_within(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each i, a random index j with groups[j] == groups[i]."""
    out = np.empty(len(groups), np.int64)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = rng.choice(idx, size=len(idx), replace=True)
    return out


def resample_ablation(params, resid_mid, pred, rule: AndRule, seed: int = 0, repeats: int = 3) -> pd.DataFrame:
    """Resampling test of the hypothesis "the label is the AND of α·r > t_α and β·r > t_β" (causal-scrubbing
    spirit). With P the orthogonal projector on span(α, β), each input's last-position resid_mid r_i becomes
    P r_k + (I − P) r_j and the MLP and unembedding run on it; the agreement with the model's own labels
    ``pred`` (N,) measures how much of the behaviour the hypothesis retains.

    Variants (rows): "others" (j random over all inputs, k = i: resample every direction outside the plane),
    "alpha_beta" (k random among inputs on the same sides of both thresholds, j = i), "both" (the test
    proper), and the control "random" (k random over all inputs, j = k: a random other input's whole
    resid_mid). Columns: variant, agreement (mean over ``repeats`` draws), agreement_std.
    """
    r = np.asarray(resid_mid, dtype=np.float64)
    pred = _flat_labels("pred", pred)
    Q, _ = np.linalg.qr(np.asarray(rule.directions, np.float64).T)  # (d, 2)
    inplane = r @ Q @ Q.T
    outplane = r - inplane
    proj = r @ np.asarray(rule.directions, np.float64).T  # (N, 2)
    sides = 2 * (proj[:, 0] > rule.thresholds[0]) + (proj[:, 1] > rule.thresholds[1])
    rng = np.random.default_rng(seed)
    n = len(r)
    rows = []
    for variant in ("others", "alpha_beta", "both", "random"):
        agree = []
        for _ in range(repeats):
            ident = np.arange(n)
            k = _resample_within(sides, rng) if variant in ("alpha_beta", "both") else ident
            j = rng.integers(0, n, n) if variant in ("others", "both") else ident
            if variant == "random":
                k = j = rng.integers(0, n, n)
            new = inplane[k] + outplane[j]
            agree.append(float(((logit_diff_from_resid_mid(params, new) > 0) == pred).mean()))
        rows.append({"variant": variant, "agreement": float(np.mean(agree)), "agreement_std": float(np.std(agree))})
    return pd.DataFrame(rows)


def and_rule_table(rule: AndRule, resid_mid, pred) -> pd.DataFrame:
    """One row: the agreement of ``rule`` on (N, d) activations with the labels ``pred`` (N,)."""
    pred = _flat_labels("pred", pred)
    return pd.DataFrame([{"agreement": float((and_predict(rule, resid_mid) == pred).mean()),
                          "threshold_alpha": float(rule.thresholds[0]), "threshold_beta": float(rule.thresholds[1]),
                          "cos_alpha_beta": float(np.dot(rule.directions[0], rule.directions[1]))}])
