"""Row complexity (RGRGRG §4.1): mistakes by the number of colour changes in their row of the labelling rule.

A row is one value of x (the first token) across y = 0..112; its complexity is the number of times the
ground-truth label changes along it (0, 1 or 2 for this rule). Published for the original model: no
mistakes on rows with 0 changes, some on rows with 1, more on rows with 2. We count the mistakes of this
model, of its fixed-attention version and of the original model's labels (the shipped reference file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import data
from tms.challenge.diagnostics.grid import as_grid, flat_labels
from tms.challenge.diagnostics.registry import Outcome, register


def colour_changes(truth=None) -> np.ndarray:
    """(113,) number of label changes along y in each row x of the ground truth (or of ``truth``)."""
    t = as_grid(flat_labels("truth", data.label_grid() if truth is None else truth)).astype(np.int8)
    return (np.diff(t, axis=1) != 0).sum(1)


def row_complexity_table(labelings: dict, truth=None) -> pd.DataFrame:
    """One row per (model, changes): rows, mistakes, mistakes_per_row, error_rate. ``labelings``: name ->
    (113, 113) or (N,) 0/1 labels."""
    t = as_grid(flat_labels("truth", data.label_grid() if truth is None else truth))
    ch = colour_changes(t)
    out = []
    for name, lab in labelings.items():
        wrong = (as_grid(flat_labels(name, lab)) != t).sum(1)  # (113,) mistakes per row
        for c in np.unique(ch):
            sel = ch == c
            out.append({"model": name, "changes": int(c), "rows": int(sel.sum()), "mistakes": int(wrong[sel].sum()),
                        "mistakes_per_row": float(wrong[sel].mean()),
                        "error_rate": float(wrong[sel].sum() / (sel.sum() * data.N_VALUES))})
    return pd.DataFrame(out)


@register("rows", "RGRGRG's row complexity: mistakes by the number of colour changes in their row")
def row_diagnostic(dx) -> Outcome:
    table = row_complexity_table({"this model": dx.full.pred, "fixed attention": dx.fixed.run.pred,
                                  "original model": dx.reference["model_labels"]}, dx.truth)
    numbers = {}
    for key, name in (("", "this model"), ("fixed_", "fixed attention"), ("original_", "original model")):
        for _, row in table[table["model"] == name].iterrows():
            numbers[f"rows_{key}mistakes_{int(row['changes'])}_changes"] = int(row["mistakes"])
    numbers["rows_by_changes"] = table[table["model"] == "this model"]["rows"].tolist()
    return Outcome(numbers, {"rows": table}, {})
