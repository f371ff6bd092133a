"""The SAE sweep kind: parsing with named errors before anything compiles, chunks equal to the Python API's
SAEs, a stopped sweep resumed to the same store, and results that load back with their shapes checked."""

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import TINY_SAE, assert_same_arrays, assert_same_store, cli, run_killed_after_first_chunk, write

from tms.analysis.sae_signs import cross_mmcs
from tms.experiments.sae import sae_sweep, score_results
from tms.runs.kinds.sae import SaeResults, make_source
from tms.runs.sections import SpecError
from tms.runs.spec import load_spec
from tms.runs.store import load, run_sweep


def test_tiny_sae_sweep_equals_the_python_api_and_loads_back(tmp_path):
    spec = load_spec(write(tmp_path, TINY_SAE, "sae.toml"))
    assert spec.kind == "sae" and spec.n_chunks == 4 and spec.sizes == (5, 10) and spec.max_cells == 4
    res = run_sweep(spec, tmp_path / "out", progress=False)
    assert res.W_dec.shape == (2, 2, 4, 10, 2) and res.W_enc.shape == (2, 2, 4, 2, 10)
    assert res.valid.all() and np.all(res.W_dec[:, 0, :, 5:] == 0)  # the 5-latent SAEs padded with zero latents
    assert len(res.to_frame()) == 16 and np.isfinite(res.final_mse).all()
    frame = score_results(res)  # scores against the truth: the analysis floor, from the stored parameters
    assert len(frame) == 16 and set(frame.arch) == {"relu", "topk"} and frame["mmcs"].between(-1, 1).all()
    # the same SAEs as the experiment's Python API trains (same source, settings, seeds, data stream), at the
    # larger size (the smaller is the same code at another shape; trained again it cost 10 s of compiling)
    api, params = sae_sweep(make_source({"type": "pentagon", "sparsity": 0.9}), ("relu", "topk"), (2.0,),
                            steps=30, batch=32, seeds=(0, 1), lr=3e-3, penalties={"relu": np.array([0.01, 0.1])})
    keys, scores = ["arch", "d_sae", "penalty", "k", "seed"], ["mmcs", "recovered_0.99", "mcc", "l0", "dead", "fvu"]
    both = frame[keys + scores].merge(api[keys + scores], on=keys, suffixes=("", "_api"))  # the API also trains k = 3, 4
    assert len(both) == 8 and set(both.d_sae) == {10} and len(frame) == 16
    for name in scores:
        np.testing.assert_allclose(both[name], both[f"{name}_api"], rtol=1e-6, atol=1e-9)
    # its first four topk SAEs are (k, seed) = (1, 0), (1, 1), (2, 0), (2, 1), as here (one call of 8 against 4)
    np.testing.assert_allclose(res.W_dec[1, 1], params[("topk", 10)]["W_dec"][:4], rtol=1e-5, atol=1e-6)
    back = load(tmp_path / "out")
    assert isinstance(back, SaeResults) and back.archs == ["relu", "topk"]
    assert_same_arrays(back.arrays, res.arrays)
    assert back.directions().shape == (5, 2) and len(back.summary_lines()) == 4
    from tms.experiments.reproduce import plot_folder

    files = plot_folder(tmp_path / "out", tmp_path / "figs")  # tms plot: heat map, frontier, decoders (d_in = 2)
    assert sorted(f.name for f in files) == ["sae_decoders.png", "sae_frontier.png", "sae_mmcs_heatmap.png",
                                             "sae_signs.png"]  # two sizes: the size-choosing signs too
    assert (tmp_path / "figs" / "sae_scores.csv").is_file() and (tmp_path / "figs" / "sae_signs.txt").is_file()
    signs = pd.read_csv(tmp_path / "figs" / "sae_signs.csv")  # per (arch, knob, size), seeds averaged
    assert len(signs) == 8 and set(pd.read_csv(tmp_path / "figs" / "sae_sign_scores.csv").arch) == {"relu", "topk"}
    # relu at α = 0.1 (cells 2, 3 = seeds 0, 1): the stored decoders and losses, by hand; each 5-latent
    # dictionary against the 10-latent one of the other seed
    cross = [cross_mmcs(res.W_dec[0, 0, c, :5], res.W_dec[0, 1, 5 - c, :10]) for c in (2, 3)]
    row = signs[(signs.arch == "relu") & np.isclose(signs.knob, 0.1)].sort_values("d_sae")
    np.testing.assert_allclose(row["cross"].iloc[0], np.mean(cross), rtol=1e-6)
    np.testing.assert_allclose(row["loss"], res.final_loss[0, :, 2:4].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(row["mmcs"], frame[(frame.arch == "relu") & np.isclose(frame.penalty, 0.1)]
                               .groupby("d_sae")["mmcs"].mean(), rtol=1e-6)


def test_architectures_with_their_own_parameters_are_stored_and_scored_alike(tmp_path):
    """BatchTopK's threshold, JumpReLU's log-thresholds and Gated's r_mag, b_mag are kept, so the scores from the
    stored SAEs equal those of the SAEs the Python API trains."""
    text = (TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["batchtopk", "jumprelu", "gated"]')
            .replace("ratios = [1.0, 2.0]", "ratios = [2.0]").replace("ks = [1, 2]", "ks = [0.5, 2]"))
    res = run_sweep(load_spec(write(tmp_path, text, "x.toml")), tmp_path / "x", progress=False)
    assert res.arrays["log_threshold"].shape == (3, 1, 4, 10) and res.arrays["threshold"].shape == (3, 1, 4)
    assert res.k[0, 0].tolist() == [0.5, 0.5, 2.0, 2.0]  # BatchTopK's fractional k (an average per example) kept
    assert np.any(res.arrays["log_threshold"][1] != 0) and np.all(res.arrays["log_threshold"][0] == 0)
    ours = score_results(load(tmp_path / "x"))
    api, _ = sae_sweep(make_source({"type": "pentagon", "sparsity": 0.9}), ("batchtopk", "jumprelu", "gated"), (2.0,),
                       steps=30, batch=32, seeds=(0, 1), lr=3e-3, penalties={a: np.array([0.01, 0.1])
                                                                              for a in ("jumprelu", "gated")},
                       ks={"batchtopk": (0.5, 2)})
    keys = ["arch", "d_sae", "penalty", "k", "seed"]
    both = ours.merge(api, on=keys, suffixes=("", "_api"))
    assert len(both) == len(ours) == 12  # batchtopk: k = 0.5, 2 x 2 seeds; jumprelu and gated: 2 penalties x 2 seeds
    for name in ("mmcs", "l0", "fvu", "dead"):
        np.testing.assert_allclose(both[name], both[f"{name}_api"], rtol=1e-5, atol=1e-7)


def test_a_stopped_sae_sweep_resumes_to_the_uninterrupted_store(tmp_path):
    spec = load_spec(write(tmp_path, TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["relu"]'), "s.toml"))
    ref = run_sweep(spec, tmp_path / "full", progress=False)
    assert run_sweep(spec, tmp_path / "cut", progress=False, stop_after=1) is None
    assert len(list((tmp_path / "cut" / "chunks").glob("*.npz"))) == 1
    assert_same_arrays(run_sweep(spec, tmp_path / "cut", progress=False).arrays, ref.arrays)
    assert_same_store(tmp_path / "cut", tmp_path / "full")


def test_the_sae_sweep_bar_moves_inside_a_chunk(tmp_path, monkeypatch):
    """A long SAE chunk (one compiled call) moves the progress bar as it trains: ticks of its steps as fractions
    of the chunk's cells."""
    from sweep_helpers import spy_on_progress

    from tms.engine import ticks

    seen = spy_on_progress(monkeypatch)
    text = TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["relu"]').replace("steps = 30", "steps = 260")
    spec = load_spec(write(tmp_path, text.replace("ratios = [1.0, 2.0]", "ratios = [1.0]"), "s.toml"))
    assert spec.loop_steps == 260 and spec.n_chunks == 1 and spec.cells(spec.chunk_list[0]) == 4
    run_sweep(spec, tmp_path / "out", progress=False)
    assert sorted(seen) == [(4 * 10 / 260, 4), (4 * ticks.EVERY / 260, 4)]


@pytest.mark.slow  # 37 s on one core; the default suite kills the grid kind's CLI (test_store.py) and stops this kind
def test_an_sae_sweep_killed_midway_resumes_to_the_uninterrupted_store(tmp_path):
    """A real interruption: `tms sweep run` is killed with SIGKILL once its first chunk is on disk; the same
    command again trains the rest, and the store equals an uninterrupted run's, file for file."""
    text = (TINY_SAE.replace("steps = 30", "steps = 1500")
            .replace('archs = ["relu", "topk"]', 'archs = ["relu", "topk"]\nresample = "simple"\n'
                                                   'resample_every = 500\ndead_window = 100'))
    spec_path = write(tmp_path, text, "k.toml")  # 4 chunks: relu and topk at 5 and 10 latents
    out = tmp_path / "out"
    assert 1 <= run_killed_after_first_chunk(spec_path, out) < 4  # killed midway
    r = cli("sweep", "run", str(spec_path), "--out", str(out))
    _, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    run_sweep(load_spec(spec_path), tmp_path / "ref", progress=False)
    assert_same_store(out, tmp_path / "ref")
    assert load(out).resampled.sum() > 0  # resampling ran inside the chunks that were cut and redone

def test_ks_given_per_architecture(tmp_path):
    """TopK's k is a count and BatchTopK's an average that may be fractional: a ks table gives each its own list,
    and the resolved settings (what a resumed sweep is compared with) carry it."""
    text = (TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["relu", "topk", "batchtopk"]')
            .replace("ks = [1, 2]", "ks = { topk = [1, 2, 3], batchtopk = [0.25, 0.5] }"))
    spec = load_spec(write(tmp_path, text, "t.toml"))
    assert spec.knobs("topk") == ((0.0,), (1, 2, 3)) and spec.knobs("batchtopk") == ((0.0,), (0.25, 0.5))
    assert spec.knobs("relu") == ((0.01, 0.1), (1,))
    assert spec.coords("batchtopk")[:, 1].tolist() == [0.25, 0.25, 0.5, 0.5] and spec.max_cells == 6
    assert spec.resolved()["ks_by_arch"] == {"topk": [1, 2, 3], "batchtopk": [0.25, 0.5]}
    assert "ks_by_arch" not in load_spec(write(tmp_path, TINY_SAE, "u.toml")).resolved()
    assert spec.quick().knobs("topk") == ((0.0,), (1, 2, 3))


@pytest.mark.parametrize("ks, match", [
    ("{ relu = [1] }", r"sae.ks.relu: not a k architecture of this sweep; ks tables take \['topk', 'batchtopk'\]"),
    ("{ gated = [1] }", "sae.ks.gated: not a k architecture"),
    ("{ topk = [] }", r"sae.ks.topk must be a non-empty list"),
    ("{ topk = 2 }", r"sae.ks.topk must be a non-empty list"),
    ("{ batchtopk = [0.5, 6] }", "sae.ks.batchtopk: k = 6 exceeds the smallest dictionary size 5"),
    ("{ batchtopk = [-1] }", r"sae.ks.batchtopk \(each"),
    ("{ topk = [0.5] }", r"sae.k must be an integer in \[1, 5\]; got 0.5"),
])
def test_bad_ks_tables_get_named_errors(tmp_path, ks, match):
    text = (TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["relu", "topk", "batchtopk"]')
            .replace("ks = [1, 2]", f"ks = {ks}"))
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, text, "bad.toml"))


@pytest.mark.parametrize("old, new, match", [
    ('ratios = [1.0, 2.0]', 'ratios = [0.1]', "distinct dictionary sizes >= 1"),
    ('ks = [1, 2]', 'ks = [1, 6]', "k = 6 exceeds the smallest dictionary size 5"),
    ('ks = [1, 2]', 'ks = [0, 2]', r"sae.ks \(each; integers for topk, fractions allowed for batchtopk\) must be"),
    ('ks = [1, 2]', 'ks = [0.5, 2]', r"sae.k must be an integer in \[1, 5\]; got 0.5"),  # topk's k is a count
    ('penalties = [0.01, 0.1]', 'penalties = [-0.1]', "sae.penalties"),
    ('archs = ["relu", "topk"]', 'archs = ["relu", "nope"]', "unknown architecture 'nope'"),
    ('sparsity = 0.9', 'sparsity = 0.9\nn_true = 8', "source.n_true does not apply"),
    ('type = "pentagon"', 'type = "mnist"', "source.type must be one of"),
    ('sparsity = 0.9', 'sparsity = 1.5', "sparsity"),
    ('steps = 30', 'steps = 0', "sae.steps"),
    ('lr = 3e-3', 'lr = -1.0', "train.lr"),
])
def test_bad_sae_sweep_files_get_named_errors(tmp_path, old, new, match):
    assert old in TINY_SAE
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, TINY_SAE.replace(old, new), "bad.toml"))


