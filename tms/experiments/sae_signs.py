"""The signs for choosing an SAE's size and penalty without the truth, on an SAE sweep's results (``tms plot``).

:mod:`tms.analysis.sae_signs` computes the signs (dead latents, loss stickiness, MMCS with the next larger
dictionary) and scores them against the truth; this module feeds it a sweep's stored arrays and its scores
against the truth (:func:`tms.experiments.sae.score_results`) and writes, for a sweep of two sizes or more,
``sae_signs.csv`` (per architecture, knob and size), ``sae_sign_scores.csv`` (per architecture and knob: each
sign's pick against the truth's best size), ``sae_signs.txt`` (the summary tables) and the figure
``sae_signs``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import sae_signs
from ..engine.sae import get_arch
from ..errors import TmsError
from ..io import save_figure
from ..plots.sae import signs_figure

DEAD_TOL = 0.05  # a size counts as free of dead latents with at most 5% of its latents dead


def signs_inputs(res, scores: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """The rows and decoders :func:`sae_signs.signs_table` reads: ``scores`` (one row per SAE, in the order
    :func:`~tms.experiments.sae.score_results` gives) with ``knob`` (α, or k for TopK and BatchTopK) and
    ``loss`` (the training loss at the last step, ``final_loss``), and each SAE's decoder."""
    losses, decoders, keys = [], [], []
    for a, arch in enumerate(res.archs):
        for r, size in enumerate(res.sizes):
            for c in np.flatnonzero(res.valid[a, r]):
                losses.append(float(res.final_loss[a, r, c]))
                decoders.append(np.asarray(res.W_dec[a, r, c, :size], np.float64))
                keys.append((arch, int(size), int(res.seed[a, r, c])))
    if keys != list(zip(scores["arch"], scores["d_sae"].astype(int), scores["seed"].astype(int))):
        raise TmsError("sae signs: the scores do not list the sweep's SAEs in its order; score them with "
                       "tms.experiments.sae.score_results")
    is_k = scores["arch"].map(lambda a: get_arch(a).knob == "k").to_numpy()
    knob = np.where(is_k, scores["k"].to_numpy(np.float64), scores["penalty"].to_numpy(np.float64))
    return scores.assign(knob=knob, loss=losses), decoders


def sign_tables(res, scores: pd.DataFrame, dead_tol: float = DEAD_TOL) -> dict[str, pd.DataFrame]:
    """``table`` (:func:`sae_signs.signs_table`), ``scores`` (per knob), ``summary`` (per architecture and
    sign) and ``joint`` (the (knob, size) picks) of a sweep's results and its scores against the truth."""
    table = sae_signs.signs_table(*signs_inputs(res, scores))
    per_knob = sae_signs.score_signs(table, dead_tol, n_true=res.directions().shape[0])
    return {"table": table, "scores": per_knob, "summary": sae_signs.summarize_scores(per_knob),
            "joint": sae_signs.joint_picks(table)}


def report_text(tables: dict, dead_tol: float = DEAD_TOL) -> str:
    """The summary as text: per architecture and sign the hits and regret, then each knob's picks."""
    fmt = {"float_format": lambda v: f"{v:.4g}"}
    s = tables["scores"]
    picks = s[["arch", "knob", "truth_size", "truth_mmcs"] + [f"{k}_size" for k in sae_signs.SIGNS]
              + [f"{k}_mmcs" for k in sae_signs.SIGNS]]
    return "\n".join([
        f"signs for choosing the dictionary size (dead: largest size with dead fraction <= {dead_tol:g}; sticky: "
        "the size the largest relative fall of the loss lands on; cross: highest MMCS with the next larger size)",
        "hits = knob values where the sign picks the size with the best MMCS against the truth; regret = best "
        "MMCS - MMCS at the pick; count = knob values where it picks the true feature count; 'truth' = the best "
        "size by the truth; 'largest' = always the largest size (baseline)",
        "", tables["summary"].to_string(index=False, **fmt),
        "", "per knob value (sizes in latents; mmcs against the truth at each pick):", picks.to_string(index=False, **fmt),
        "", "joint (knob, size): the truth's best beside the highest MMCS with the next larger size:",
        tables["joint"].to_string(index=False, **fmt), ""])


def signs_figures(res, scores: pd.DataFrame, out: Path, fmt: str = "png") -> list[Path]:
    """Write the sign tables, their summary and the figure; nothing for a sweep of one size."""
    if len(res.sizes) < 2:
        return []
    tables = sign_tables(res, scores)
    tables["table"].to_csv(out / "sae_signs.csv", index=False)
    tables["scores"].to_csv(out / "sae_sign_scores.csv", index=False)
    (out / "sae_signs.txt").write_text(report_text(tables))
    names = {a: ("k" if get_arch(a).knob == "k" else "α") for a in res.archs}
    fig = signs_figure(tables["table"], DEAD_TOL, n_true=res.directions().shape[0], knob_names=names)
    return [save_figure(fig, out / f"sae_signs.{fmt}")]
