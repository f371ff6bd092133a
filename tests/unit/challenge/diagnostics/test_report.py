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
    res = Rp.write_summary(tmp_path, {"accuracy_full": 0.98668, "neurons_4_agreement": float("nan"),
                                      "x": np.float32(0.1)})
    text = (tmp_path / "summary.json").read_text()
    assert "NaN" not in text and json.loads(text) == res == {"accuracy_full": 0.98668, "neurons_4_agreement": None,
                                                            "x": 0.1}
    md = (tmp_path / "summary.md").read_text()
    assert "| best 4 neurons: agreement | n/a | 98.7% |" in md
    assert "| accuracy, full grid | 98.7% | 98.6% |" in md


def test_write_table_rounds_floats_only(tmp_path):
    frame = pd.DataFrame({"k": [1, 2], "neurons": [(3,), (3, 4)], "agreement": [0.45109248962330645, math.nan],
                          "name": ["a", "b"]})
    Rp.write_table(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_text() == 'k,neurons,agreement,name\n1,"(3,)",0.451092,a\n2,"(3, 4)",,b\n'


def test_summary_markdown_leaves_out_missing_extras():
    md = Rp.summary_markdown({"errors_n": 170, "resampling_random": None, "neurons_8_agreement": math.nan})
    assert "| mistakes on the full grid | 170 |" in md
    assert "resampling control" not in md and "best 8 neurons" not in md
    first = md.split("\n\n")[0].splitlines()
    assert len(first) == 2 + len(Rp.ROWS) and all("| n/a |" in line for line in first[2:])
    assert set(Rp.PUBLISHED) == {k for k, _ in Rp.ROWS}


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), float("nan")])
def test_non_finite_values_become_null(tmp_path, value):
    Rp.write_summary(tmp_path, {"v": value, "nested": [{"w": value}]})
    assert json.loads((tmp_path / "summary.json").read_text()) == {"v": None, "nested": [{"w": None}]}