TINY_HIER = """
name = "tiny_hier"
kind = "sae"
[source]
type = "hierarchical"
n_parents = 2
n_children = 2
d_in = 8
p_parent = 0.5
p_child = [0.3, 0.4]
magnitudes = "unit"
seed = 3
[sae]
archs = ["relu"]
ratios = [1.0]
penalties = [0.01, 0.1]
[train]
steps = 30
batch = 32
lr = 3e-3
seeds = [0]
"""


def test_hierarchical_sae_sweep_runs_loads_and_plots_absorption(tmp_path):
    spec = load_spec(write(tmp_path, TINY_HIER, "h.toml"))
    assert spec.sizes == (6,) and spec.source_settings["p_child"] == [0.3, 0.4]
    run_sweep(spec, tmp_path / "out", progress=False)
    back = load(tmp_path / "out")
    assert back.settings["source"]["type"] == "hierarchical" and back.W_dec.shape == (1, 1, 2, 6, 8)
    np.testing.assert_array_equal(back.directions(), make_source(spec.source_settings).directions)
    from tms.experiments.reproduce import plot_folder

    files = plot_folder(tmp_path / "out", tmp_path / "figs")
    assert sorted(f.name for f in files) == ["sae_absorption.png", "sae_frontier.png", "sae_mmcs_heatmap.png"]
    frame = pd.read_csv(tmp_path / "figs" / "sae_scores.csv")
    assert len(frame) == 2 and list(frame.penalty) == [0.01, 0.1]
    for col in ("absorption", "absorbed", "miss_child", "miss_alone", "absorbing_latents", "mmcs"):
        assert frame[col].notna().all() and frame[col].between(-1, 1).all(), col
    np.testing.assert_allclose(frame.absorption, frame.miss_child - frame.miss_alone, atol=1e-12)


