"""The diagnosis of the shipped trained model at full settings (what ``tms reproduce all`` runs): its
numbers, byte-identical reruns, and the same numbers from an original-layout checkpoint written by torch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skip_helpers import skip_unless_required

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge import reproduce as R
from tms.challenge import weights as W

TABLES = ("accuracy", "attention_interpolation", "error_distances", "filter_equal_value_lines",
          "filter_near_threshold", "geometry", "heads_addback", "heads_qk_positional", "heads_qk_tokens",
          "neuron_families", "neuron_family_sets", "neuron_subsets", "perturbation", "resampling", "rows")


@pytest.fixture(scope="module")
def shipped_runs(tmp_path_factory):
    """``reproduce.run(retrain=False)`` twice at the same time: here and in a fresh interpreter."""
    path = W.shipped_weights_path()
    if path is None:
        skip_unless_required("no shipped trained weights")
    root = tmp_path_factory.mktemp("challenge")
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tms.challenge import reproduce as R; "
                               "R.run(out_dir=sys.argv[1], retrain=False, progress=False)", str(root / "b")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    res = R.run(out_dir=root / "a", retrain=False, progress=False)
    _, err = other.communicate(timeout=1800)
    assert other.returncode == 0, err[-3000:]
    return path, root / "a", root / "b", res


@pytest.mark.slow
def test_diagnose_shipped_model(shipped_runs):
    path, out, _, res = shipped_runs
    assert json.loads((out / "summary.json").read_text()) == res
    assert res["weights"] == path.name == W.SHIPPED == "original_recipe.npz"
    params, _ = W.load(path)
    pred = M.predict(params, D.tokens(D.all_pairs()))
    np.testing.assert_allclose(res["accuracy_full"], (pred == D.label_grid().ravel()).mean(), rtol=5e-6)
    np.testing.assert_allclose(res["agreement_original"], (pred == D.load_reference()["model_labels"].ravel()).mean(),
                               rtol=5e-6)
    assert res["accuracy_test"] >= 0.97  # the training target
    # the diagnosis is deterministic: the numbers equal the committed ones (rounded to 6 decimals there). Those were
    # written on an AVX2 CPU; on an AVX-512 one the headline probe (scikit-learn's 100 L-BFGS iterations, stopped
    # before convergence) classified 2 of the 6,385 test examples differently (0.28426 against 0.283947) while
    # every other number here was equal (docs/conventions.md). So the probe is held to the precision the docs
    # quote it at (28.4%: half a unit of the last digit), the rest to the committed 6 decimals.
    committed = json.loads((Path(__file__).parents[3] / "figures" / "challenge" / "summary.json").read_text())
    for k in ("fixed_attention_agreement", "and_agreement_full", "neurons_4_zero_ablation",
              "resampling_full_all_agreement_full", "agreement_original", "and_wide_agreement_full"):
        np.testing.assert_allclose(res[k], committed[k], rtol=0, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(res["probe_x"], committed["probe_x"], rtol=0, atol=5e-4, err_msg="probe_x")
    # the published protocol's 4-neuron set has one neuron per family
    assert len(set(res["neurons_4_families"])) == 4 == len(res["neurons_4_set"])
    fam = dict(zip(*np.loadtxt(out / "neuron_families.csv", delimiter=",", skiprows=1, usecols=(0, 1), dtype=str)
                   .T.tolist()))
    assert [fam[str(n)] for n in res["neurons_4_set"]] == res["neurons_4_families"]
    # more neurons never hurt the mean-ablation search (it keeps the best set found for each k)
    agree = [res[f"neurons_{k}_mean_ablation"] for k in range(1, 9)]
    assert all(b >= a - 1 / 12769 for a, b in zip(agree, agree[1:]))
    assert json.loads((out / "timings.json").read_text())["diagnose_seconds"] > 0  # timings written apart
    assert "training.png" in res["figures"] and all((out / f).is_file() for f in res["figures"])


@pytest.mark.slow
def test_reproduce_twice_is_byte_identical(shipped_runs):
    _, a, b, _ = shipped_runs
    names = sorted(p.name for p in a.iterdir() if p.suffix in (".csv", ".json", ".md") and p.name != "timings.json")
    assert {"summary.json", "summary.md", *(f"{t}.csv" for t in TABLES)} == set(names)
    assert names == sorted(p.name for p in b.iterdir() if p.suffix in (".csv", ".json", ".md")
                           and p.name != "timings.json")
    assert [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()] == []


@pytest.mark.slow
def test_diagnose_an_original_layout_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    path = W.shipped_weights_path()
    if path is None:
        skip_unless_required("no shipped trained weights")
    p, cfg = W.load(path)
    h, e, d = p["W_Q"].shape[0], p["W_Q"].shape[2], p["W_Q"].shape[1]
    state = {  # the challenge's original (TransformerLens) layout, written by torch
        "embed.W_E": p["W_E"].T, "pos_embed.W_pos": p["W_pos"],
        "blocks.0.attn.W_Q": p["W_Q"].transpose(0, 2, 1), "blocks.0.attn.W_K": p["W_K"].transpose(0, 2, 1),
        "blocks.0.attn.W_V": p["W_V"].transpose(0, 2, 1), "blocks.0.attn.W_O": p["W_O"].reshape(h * e, d).T,
        "blocks.0.mlp.W_in": p["W_in"].T, "blocks.0.mlp.b_in": p["b_in"], "blocks.0.mlp.W_out": p["W_out"].T,
        "blocks.0.mlp.b_out": p["b_out"], "unembed.W_U": p["W_U"],
    }
    pt = tmp_path / "transformer_model.pt"
    torch.save({"model": {k: torch.tensor(np.ascontiguousarray(v)) for k, v in state.items()}}, pt)
    res_pt = R.diagnose(pt, tmp_path / "pt", quick=True, figures=False)
    res_np = R.diagnose(path, tmp_path / "np", quick=True, figures=False)
    for k in ("accuracy_full", "fixed_attention_agreement", "neurons_1_mean_ablation",
              "resampling_full_1_agreement_full"):
        np.testing.assert_allclose(res_pt[k], res_np[k], atol=1e-4)
