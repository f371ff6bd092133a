"""Attention heads: the analyses of the published solutions that look inside the attention layer.

Glossary: N = 12,769 inputs, h = n_heads, k = key position (0: x, 1: y, 2: "="), pattern (N, h, k) the last
query's attention. The last position's resid_mid is linear in its attention pattern (no biases, no
LayerNorm): ``resid_mid = e_= + Σ_h Σ_k pattern[h, k] · (W_E[tok_k] + W_pos[k]) W_V[h] W_O[h]`` with
e_= = W_E[=] + W_pos[2], so :func:`resid_mid_from_patterns` evaluates any pattern (mean, interpolated, a
head restored) without a forward pass; :func:`~.grid.tail_logit_diff` finishes the model from there.

- :func:`qk_positional` (RGRGRG, "QK-circuit on the positional embeddings"): per head, the score of the
  last position's positional embedding against x's and y's, W_pos[2] W_Q[h] · W_pos[k] W_K[h] (raw scores,
  before the 1/√d_head scale); delta = score(x) − score(y). Published for the original: 7 of 8 heads
  favour x's position, three (0, 1, 5) by more than 11.
- :func:`qk_tokens` (RGRGRG, "QK-circuit on our numerical embeddings"): per head, the last query's score
  (W_E[=] + W_pos[2]) W_Q[h] · W_E[t] W_K[h] against each input value t; published: heads 0, 1, 5 alike,
  2 and 4 alike and roughly increasing.
- :func:`head_addback` (RGRGRG, "all attention heads ablated, adding back heads 2 & 4"): every head's
  pattern at its mean over the inputs (the post does not say which ablation; we use H&H's mean pattern),
  then one head restored to its real pattern, then the best one with each other (a greedy pair).
- :func:`attention_interpolation` (H&H's proposed next step): pattern = mean + t · (pattern − mean).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import data, plots_methods
from tms.challenge.diagnostics.embeddings import params_float64
from tms.challenge.diagnostics.grid import tail_logit_diff
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError

INTERPOLATION_STEPS = 11  # t = 0, 0.1, ..., 1


def head_values(params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(v_x (h, 113, d), v_y (h, 113, d), v_eq (h, d), e_eq (d,)): what head h writes to the last position per
    unit of attention to x = t, y = t or "=", and the last position's own embedding, in float64."""
    p = params_float64(params)
    OV = np.einsum("hde,hef->hdf", p["W_V"], p["W_O"])
    vals = p["W_E"][:data.N_VALUES]
    v_x = np.einsum("td,hdf->htf", vals + p["W_pos"][0], OV)
    v_y = np.einsum("td,hdf->htf", vals + p["W_pos"][1], OV)
    e_eq = p["W_E"][data.EQUALS_TOKEN] + p["W_pos"][2]
    return v_x, v_y, np.einsum("d,hdf->hf", e_eq, OV), e_eq


def resid_mid_from_patterns(params, patterns) -> np.ndarray:
    """(N, d) last-position resid_mid of every input when the last query's pattern is ``patterns`` (N, h, 3)
    (or one (h, 3) pattern for all inputs); exact up to float rounding (tested against the hooked model)."""
    v_x, v_y, v_eq, e_eq = head_values(params)
    h = v_x.shape[0]
    pat = np.asarray(patterns, np.float64)
    if pat.shape == (h, 3):
        pat = np.broadcast_to(pat, (data.N_PAIRS, h, 3))
    if pat.shape != (data.N_PAIRS, h, 3):
        raise TmsError(f"patterns must have shape (N={data.N_PAIRS}, n_heads={h}, 3) or ({h}, 3); got {pat.shape}")
    pairs = data.all_pairs()
    out = np.broadcast_to(e_eq, (data.N_PAIRS, e_eq.shape[0])) + pat[:, :, 2] @ v_eq
    out = out + np.einsum("nh,hnd->nd", pat[:, :, 0], v_x[:, pairs[:, 0]])
    return out + np.einsum("nh,hnd->nd", pat[:, :, 1], v_y[:, pairs[:, 1]])


def qk_positional(params) -> pd.DataFrame:
    """Per head: raw positional QK scores of the last position against x's and y's positions, and delta."""
    p = params_float64(params)
    q = np.einsum("d,hde->he", p["W_pos"][2], p["W_Q"])
    k = np.einsum("kd,hde->hke", p["W_pos"][:2], p["W_K"])
    s = np.einsum("he,hke->hk", q, k)
    return pd.DataFrame({"head": np.arange(len(s)), "score_x": s[:, 0], "score_y": s[:, 1],
                         "delta": s[:, 0] - s[:, 1]})


def qk_tokens(params) -> np.ndarray:
    """(h, 113) raw score of the last query (W_E[=] + W_pos[2]) W_Q[h] against each value's W_E[t] W_K[h]."""
    p = params_float64(params)
    q = np.einsum("d,hde->he", p["W_E"][data.EQUALS_TOKEN] + p["W_pos"][2], p["W_Q"])
    k = np.einsum("td,hde->hte", p["W_E"][:data.N_VALUES], p["W_K"])
    return np.einsum("he,hte->ht", q, k)