@pytest.mark.parametrize("old, new, match", [
    ("p_child = [0.3, 0.4]", "p_child = [0.7, 0.4]", "source.p_child: .* sum to at most 1"),
    ("p_child = [0.3, 0.4]", "p_child = [0.3, 0.4, 0.1]", "source.p_child must be .* a list of 2"),
    ("p_parent = 0.5", "p_parent = 1.5", r"source.p_parent\[0\] must be a number in \[0.0, 1.0\]"),
    ("p_parent = 0.5", 'p_parent = "half"', "'source.p_parent' must be number/array"),
    ("n_parents = 2", "n_parents = 0", "source.n_parents must be an integer >= 1"),
    ("d_in = 8", "d_in = 5", "source.orthogonal needs n_true .* = 6 <= source.d_in = 5"),
    ('magnitudes = "unit"', 'magnitudes = "normal"', "source.magnitudes must be one of"),
    ("seed = 3", "seed = 3\nsparsity = 0.9", "source.sparsity does not apply to source.type = 'hierarchical'"),
    ("seed = 3", "seed = 3\nn_true = 6", "source.n_true does not apply"),
])
def test_bad_hierarchical_sources_get_named_errors_before_compiling(tmp_path, no_compile, old, new, match):
    assert old in TINY_HIER
    with pytest.raises(SpecError, match=match) as info:
        load_spec(write(tmp_path, TINY_HIER.replace(old, new), "bad.toml"))
    assert "bad.toml" in str(info.value)


