"""The report: significant-digit rounding, strict JSON, CSV formatting, the markdown tables."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from tms.challenge.diagnostics import report as Rp


def test_round_significant():
    obj = {"a": 0.32695791408933467, "b": np.float32(1.2345678), "c": [np.float64(123456789.0), 2.5e-9],
           "d": np.int64(7), "e": True, "f": "text", "g": (float("nan"), float("inf")), "h": np.array([0.1 + 0.2])}
    r = Rp.round_significant(obj)
    assert r == {"a": 0.326958, "b": 1.23457, "c": [123457000.0, 2.5e-9], "d": 7, "e": True, "f": "text",
                 "g": [None, None], "h": [0.3]}
    assert type(r["d"]) is int and type(r["e"]) is bool and type(r["b"]) is float
    # numbers that differ only past the 6th significant digit (float32 noise) are written alike
    assert Rp.round_significant(0.32695802081112246) == Rp.round_significant(0.32695791408933467)
    assert Rp.round_significant(0.5, digits=1) == 0.5 and Rp.round_significant(0.123, digits=2) == 0.12


def test_write_summary_is_strict(tmp_path):
    res = Rp.write_summary(tmp_path, {"accuracy_full": 0.98668, "neurons_4_zero_ablation": float("nan"),
                                      "x": np.float32(0.1)})
    text = (tmp_path / "summary.json").read_text()
    assert "NaN" not in text and json.loads(text) == res
    assert {k: v for k, v in res.items() if k != "comparison"} == {"accuracy_full": 0.98668,
                                                                     "neurons_4_zero_ablation": None, "x": 0.1}
    rows = {r["key"]: r for r in res["comparison"]}
    assert rows["neurons_4_zero_ablation"]["ours"] is None and rows["neurons_4_zero_ablation"]["published"] == 0.987
    assert rows["accuracy_full"]["ours"] == 0.98668 and rows["accuracy_full"]["source"] == Rp.H_H
    md = (tmp_path / "summary.md").read_text()
    assert ("| the same, best of any 4 families (6 largest neurons each) | lab extra (beside RGRGRG (LessWrong)) | "
            "agreement with the full model's labels | 98.7% | n/a |") in md
    assert ("| model accuracy on all 12,769 inputs | Heimersheim & Hobbhahn | accuracy (ground truth) | 98.6% | 98.7% |"
            in md)
    assert "alternative model" not in md


def test_alternative_model_column(tmp_path):
    res = Rp.write_summary(tmp_path, {"accuracy_full": 0.98, "weights": "a.npz"},
                           alternative={"accuracy_full": 0.97, "weights": "b.npz"})
    rows = {r["key"]: r for r in res["comparison"]}
    assert rows["accuracy_full"]["alternative"] == 0.97 and res["alternative_weights"] == "b.npz"
    md = (tmp_path / "summary.md").read_text()
    assert "| published (original) | shipped model | alternative model | note |" in md
    assert "| 98.6% | 98.0% | 97.0% |" in md


def test_every_row_names_method_source_metric_and_a_published_value_or_why_not():
    for r in Rp.ROWS:
        assert r.method and r.source and r.metric and r.fmt in ("pct", "int", "ratio")
        assert r.published is not None or r.note  # no number published: the note says what was
    assert len({(r.key) for r in Rp.ROWS}) == len(Rp.ROWS)
    # train/test accuracies of the original come from the reference file, not from a write-up
    src = {r.key: r.source for r in Rp.ROWS}
    assert src["accuracy_train"] == src["accuracy_test"] == Rp.REFERENCE


def test_generated_block_replacement():
    text = f"intro\n{Rp.BLOCK[0]}\nold table\n{Rp.BLOCK[1]}\nrest\n"
    new = Rp.replace_block(text, "| new |\n")
    assert new == f"intro\n{Rp.BLOCK[0]}\n| new |\n{Rp.BLOCK[1]}\nrest\n"
    assert Rp.replace_block(new, "| new |\n") == new
    with pytest.raises(ValueError, match="markers"):
        Rp.replace_block("no markers", "x")


def test_write_table_rounds_floats_only(tmp_path):
    frame = pd.DataFrame({"k": [1, 2], "neurons": [(3,), (3, 4)], "agreement": [0.45109248962330645, math.nan],
                          "name": ["a", "b"]})
    Rp.write_table(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_text() == 'k,neurons,agreement,name\n1,"(3,)",0.451092,a\n2,"(3, 4)",,b\n'


def test_summary_markdown_leaves_out_missing_extras():
    md = Rp.summary_markdown({"errors_n": 170, "probe_y_short": None, "neurons_8_mean_ablation": math.nan})
    assert "| mistakes on the full grid | 170 |" in md
    assert "100 L-BFGS" not in md and "best 8 neurons" not in md
    first = md.split("\n\n")[0].splitlines()
    assert len(first) == 2 + len(Rp.ROWS) and all(line.split(" | ")[4] == "n/a" for line in first[2:])
    second = md.split("\n\n")[1].splitlines()
    assert len(second) == 2 + len(Rp.VARIANT_ROWS) and second[2].startswith("| [1] ")


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), float("nan")])
def test_non_finite_values_become_null(tmp_path, value):
    Rp.write_summary(tmp_path, {"v": value, "nested": [{"w": value}]})
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert {k: v for k, v in saved.items() if k != "comparison"} == {"v": None, "nested": [{"w": None}]}
