"""Fixed attention: every head's last-query pattern replaced by its mean over all inputs.

If the model works with (nearly) input-independent attention, freezing ``hook_pattern`` at the last position
to its mean keeps its labels; the published solutions report 92.9% agreement for the original model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tms.challenge import model as challenge_model
from tms.challenge import plots
from tms.challenge.diagnostics.accuracy import accuracy_table
from tms.challenge.diagnostics.grid import PATTERN, GridRun, run_grid
from tms.challenge.diagnostics.registry import Outcome, register
from tms.errors import TmsError


def mean_last_pattern(pattern) -> np.ndarray:
    """(N, h, k) last-query attention -> (h, k) mean over the inputs (in float64)."""
    pattern = np.asarray(pattern, np.float64)  # float32 accumulation over 12,769 rows loses 1e-5
    if pattern.ndim != 3:
        raise TmsError(f"pattern must have shape (N, n_heads, n_keys); got {pattern.shape}")
    return pattern.mean(0)


def fixed_pattern_hooks(params, mean_pattern) -> dict:
    """Hooks freezing every head's last-query pattern at ``mean_pattern`` (h, k); earlier queries untouched."""
    cfg = challenge_model.Config.from_params(params)
    mean_pattern = np.asarray(mean_pattern)
    if mean_pattern.shape != (cfg.n_heads, cfg.n_ctx):
        raise TmsError(f"mean_pattern must have shape (n_heads, n_ctx)={(cfg.n_heads, cfg.n_ctx)}; "
                       f"got {mean_pattern.shape}")
    full = np.zeros((cfg.n_heads, cfg.n_ctx, cfg.n_ctx), np.float32)
    full[:, -1, :] = mean_pattern
    return {PATTERN: challenge_model.fixed_pattern_hook(full, query_positions=[cfg.n_ctx - 1])}


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
        "max_pattern_std": float(np.asarray(full.pattern, np.float64).std(0).max()),
    }])
    return FixedAttention(mp, run, table)


@register("attention", "last-position attention frozen at its mean over the inputs")
def attention_diagnostic(dx) -> Outcome:
    fa = dx.fixed
    row = fa.table.iloc[0]
    numbers = dict(fixed_attention_agreement=row["agreement_full_model"],
                   fixed_attention_accuracy=row["accuracy_full"], attention_max_std=row["max_pattern_std"],
                   mean_pattern=fa.mean_pattern.round(4).tolist())
    figures = {}
    if dx.settings.figures:
        figures["attention"] = plots.attention_figure(fa.mean_pattern, np.asarray(dx.full.pattern, np.float64).std(0))
    return Outcome(numbers, {}, figures)