def test_quick_sae_spec_is_smaller():
    from tms.experiments.registry import shipped_spec

    spec = shipped_spec("sae_pentagon")
    q = spec.quick()
    assert q.base.steps == 100 and len(q.seeds) == 1 and len(q.penalties) <= 3 and q.n_chunks == spec.n_chunks


@pytest.mark.parametrize("name", ["sae_synthetic", "sae_synthetic_sizes", "sae_synthetic_full"])
def test_the_synthetic_sweep_files_train_jumprelu_as_the_experiment_does(name):
    from tms.experiments.registry import shipped_spec
    from tms.experiments.sae import SYNTHETIC_CONFIG

    spec = shipped_spec(name)
    cfg = spec.config("jumprelu", spec.sizes[0])
    assert {k: getattr(cfg, k) for k in SYNTHETIC_CONFIG["jumprelu"]} == SYNTHETIC_CONFIG["jumprelu"]
    assert spec.config("relu", spec.sizes[0]).init_threshold == 0.001  # the default, for the others


def test_the_pentagon_sweep_file_has_the_studys_settings():
    """`sae_pentagon` is the pentagon study as a sweep file: the same knobs (BatchTopK's fractional k included),
    kernel width, steps, batch, learning rate and seeds as `pentagon_study`."""
    from tms.experiments.registry import shipped_spec
    from tms.experiments.sae import PENTAGON_CONFIG, PENTAGON_KS, PENTAGON_PENALTIES

    spec = shipped_spec("sae_pentagon")
    for arch, ks in PENTAGON_KS.items():
        assert spec.knobs(arch)[1] == tuple(ks)
    for arch, penalties in PENTAGON_PENALTIES.items():
        np.testing.assert_allclose(spec.knobs(arch)[0], penalties, rtol=1e-12)
    for arch in spec.archs:  # JumpReLU's own settings (per_arch) and nobody else's
        cfg = spec.config(arch, 10)
        own = PENTAGON_CONFIG.get(arch, {})
        assert {k: getattr(cfg, k) for k in own} == own
        assert cfg.resample == own.get("resample", "none")
    assert (spec.base.steps, spec.base.batch, spec.lr, spec.seeds, spec.sizes) == (4000, 256, 3e-3, (0, 1, 2), (5, 10))


