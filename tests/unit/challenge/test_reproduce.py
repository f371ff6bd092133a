"""The diagnosis end to end on a small random model with quick settings: the files it writes, strict JSON with
no absolute path, and a second run in a fresh interpreter that writes byte-identical files."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge import reproduce as R
from tms.challenge import weights as W
from tms.challenge.diagnostics import DIAGNOSTICS, register
from tms.challenge.diagnostics.accuracy import accuracy_table
from tms.challenge.diagnostics.grid import run_grid
from tms.challenge.diagnostics.report import ROWS

SMALL = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)
TABLES = ("accuracy", "attention_interpolation", "error_distances", "filter_equal_value_lines",
          "filter_near_threshold", "geometry", "heads_addback", "heads_qk_positional", "heads_qk_tokens",
          "neuron_families", "neuron_family_sets", "neuron_subsets", "perturbation", "resampling", "rows")


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """The same weights file diagnosed twice: here, then in a fresh interpreter (its own random hash seed; it
    loads the programs this run compiled from the test run's compilation cache, the same executables XLA
    would build). Returns (params, weights path, out dir here, out dir there, summary)."""
    root = tmp_path_factory.mktemp("diagnose")
    params = M.init_params(SMALL, jax.random.PRNGKey(0))
    path = W.save(root / "small.npz", params, SMALL)
    res = R.diagnose(path, root / "a", quick=True, figures=False)
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from tms.challenge import reproduce as R; "
                               "R.diagnose(sys.argv[1], sys.argv[2], quick=True, figures=False)",
         str(path), str(root / "b")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONHASHSEED": "random"})
    assert other.returncode == 0, other.stderr[-3000:]
    return params, path, root / "a", root / "b", res


def test_diagnose_smoke_on_a_small_random_model(quick_runs):
    params, _, out, _, res = quick_runs
    assert res["figures"] == []
    saved = json.loads((out / "summary.json").read_text())
    assert saved == res  # the returned summary is the file's content
    pred = run_grid(params).pred
    # floats are written with 6 significant digits: a relative rounding error below 5e-6
    np.testing.assert_allclose(saved["accuracy_full"], accuracy_table(pred)["accuracy"][2], rtol=5e-6)
    md = (out / "summary.md").read_text().strip().split("\n\n")[0].splitlines()
    assert len(md) == 2 + len(ROWS)
    assert "| 92.9% |" in md[5] and "mean attention" in md[5] and "agreement with the full model" in md[5]
    assert [r["key"] for r in saved["comparison"]] == [r.key for r in ROWS]
    assert sorted(p.name for p in out.glob("*.csv")) == sorted(f"{t}.csv" for t in TABLES)


def test_agreement_with_the_original_is_a_number(quick_runs):
    params, _, out, _, res = quick_runs
    pred = run_grid(params).pred
    original = D.load_reference()["model_labels"].ravel()
    assert isinstance(res["agreement_original"], float)
    np.testing.assert_allclose(res["agreement_original"], (pred == original).mean(), rtol=5e-6)
    assert "agreement with the original model's labels" in (out / "summary.md").read_text()


def test_summary_is_strict_json_without_paths_or_timings(quick_runs):
    _, path, out, _, res = quick_runs
    text = (out / "summary.json").read_text()

    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    json.loads(text, parse_constant=refuse)  # NaN, Infinity, -Infinity are refused
    assert res["and_wide_agreement_full"] is None  # not computed in quick mode: null, not NaN
    assert res["weights"] == "small.npz"  # the file's name, never its path
    assert str(path.parent) not in text

    def strings(obj):
        if isinstance(obj, dict):
            return [s for v in obj.values() for s in strings(v)]
        if isinstance(obj, list):
            return [s for v in obj for s in strings(v)]
        return [obj] if isinstance(obj, str) else []

    assert [s for s in strings(res) if os.path.isabs(s)] == []
    assert [s for s in strings({k: v for k, v in res.items() if k != "comparison"}) if os.sep in s] == []
    assert not [k for k in res if "seconds" in k]
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings) == {"diagnose_seconds", "diagnostic_seconds"} and timings["diagnose_seconds"] >= 0
    assert set(timings["diagnostic_seconds"]) == set(DIAGNOSTICS)


def test_rerun_writes_byte_identical_files(quick_runs):
    _, _, a, b, _ = quick_runs
    names = sorted(p.name for p in a.iterdir() if p.suffix in (".csv", ".json", ".md") and p.name != "timings.json")
    assert {"summary.json", "summary.md", *(f"{t}.csv" for t in TABLES)} == set(names)
    assert names == sorted(p.name for p in b.iterdir() if p.suffix in (".csv", ".json", ".md")
                           and p.name != "timings.json")
    different = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert different == []


def test_diagnose_rejects_bad_params(tmp_path):
    params = M.init_params(SMALL, jax.random.PRNGKey(0))
    del params["W_U"]
    with pytest.raises(ValueError, match="W_U"):
        R.diagnose(params, tmp_path, quick=True)


def test_registered_diagnostics():
    assert list(DIAGNOSTICS) == ["accuracy", "errors", "attention", "directions", "neurons", "families",
                                 "embeddings", "filters", "geometry", "heads", "perturbation", "probes",
                                 "resampling", "rows"]
    assert all(d.description for d in DIAGNOSTICS.values())
    with pytest.raises(ValueError, match="already registered"):
        register("accuracy", "again")(lambda dx: None)
