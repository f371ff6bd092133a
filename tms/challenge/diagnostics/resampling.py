"""Resampling ablation of the α/β AND hypothesis (in the spirit of causal scrubbing).

If the label only depends on which side of the two thresholds resid_mid lies along α and β, then swapping the
rest of resid_mid between inputs, or swapping the α/β part between inputs on the same sides, keeps the
model's labels. The published solution keeps 94% for the original model with both resamplings together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np
import pandas as pd

from tms.challenge import model as M
from tms.challenge import plots as P
from tms.challenge.diagnostics.directions import AndRule
from tms.challenge.diagnostics.grid import BATCH, RESID_MID, chunks, flat_labels, grid_tokens
from tms.challenge.diagnostics.registry import Outcome, register

if TYPE_CHECKING:
    from tms.challenge.diagnostics.context import Diagnosis


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
    batch = BATCH
    padded = np.concatenate([resid_mid, np.repeat(resid_mid[:1], (-len(toks)) % batch, axis=0)])
    for s, chunk in chunks(toks, batch):
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
    pred = flat_labels("pred", pred)
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


@register("resampling", "resampling ablation of the α/β AND hypothesis (and of the 16-component rule)")
def resampling_diagnostic(dx: Diagnosis) -> Outcome:
    full, seed = dx.full, dx.settings.seed
    table = resample_ablation(dx.params, full.resid_mid, full.pred, dx.rule, seed=seed,
                              repeats=dx.settings.resampling_repeats)
    numbers = {f"resampling_{row['variant']}": row["agreement"] for _, row in table.iterrows()}
    numbers["resampling_agreement"] = numbers["resampling_both"]
    if dx.rule_wide is not None:
        wide = resample_ablation(dx.params, full.resid_mid, full.pred, dx.rule_wide, seed=seed, repeats=1)
        numbers.update({f"resampling_wide_{row['variant']}": row["agreement"] for _, row in wide.iterrows()})
    figures = {"resampling": P.resampling_figure(table)} if dx.settings.figures else {}
    return Outcome(numbers, {"resampling": table}, figures)