def test_settings_given_per_architecture(tmp_path):
    """`sae.per_arch` sets SaeConfig fields for one architecture only (JumpReLU's kernel and initial threshold and
    resampling, say): that architecture's chunks train with them, the others with the shared settings, the
    resolved settings carry the table, and the stored SAEs score as the Python API's with the same extras."""
    # an initial threshold of 10 on activations of norm <= 1 leaves every JumpReLU latent dead: resampled
    extras = {"init_threshold": 10.0, "bandwidth": 0.1, "resample": "simple", "resample_every": 10, "dead_window": 5}
    text = (TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["relu", "jumprelu"]')
            .replace("ratios = [1.0, 2.0]", "ratios = [2.0]")
            .replace("[train]", "[sae.per_arch.jumprelu]\ninit_threshold = 10.0\nbandwidth = 0.1\n"
                     'resample = "simple"\nresample_every = 10\ndead_window = 5\n[train]'))
    spec = load_spec(write(tmp_path, text, "p.toml"))
    cfg = spec.config("jumprelu", 10)
    assert {k: getattr(cfg, k) for k in extras} == extras
    relu = spec.config("relu", 10)
    assert (relu.resample, relu.init_threshold, relu.resample_every) == ("none", 0.001, 2500)
    assert spec.resolved()["config_by_arch"] == {"jumprelu": extras}
    assert "config_by_arch" not in load_spec(write(tmp_path, TINY_SAE, "u.toml")).resolved()
    q = spec.quick().config("jumprelu", 10)
    assert (q.resample_every, q.dead_window, q.init_threshold) == (10, 5, 10.0)
    res = run_sweep(spec, tmp_path / "out", progress=False)
    assert res.resampled[1].sum() > 0 and res.resampled[0].sum() == 0  # jumprelu resampled, relu did not
    np.testing.assert_allclose(np.exp(res.arrays["log_threshold"][1, 0]), 10.0, rtol=0.1)  # from 10, not 0.001
    ours = score_results(load(tmp_path / "out"))
    api, params = sae_sweep(make_source({"type": "pentagon", "sparsity": 0.9}), ("relu", "jumprelu"), (2.0,),
                            steps=30, batch=32, seeds=(0, 1), lr=3e-3,
                            penalties={a: np.array([0.01, 0.1]) for a in ("relu", "jumprelu")},
                            extras={"jumprelu": extras})
    np.testing.assert_allclose(res.W_dec[1, 0], params[("jumprelu", 10)]["W_dec"], rtol=1e-5, atol=1e-6)
    keys = ["arch", "d_sae", "penalty", "k", "seed"]
    both = ours.merge(api, on=keys, suffixes=("", "_api"))
    assert len(both) == len(ours) == 8
    for name in ("mmcs", "l0", "fvu", "dead"):
        np.testing.assert_allclose(both[name], both[f"{name}_api"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("table, match", [
    ("per_arch = { gated = { bandwidth = 0.1 } }", r"sae.per_arch.gated: not an architecture of this sweep"),
    ("per_arch = { relu = { lr = 0.1 } }", r"sae.per_arch.relu.lr: not a setting that may differ by architecture"),
    ("per_arch = { relu = { bandwidth = -0.1 } }", r"sae.per_arch.relu: sae.bandwidth must be"),
    ('per_arch = { relu = { resample = "often" } }', r"sae.per_arch.relu: sae.resample must be one of"),
    ("per_arch = { relu = {} }", r"sae.per_arch.relu must be a non-empty table"),
    ("per_arch = 3", r"'sae.per_arch' must be table; got int 3"),
])
def test_bad_per_architecture_settings_get_named_errors(tmp_path, table, match):
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, TINY_SAE.replace("ks = [1, 2]", f"ks = [1, 2]\n{table}"), "bad.toml"))
