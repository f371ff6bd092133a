"""End-to-end runs of the challenge diagnostics: a quick smoke run on a small random model (default suite)
and the full run on the shipped trained weights (slow)."""

import json

import jax
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import diagnostics as Dg
from tms.challenge import model as M
from tms.challenge import reproduce as R


def test_diagnose_smoke_on_a_small_random_model(tmp_path):
    params = M.init_params(M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32), jax.random.PRNGKey(0))
    res = R.diagnose(params, tmp_path, quick=True, figures=False)
    assert res["figures"] == []
    saved = json.loads((tmp_path / "summary.json").read_text())
    np.testing.assert_allclose(saved["accuracy_full"], Dg.accuracy_table(Dg.run_grid(params).pred)["accuracy"][2])
    md = (tmp_path / "summary.md").read_text().strip().split("\n\n")[0].splitlines()
    assert len(md) == 2 + len(R.ROWS)
    assert "| 92.9% |" in md[5] and "fixed attention" in md[5]


def test_diagnose_rejects_bad_params(tmp_path):
    params = M.init_params(M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32), jax.random.PRNGKey(0))
    del params["W_U"]
    with pytest.raises(ValueError, match="W_U"):
        R.diagnose(params, tmp_path, quick=True)


def test_figures_from_synthetic_inputs(tmp_path):
    from tms.challenge import neurons as N
    from tms.challenge import plots as P

    rng = np.random.default_rng(0)
    truth = D.label_grid()
    fig = P.label_maps_figure({"ground truth": truth, "errors": rng.random((113, 113)) < 0.01})
    fig.savefig(tmp_path / "maps.png", dpi=40)
    assert (tmp_path / "maps.png").stat().st_size > 1000
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "y (second token)"
    assert len(fig.axes[0].get_lines()) == 3  # the three boundary curves
    ext = N.ExtendedEmbeddings(rng.normal(size=(113, 4)), rng.normal(size=(113, 4)), np.zeros(4),
                               rng.normal(size=(113, 6)), rng.normal(size=(113, 6)), np.zeros(6))
    figs = [
        P.value_map_figure({"a": rng.normal(size=(113, 113)), "b": rng.normal(size=(113, 113))}, "t"),
        P.attention_figure(rng.random((8, 3)), 0.1 * rng.random((8, 3))),
        P.resid_mid_figure(np.full(10, 0.1), rng.normal(size=(200, 2)), rng.integers(0, 2, 200), [0, 0], 0.9),
        P.extended_embedding_figure(ext, np.eye(4)[:2], [0.0, 0.0], neurons=[1, 5]),
        P.geometry_figure({"w": rng.random(50), "w:random": rng.random(50)}),
    ]
    # a colour bar beside each value map
    assert len(figs[0].axes) == 4
    for f in figs:
        assert all(ax.get_title() or not ax.get_visible() or ax.get_label() == "<colorbar>" for ax in f.axes)


@pytest.mark.slow
def test_diagnose_shipped_model(tmp_path):
    from tms.challenge import weights as W

    path = W.shipped_weights_path()
    if path is None:
        pytest.skip("no shipped trained weights")
    res = R.diagnose(path, tmp_path)
    params, _ = W.load(path)
    pred = M.predict(params, D.tokens(D.all_pairs()))
    np.testing.assert_allclose(res["accuracy_full"], (pred == D.label_grid().ravel()).mean())
    assert res["accuracy_test"] >= 0.97  # the training target
    for k in ("fixed_attention_agreement", "and_agreement_full", "probe_x", "neurons_4_agreement",
              "resampling_agreement"):
        assert 0.0 <= res[k] <= 1.0
    # more neurons never hurt the search (it keeps the best set found for each k)
    agree = [res[f"neurons_{k}_agreement"] for k in range(1, 9)]
    assert all(b >= a - 1 / 12769 for a, b in zip(agree, agree[1:]))
    assert res["diagnose_seconds"] < 600


@pytest.mark.slow
def test_diagnose_an_original_layout_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    from tms.challenge import weights as W

    path = W.shipped_weights_path()
    if path is None:
        pytest.skip("no shipped trained weights")
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
    for k in ("accuracy_full", "fixed_attention_agreement", "neurons_1_agreement", "resampling_random"):
        np.testing.assert_allclose(res_pt[k], res_np[k], atol=1e-4)
