"""The diagnosis as files: the comparison with the published numbers (``ROWS``: one row per published
method, with its name, source and metric; ``comparison`` puts them into summary.json, the markdown
functions render them, :func:`update_markdown` regenerates the README's and docs' marked blocks), strict JSON
and CSV tables, written reproducibly.

Reproducibility: floats are written with ``SIGNIFICANT`` = 6 significant digits (JSON and CSV alike). On one
machine the computation is deterministic (fixed keys and seeds, fixed batch shapes), but XLA's and BLAS's
CPU kernels may round the last float32 bits differently on another CPU; six digits keep that noise (seen in
the 7th digit) out of the files. JSON is strict (missing values are ``null``, never NaN) and holds no
absolute path; timings are written apart (``timings.json``), never into the results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tms.io import atomic_write, write_json

from ...errors import TmsError

SIGNIFICANT = 6

H_H = "Heimersheim & Hobbhahn"
RG = "RGRGRG (LessWrong)"
REFERENCE = "original model's labels (shipped reference file), computed here"
AGREE_FULL = "agreement with the full model's labels"
AGREE_FIXED = "agreement with the fixed-attention model's labels"
AGREE_CLEAN = "agreement with the clean (unablated) model's labels"
ACCURACY = "accuracy (ground truth)"
HEADS = "heads (of 8)"
PROBE = "accuracy of the value read (test half here)"
COUNT = "mistakes"


class Row(NamedTuple):
    """One measure beside its published value: ``key`` of our number in the summary, the measure, the
    write-up's protocol as we run it (``source``: whose), the metric (the same for every number in the row),
    the published number for the original model (None: the write-up gives no number, see ``note``), the
    format ("pct", "int" or "ratio"), and ``extra``: True for the lab's own measures (no published protocol
    is claimed for them)."""

    key: str
    method: str
    source: str
    metric: str
    published: float | None
    fmt: str = "pct"
    note: str = ""
    extra: bool = False


ROWS = (
    Row("accuracy_full", "model accuracy on all 12,769 inputs", H_H, ACCURACY, 0.986),
    Row("accuracy_train", "model accuracy, train half", REFERENCE, ACCURACY, 0.9970),
    Row("accuracy_test", "model accuracy, test half", REFERENCE, ACCURACY, 0.9757,
        note="Casper's 97.27% assumes 100% on the train half (H&H)"),
    Row("fixed_attention_agreement", "mean attention: every head's pattern fixed to its dataset mean", H_H,
        AGREE_FULL, 0.929, note="H&H: 'the same answer as the full model in 92.9% of cases'"),
    Row("fixed_attention_accuracy", "mean attention: every head's pattern fixed to its dataset mean", H_H, ACCURACY,
        0.927, note="H&H: 'the correct label, compared to ground truth, in 92.7% of cases'"),
    Row("and_agreement_full", "α AND β: two decision boundaries in the resid_mid PC1–PC2 plane", H_H, AGREE_FULL,
        0.974),
    Row("and_agreement_fixed_attention", "α AND β in the PC1–PC2 plane, fixed-attention model", H_H, AGREE_FIXED,
        0.979),
    Row("filter_and_agreement_fixed_attention", "binary α/β filter images (extended embeddings), AND", H_H,
        AGREE_FIXED, 0.979),
    Row("filter_and_agreement_full", "binary α/β filter images (extended embeddings), AND", H_H, AGREE_FULL, 0.915),
    Row("resampling_full_all_agreement_full", "causal scrubbing, all together ([1]+[2]+[3a]+[3b]), full model, "
        "permutation donors", H_H, AGREE_FULL, 0.94, note="H&H: 'we recover 94% performance (full model) even under "
        "all possible resampling ablations'; mean of the draws"),
    Row("resampling_full_all_accuracy", "causal scrubbing, all together, full model", H_H, ACCURACY, None,
        note="published table is an image; text: about 4 points lost (98.6% maximum)"),
    Row("resampling_fixed_attention_all_agreement_full", "causal scrubbing, all together, fixed-attention model",
        H_H, AGREE_FULL, None, note="published table is an image; caption: '92.9% is the maximum' (the "
        "agreement figure, though it says 'w.r.t. ground truth'); text: about 4 points lost"),
    Row("resampling_fixed_attention_all_accuracy", "causal scrubbing, all together, fixed-attention model", H_H,
        ACCURACY, None, note="the ground-truth reading of the caption: 92.7% would be the maximum"),
    Row("neurons_4_published_families_zero_ablation", "4 neurons, one from each published family (red-right, "
        "red-all, blue-left, blue-right); other neurons, residual stream and b_out zero-ablated; sum > 0", RG,
        AGREE_FULL, 0.987, note="best of the 6 largest (RMS) neurons of each family (1,296 sets)"),
    Row("neurons_4_top_per_family_zero_ablation", "the same, the largest (RMS) neuron of each published family, "
        "no search", RG, AGREE_FULL, 0.987),
    Row("neurons_4_zero_ablation", "the same, best of any 4 families (6 largest neurons each)", RG, AGREE_FULL,
        0.987, note="lab's search over every family choice: sets_searched in the summary", extra=True),
    Row("probe_x", "multinomial logistic regression resid_mid → x", RG, PROBE, 1.00,
        note="scikit-learn's default LogisticRegression (L2, C = 1, lbfgs, 100 iterations), train half → test half"),
    Row("probe_y", "multinomial logistic regression resid_mid → y", RG, PROBE, 0.78,
        note="the same classifier; the post states no split, penalty or solver"),
    Row("qk_pos_heads_favour_x", "QK circuit on positional embeddings: heads scoring x's position above y's", RG,
        HEADS, 7, "int"),
    Row("qk_pos_heads_abs_delta_gt_11", "QK circuit on positional embeddings: heads with \\|delta\\| > 11", RG, HEADS, 3,
        "int", note="raw scores; ours are smaller overall"),
    Row("rows_mistakes_0_changes", "row complexity: mistakes on rows with 0 colour changes", RG, COUNT, 0, "int",
        note="1 and 2 changes: published 'some' and 'more'"),
    Row("rows_original_mistakes_0_changes", "row complexity, the original model's labels (reference file)", RG,
        COUNT, 0, "int"),
    Row("fixed_mistakes_frac_near_threshold", "fixed-attention mistakes near a filter threshold (margin in the "
        "lowest 10% of all inputs')", H_H, "fraction of the mistakes", None,
        note="published: a prediction confirmed by eye; 10% = no effect"),
    Row("equal_value_across_spread_full", "equal α/β filter value → a line in PC1–PC2 (full model)", H_H,
        "spread across the line / overall (median)", None, "ratio",
        note="published: 'works exactly as expected' (fixed attention; 0 by construction there)"),
    Row("perturb_random_L1_rule_agreement", "random vector (length 1) added to resid_mid: rule still predicts",
        H_H, "agreement of the rule with the model", None, note="published: holds for small, fails for large"),
    Row("perturb_boundary_L1_rule_agreement", "along-boundary vector (length 1) added to resid_mid", H_H,
        "agreement of the rule with the model", None, note="published: holds for small, fails for large"),
    Row("addback_best_head_agreement", "all heads at their mean pattern, one head added back (best head)", RG,
        AGREE_FULL, None, note="published: heads 2 and 4 make the rows smoother (no number)"),
    Row("interpolation_half_agreement", "attention mean + t·(attn − mean), t = 0.5", H_H, AGREE_FULL, None,
        note="published as the proposed next step (animation only)"),
)

VARIANT_ROWS = (("1", "[1] resample the 126 directions outside PC1–PC2"),
                ("1star", "[1*] resample all but the first three directions"),
                ("2", "[2] α and β among inputs on the same side of their thresholds"),
                ("3a", "[3a] α among inputs where β is FALSE"),
                ("3b", "[3b] β among inputs where α is FALSE"),
                ("1_2", "[1]+[2]"),
                ("1_3a", "[1]+[3a]"),
                ("1_3b", "[1]+[3b]"),
                ("1_2_3a", "[1]+[2]+[3a]"),
                ("1_2_3b", "[1]+[2]+[3b]"),
                ("all", "[1]+[2]+[3a]+[3b] (β's mask recomputed)"))
COMPOSITION = {"1": "alone", "1star": "alone", "2": "alone", "3a": "alone", "3b": "alone", "all": "all together"}

EXTRA_ROWS = (  # (key, description, format) of the last table: extras with no published counterpart
    ("agreement_original", "agreement with the original model's labels, full grid", "{:.1%}"),
    ("errors_n", "mistakes on the full grid", "{:.0f}"),
    ("errors_frac_d_min_le_2", "mistakes within 2 units of a boundary", "{:.1%}"),
    ("all_frac_d_min_le_2", "all inputs within 2 units of a boundary", "{:.1%}"),
    ("errors_frac_nearest_curved", "mistakes whose nearest boundary is curved", "{:.1%}"),
    ("original_errors_frac_d_min_le_2", "original model's mistakes within 2 units", "{:.1%}"),
    ("and_var98_n_components", "extra AND search: principal components holding 98% of the variance", "{:.0f}"),
    ("and_var98_agreement_full", "extra AND search in those components: agreement with the full model", "{:.1%}"),
    ("and_wide_agreement_full", "extra AND search in 16 components: agreement with the full model", "{:.1%}"),
    ("neurons_all_zero_ablation", "all 1,024 neurons, zero-ablation protocol", "{:.1%}"),
    ("neurons_4_mean_ablation", "extra: best 4 neurons, no family constraint, rest mean-ablated (greedy)",
     "{:.1%}"),
    ("neurons_8_mean_ablation", "extra: best 8 neurons, the same", "{:.1%}"),
    ("neurons_in_families", "neurons in a family (max \\|contribution\\| > 0.5)", "{:.0f}"),
    ("family_cluster_agreement", "neurons whose signed-map cluster carries their family name", "{:.1%}"),
    ("neurons_for_half_rms", "neurons carrying half the total RMS contribution", "{:.0f}"),
    ("neurons_never_active", "neurons never active on any input", "{:.0f}"),
    ("probe_x_plain", "extra: probe for x, the same objective minimised to convergence (gradient ≤ 1e-5)", "{:.1%}"),
    ("probe_y_plain", "extra: probe for y, the same objective minimised to convergence", "{:.1%}"),
    ("probe_y_short", "extra: that run's iterate after 100 iterations of the lab's L-BFGS", "{:.1%}"),
    ("probe_y_whitened", "extra: probe for y on whitened resid_mid (Adam)", "{:.1%}"),
    ("addback_best_pair_agreement", "best pair of heads added back: agreement with the full model", "{:.1%}"),
    ("fixed_mistakes_median_margin", "fixed-attention mistakes: median filter margin (s.d.)", "{:.3g}"),
    ("all_median_margin", "all inputs: median filter margin (s.d.)", "{:.3g}"),
    ("perturb_random_L10_rule_agreement", "random vector of length 10: rule agreement", "{:.1%}"),
    ("perturb_boundary_L10_rule_agreement", "along-boundary vector of length 10: rule agreement", "{:.1%}"),
)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def _fmt(v, fmt: str) -> str:
    if _missing(v):
        return "n/a"
    if isinstance(v, str):
        return v
    return {"pct": f"{100 * v:.1f}%", "int": f"{v:.0f}", "ratio": f"{v:.3g}"}[fmt]


def comparison(res: dict, alternative: dict | None = None) -> list[dict]:
    """The comparison rows: key, method, source, metric, ours, published, format, note, extra, and (when an
    ``alternative`` summary is given) alternative: the same measure on the alternative model."""
    out = []
    for r in ROWS:
        ours = res.get(r.key)
        row = {"key": r.key, "method": r.method, "source": r.source, "metric": r.metric,
               "ours": None if _missing(ours) else ours, "published": r.published, "format": r.fmt,
               "note": r.note, "extra": r.extra}
        if alternative is not None:
            alt = alternative.get(r.key)
            row["alternative"] = None if _missing(alt) else alt
        out.append(row)
    return out


def comparison_markdown(res: dict) -> str:
    """Markdown table of ``res["comparison"]`` (or of :func:`comparison` of ``res``): measure, the write-up's
    protocol (its source; "lab extra" for the lab's own measures), metric, published value, ours (and the
    alternative model's when the rows carry it), note."""
    rows = res.get("comparison") or comparison(res)
    alt = any("alternative" in r for r in rows)
    lines = ["| measure | protocol | metric | published (original) | shipped model |"
             + (" alternative model |" if alt else "") + " note |",
             "|---|---|---|---|---|" + ("---|" if alt else "") + "---|"]
    for r in rows:
        pub = "—" if r["published"] is None else _fmt(r["published"], r["format"])
        source = f"lab extra (beside {r['source']})" if r.get("extra") else r["source"]
        cells = [r["method"], source, r["metric"], pub, _fmt(r["ours"], r["format"])]
        if alt:
            cells.append(_fmt(r.get("alternative"), r["format"]))
        lines.append("| " + " | ".join(cells) + f" | {r['note']} |")
    return "\n".join(lines) + "\n"


def _pm(res: dict, key: str) -> str:
    v, sd = res.get(key), res.get(f"{key}_std")
    if _missing(v):
        return "n/a"
    return f"{100 * v:.1f} ± {100 * sd:.1f}%" if not _missing(sd) else f"{100 * v:.1f}%"


def resampling_markdown(res: dict) -> str:
    """Markdown: every resampling variant (alone, on top of [1], all together) on both models; mean ± s.d.
    over the permutation draws of the agreement with the full model's labels and of the accuracy."""
    n, seed = res.get("resampling_repeats"), res.get("resampling_seed")
    head = (f"| H&H resampling variant ({n} permutations each, seed {seed}) | composition | full: agreement | "
            "full: accuracy | fixed attention: agreement with the full model | fixed attention: accuracy |")
    lines = [head, "|---|---|---|---|---|---|"]
    for key, desc in VARIANT_ROWS:
        vals = [_pm(res, f"resampling_{m}_{key}_{metric}")
                for m in ("full", "fixed_attention") for metric in ("agreement_full", "accuracy")]
        lines.append(f"| {desc} | {COMPOSITION.get(key, 'on top of [1]')} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(res: dict) -> str:
    """Markdown: the comparison with the published numbers, the resampling variants, then other measures
    (a missing number reads "n/a" in the first two tables and is left out of the last)."""
    lines = ["| other measures of this model | value |", "|---|---|"]
    for key, desc, fmt in EXTRA_ROWS:
        v = res.get(key)
        if not _missing(v):
            lines.append(f"| {desc} | {fmt.format(v)} |")
    return comparison_markdown(res) + "\n" + resampling_markdown(res) + "\n" + "\n".join(lines) + "\n"


HEADLINE = ("accuracy_full", "fixed_attention_agreement", "and_agreement_full", "filter_and_agreement_full",
            "resampling_full_all_agreement_full", "neurons_4_published_families_zero_ablation", "probe_y",
            "rows_mistakes_0_changes")


def headline_markdown(res: dict) -> str:
    """The comparison rows named in HEADLINE (the README's short table)."""
    rows = [r for r in (res.get("comparison") or comparison(res)) if r["key"] in HEADLINE]
    return comparison_markdown({"comparison": rows})


GENERATED = {  # block name -> the markdown it holds (from a summary)
    "summary": summary_markdown,
    "headline": headline_markdown,
}


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close generated block ``name`` in a markdown file."""
    return (f"<!-- challenge-{name}:begin (generated by `tms challenge table`; do not edit) -->",
            f"<!-- challenge-{name}:end -->")


BLOCK = markers("summary")


def replace_block(text: str, block: str, name: str = "summary") -> str:
    """``text`` with the part between the markers of block ``name`` replaced by ``block``; ValueError without
    markers."""
    begin, end = markers(name)
    try:
        a = text.index(begin) + len(begin)
        b = text.index(end, a)
    except ValueError:
        raise TmsError(f"no generated-table markers {begin!r} ... {end!r} in the text") from None
    return text[:a] + "\n" + block + text[b:]


def update_markdown(path, res: dict) -> list[str]:
    """Regenerate every GENERATED block present in the markdown file ``path`` from summary ``res``; returns
    the names of the blocks found (the file is rewritten only when one is)."""
    path = Path(path)
    text = path.read_text()
    found = [n for n in GENERATED if markers(n)[0] in text]
    for name in found:
        text = replace_block(text, GENERATED[name](res), name)
    if found:
        atomic_write(path, lambda f: f.write(text))
    return found


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


def write_summary(out_dir, numbers: dict, alternative: dict | None = None) -> dict:
    """Write ``summary.json`` (strict, rounded) and ``summary.md`` into ``out_dir``; return what was written.
    ``alternative``: the summary of the alternative model, whose numbers join the comparison rows."""
    out = Path(out_dir)
    res = round_significant(numbers)
    res["comparison"] = comparison(res, alternative)
    if alternative is not None:
        res["alternative_weights"] = alternative.get("weights")
    write_json(out / "summary.json", res)
    atomic_write(out / "summary.md", lambda f: f.write(summary_markdown(res)))
    return res