def qk_token_table(scores) -> pd.DataFrame:
    """Per head: Spearman correlation of its token-QK curve with the value t (monotone trend), and the most
    similar other head (Pearson correlation of the curves)."""
    from scipy.stats import spearmanr

    s = np.asarray(scores, np.float64)
    corr = np.corrcoef(s)
    np.fill_diagonal(corr, -np.inf)
    rows = []
    for h in range(len(s)):
        j = int(np.argmax(corr[h]))
        rows.append({"head": h, "spearman_vs_value": float(spearmanr(np.arange(s.shape[1]), s[h])[0]),
                     "range": float(np.ptp(s[h])), "most_similar_head": j, "similarity": float(corr[h, j])})
    return pd.DataFrame(rows)


def _scores(params, patterns, reference, truth) -> tuple[float, float]:
    pred = tail_logit_diff(params, resid_mid_from_patterns(params, patterns)) > 0
    return float((pred == reference).mean()), float((pred == truth).mean())


def _with_heads(pat: np.ndarray, heads) -> np.ndarray:
    cur = np.broadcast_to(pat.mean(0), pat.shape).copy()
    cur[:, list(heads)] = pat[:, list(heads)]
    return cur


def head_addback(params, patterns, reference, truth) -> pd.DataFrame:
    """All heads at their mean pattern ("none"), then each head restored to its real pattern, then the best
    single head together with each other head (a greedy pair), and all heads ("all": the real model).
    Columns: heads ("2" or "2+4"), n_heads, agreement (with ``reference``, the full model's labels),
    accuracy (with ``truth``)."""
    pat = np.asarray(patterns, np.float64)
    h = pat.shape[1]
    rows = []

    def add(S):
        agree, acc = _scores(params, _with_heads(pat, S), reference, truth)
        name = "none" if not S else ("all" if len(S) == h else "+".join(map(str, sorted(S))))
        rows.append({"heads": name, "n_heads": len(S), "agreement": agree, "accuracy": acc})

    for S in [()] + [(g,) for g in range(h)]:
        add(S)
    best = int(np.argmax([r["agreement"] for r in rows[1:]]))
    for g in range(h):
        if g != best:
            add((best, g))
    add(tuple(range(h)))
    return pd.DataFrame(rows)


def attention_interpolation(params, patterns, reference, truth, steps: int = INTERPOLATION_STEPS) -> pd.DataFrame:
    """pattern = mean + t · (pattern − mean) for t in linspace(0, 1, steps). Columns: t, agreement, accuracy."""
    pat = np.asarray(patterns, np.float64)
    mean = pat.mean(0)
    rows = []
    for t in np.linspace(0.0, 1.0, steps):
        agree, acc = _scores(params, mean + t * (pat - mean), reference, truth)
        rows.append({"t": float(t), "agreement": agree, "accuracy": acc})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- registered diagnostic
@register("heads", "attention heads: QK on positional and token embeddings, heads added back to the mean "
                   "pattern, interpolation from the mean pattern")
def heads_diagnostic(dx) -> Outcome:
    full = dx.full
    pos = qk_positional(dx.params)
    tok = qk_tokens(dx.params)
    tok_table = qk_token_table(tok)
    add = head_addback(dx.params, full.pattern, full.pred, dx.truth)
    interp = attention_interpolation(dx.params, full.pattern, full.pred, dx.truth)
    singles = add[add["n_heads"] == 1]
    pairs = add[add["n_heads"] == 2]
    best1, best2 = singles.loc[singles["agreement"].idxmax()], pairs.loc[pairs["agreement"].idxmax()]
    none = add[add["heads"] == "none"].iloc[0]
    numbers = dict(
        qk_pos_heads_favour_x=int((pos["delta"] > 0).sum()),
        qk_pos_heads_abs_delta_gt_11=int((pos["delta"].abs() > 11).sum()),
        qk_pos_delta=pos["delta"].round(3).tolist(),
        qk_token_spearman=tok_table["spearman_vs_value"].round(3).tolist(),
        addback_none_agreement=none["agreement"], addback_best_head=str(best1["heads"]),
        addback_best_head_agreement=best1["agreement"], addback_best_pair=str(best2["heads"]),
        addback_best_pair_agreement=best2["agreement"],
        interpolation_agreement=interp["agreement"].round(6).tolist(),
        interpolation_half_agreement=float(interp.loc[(interp["t"] - 0.5).abs().idxmin(), "agreement"]))
    figures = {}
    if dx.settings.figures:
        figures["heads"] = plots_methods.heads_figure(pos, tok, add, interp)
    tables = {"heads_qk_positional": pos, "heads_qk_tokens": tok_table, "heads_addback": add,
              "attention_interpolation": interp}
    return Outcome(numbers, tables, figures)
