"""Accuracy and where the mistakes are.

- :func:`accuracy_table`: accuracy on the challenge's train, test and full sets, and agreement with the
  original model's labels (the shipped reference data).
- :func:`error_distances`, :func:`error_distance_summary`: the Euclidean distance (grid units) of every input
  to the three boundary curves of the labelling rule, and how the mistakes compare with all inputs (Casper's
  question: are the mistakes near the curved boundaries?).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tms.challenge import data as challenge_data
from tms.challenge import plots
from tms.challenge.diagnostics.grid import as_grid, flat_labels
from tms.challenge.diagnostics.registry import Outcome, register


def accuracy_table(pred, truth=None, original=None) -> pd.DataFrame:
    """Accuracy of ``pred`` against ``truth`` (default: the ground truth) on the challenge's train, test and
    full sets, with agreement with ``original`` (the original model's labels) when given.

    pred, truth, original: (113, 113) or (N,) 0/1 labels. Columns: set, n, accuracy, errors,
    agreement_original (NaN without ``original``).
    """
    p = flat_labels("pred", pred)
    t = flat_labels("truth", challenge_data.label_grid() if truth is None else truth)
    o = None if original is None else flat_labels("original", original)
    tr, te = challenge_data.split()
    rows = []
    for name, idx in (("train", tr), ("test", te), ("full", np.arange(challenge_data.N_PAIRS))):
        ok = p[idx] == t[idx]
        rows.append({"set": name, "n": len(idx), "accuracy": ok.mean(), "errors": int((~ok).sum()),
                     "agreement_original": np.nan if o is None else float((p[idx] == o[idx]).mean())})
    return pd.DataFrame(rows)


def error_distances(pred, truth=None) -> pd.DataFrame:
    """One row per input: x, y, truth, pred, error, the Euclidean distances d_a, d_b, d_c (grid units) to
    the boundaries x² = 200√y, y² = 600√x, x + y = 133, d_min, nearest ("a"/"b"/"c"), and d_label, the
    distance to the nearest input whose true label differs (label changes also happen between rows x inside
    one region, not only on the three curves)."""
    from scipy.spatial import cKDTree

    p = flat_labels("pred", pred)
    t = flat_labels("truth", challenge_data.label_grid() if truth is None else truth)
    pairs = challenge_data.all_pairs()
    d = challenge_data.boundary_distance(pairs)  # (N, 3)
    d_label = np.zeros(challenge_data.N_PAIRS)
    for v in (0, 1):
        other = pairs[t != v]
        d_label[t == v] = cKDTree(other).query(pairs[t == v])[0] if len(other) else np.inf
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


# ------------------------------------------------------------------------------------- registered diagnostics
@register("accuracy", "accuracy on train/test/full and agreement with the original model's labels")
def accuracy_diagnostic(dx) -> Outcome:
    ref, full = dx.reference, dx.full
    acc = accuracy_table(full.pred, original=ref["model_labels"])
    a = acc.set_index("set")
    numbers = dict(accuracy_full=a.loc["full", "accuracy"], accuracy_train=a.loc["train", "accuracy"],
                   accuracy_test=a.loc["test", "accuracy"], agreement_original=a.loc["full", "agreement_original"])
    figures = {}
    if dx.settings.figures:
        maps = {"ground truth": as_grid(dx.truth), "this model": as_grid(full.pred),
                "this model: errors": as_grid(full.pred != dx.truth),
                "original model": ref["model_labels"],
                "original model: errors": ref["model_labels"] != ref["labels"],
                "disagreement with the original": as_grid(full.pred) != ref["model_labels"]}
        figures["label_maps"] = plots.label_maps_figure(maps)
        figures["logit_diff"] = plots.value_map_figure({"logit[1] − logit[0]": as_grid(full.logit_diff)})
    return Outcome(numbers, {"accuracy": acc}, figures)


@register("errors", "distance of the mistakes to the three boundary curves, beside the original model's")
def error_diagnostic(dx) -> Outcome:
    frame = error_distances(dx.full.pred)
    summary = error_distance_summary(frame)
    s = summary.set_index("group")
    numbers = dict(errors_n=int(s.loc["errors", "n"]), errors_median_d_min=s.loc["errors", "median_d_min"],
                   all_median_d_min=s.loc["all", "median_d_min"],
                   errors_frac_d_min_le_2=s.loc["errors", "frac_d_min_le_2"],
                   all_frac_d_min_le_2=s.loc["all", "frac_d_min_le_2"],
                   errors_frac_nearest_curved=s.loc["errors", "frac_nearest_curved"],
                   errors_median_d_label=s.loc["errors", "median_d_label"],
                   all_median_d_label=s.loc["all", "median_d_label"])
    so = error_distance_summary(error_distances(dx.reference["model_labels"])).set_index("group")
    numbers.update(original_errors_median_d_min=so.loc["errors", "median_d_min"],
                   original_errors_frac_d_min_le_2=so.loc["errors", "frac_d_min_le_2"],
                   original_errors_median_d_label=so.loc["errors", "median_d_label"])
    figures = {"error_distances": plots.error_distance_figure(frame)} if dx.settings.figures else {}
    return Outcome(numbers, {"error_distances": summary}, figures)
