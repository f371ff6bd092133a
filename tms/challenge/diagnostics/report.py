"""The diagnosis as files: the summary table beside the published numbers (markdown), strict JSON and CSV
tables, written reproducibly.

Reproducibility: floats are written with ``SIGNIFICANT`` = 6 significant digits (JSON and CSV alike). On one
machine the computation is deterministic (fixed keys and seeds, fixed batch shapes), but XLA's and BLAS's
CPU kernels may round the last float32 bits differently on another CPU; six digits keep that noise (seen in
the 7th digit) out of the files. JSON is strict (missing values are ``null``, never NaN) and holds no
absolute path; timings are written apart (``timings.json``), never into the results.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from tms.runs.atomic import atomic_write, write_json

SIGNIFICANT = 6

# Published numbers for the original challenge model, from the two published solutions of Casper's challenge
# #2 (fixed attention, the α/β AND rule, probes, the 4-neuron set, resampling); the accuracies are those of
# the original model's labels in the shipped reference file.
PUBLISHED = {
    "accuracy_full": 0.9864, "accuracy_train": 0.9970, "accuracy_test": 0.9757,
    "fixed_attention_agreement": 0.929, "fixed_attention_accuracy": 0.927,
    "and_agreement_full": 0.974, "and_agreement_fixed_attention": 0.979,
    "probe_x": 1.00, "probe_y": 0.78, "neurons_4_agreement": 0.987, "resampling_agreement": 0.94,
}

ROWS = (  # (key, description) of the comparison table, one row per published number
    ("accuracy_full", "accuracy, full grid"),
    ("accuracy_train", "accuracy, train half"),
    ("accuracy_test", "accuracy, test half"),
    ("fixed_attention_agreement", "fixed attention: agreement with the full model"),
    ("fixed_attention_accuracy", "fixed attention: accuracy"),
    ("and_agreement_full", "α/β AND of thresholds: agreement, full model"),
    ("and_agreement_fixed_attention", "α/β AND of thresholds: agreement, fixed attention"),
    ("probe_x", "linear probe for x from resid_mid (test accuracy)"),
    ("probe_y", "linear probe for y from resid_mid (test accuracy)"),
    ("neurons_4_agreement", "best 4 neurons: agreement"),
    ("resampling_agreement", "resampling ablation of α/β: retained agreement"),
)

EXTRA_ROWS = (  # (key, description, format) of the second table: measures with no published counterpart
    ("agreement_original", "agreement with the original model's labels, full grid", "{:.1%}"),
    ("errors_n", "mistakes on the full grid", "{:.0f}"),
    ("errors_frac_d_min_le_2", "mistakes within 2 units of a boundary", "{:.1%}"),
    ("all_frac_d_min_le_2", "all inputs within 2 units of a boundary", "{:.1%}"),
    ("errors_frac_nearest_curved", "mistakes whose nearest boundary is curved", "{:.1%}"),
    ("original_errors_frac_d_min_le_2", "original model's mistakes within 2 units", "{:.1%}"),
    ("and_n_components", "principal components searched for α, β", "{:.0f}"),
    ("resampling_others", "resampling: other directions only", "{:.1%}"),
    ("resampling_alpha_beta", "resampling: α/β within their sides only", "{:.1%}"),
    ("resampling_random", "resampling control: a random input's resid_mid", "{:.1%}"),
    ("and_wide_agreement_full", "AND searched in 16 PCs: agreement", "{:.1%}"),
    ("resampling_wide_both", "AND searched in 16 PCs: resampling, both", "{:.1%}"),
    ("neurons_4_agreement_best_offset", "best 4 neurons, threshold re-optimised", "{:.1%}"),
    ("neurons_8_agreement", "best 8 neurons", "{:.1%}"),
    ("neurons_for_half_rms", "neurons carrying half the total RMS contribution", "{:.0f}"),
    ("neurons_never_active", "neurons never active on any input", "{:.0f}"),
)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def summary_markdown(res: dict) -> str:
    """Markdown: our model's numbers beside the published ones for the original model, then other measures.

    A missing number (absent, None or NaN) reads "n/a" in the first table and is left out of the second.
    """
    lines = ["| measure | this model | original model (published) |", "|---|---|---|"]
    for key, desc in ROWS:
        ours = res.get(key)
        ours_s = "n/a" if _missing(ours) else f"{100 * ours:.1f}%"
        lines.append(f"| {desc} | {ours_s} | {100 * PUBLISHED[key]:.1f}% |")
    lines += ["", "| other measures of this model | value |", "|---|---|"]
    for key, desc, fmt in EXTRA_ROWS:
        v = res.get(key)
        if not _missing(v):
            lines.append(f"| {desc} | {fmt.format(v)} |")
    return "\n".join(lines) + "\n"


def round_significant(obj, digits: int = SIGNIFICANT):
    """``obj`` with every float (Python or NumPy, inside dicts, lists, tuples and arrays) rounded to ``digits``
    significant digits and NumPy scalars made plain Python; non-finite floats become None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): round_significant(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_significant(v, digits) for v in obj]
    if isinstance(obj, np.ndarray):
        return round_significant(obj.tolist(), digits)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else None
    return obj


def write_table(path, frame: pd.DataFrame, digits: int = SIGNIFICANT) -> Path:
    """Write ``frame`` as CSV (no index; floats with ``digits`` significant digits; NaN as an empty field),
    atomically."""
    path = Path(path)
    atomic_write(path, lambda f: frame.to_csv(f, index=False, float_format=f"%.{digits}g", lineterminator="\n"))
    return path


def write_summary(out_dir, numbers: dict) -> dict:
    """Write ``summary.json`` (strict, rounded) and ``summary.md`` into ``out_dir``; return what was written."""
    out = Path(out_dir)
    res = round_significant(numbers)
    write_json(out / "summary.json", res)
    atomic_write(out / "summary.md", lambda f: f.write(summary_markdown(res)))
    return res
