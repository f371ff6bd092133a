"""Finite-data sweeps: the sweep file, resuming, data identical across restarts and resumes, errors before compiling."""

import numpy as np
import pytest
from sweep_helpers import TINY_FINITE, assert_same_store, cli, write

from tms.engine import finite as tfinite
from tms.runs.kinds import finite as finite_kind
from tms.runs.kinds.finite import FiniteResults, FiniteSpec
from tms.runs.spec import SpecError, load_spec
from tms.runs.store import load, run_sweep


def test_a_finite_sweep_file_parses_and_names_bad_keys(tmp_path):
    spec = load_spec(write(tmp_path, TINY_FINITE))
    assert isinstance(spec, FiniteSpec) and spec.n_chunks == 4 and spec.grid.n_cells == 6
    assert spec.static.train_sizes == (3, 7, 40) and spec.static.sparse
    with pytest.raises(SpecError, match=r"data.train_sizes \(T\) must all be >= 1"):
        load_spec(write(tmp_path, TINY_FINITE.replace("[3, 7, 40]", "[0, 7]")))
    with pytest.raises(SpecError, match="unknown key 'data.density'"):
        load_spec(write(tmp_path, TINY_FINITE.replace("sparsity = 0.8", "density = 0.2")))
    with pytest.raises(SpecError, match="model.n_hidden"):
        load_spec(write(tmp_path, TINY_FINITE.replace("[2, 3]", "[2, 0]")))
    spaced = load_spec(write(tmp_path, TINY_FINITE.replace("[3, 7, 40]", "{ log = [3, 10000], num = 8 }")))
    assert spaced.static.train_sizes[0] == 3 and spaced.static.train_sizes[-1] == 10000


def test_resumed_sweep_equals_an_uninterrupted_one_and_data_do_not_depend_on_m(tmp_path):
    spec = load_spec(write(tmp_path, TINY_FINITE))
    run_sweep(spec, tmp_path / "whole", progress=False)
    assert run_sweep(spec, tmp_path / "resumed", progress=False, stop_after=1) is None
    assert len(list((tmp_path / "resumed" / "chunks").glob("*.npz"))) == 1
    run_sweep(spec, tmp_path / "resumed", progress=False)
    assert_same_store(tmp_path / "whole", tmp_path / "resumed")
    res = load(tmp_path / "whole")
    assert isinstance(res, FiniteResults) and res.kind == "finite"
    assert res.W.shape == (2, 2, 3, 3, 12) and res.hidden.shape == (2, 2, 3, 40, 3)
    np.testing.assert_array_equal(res.W[0, :, :, 2], 0.0)  # m = 2 padded with a zero row
    assert int(res.dropped.sum()) == 0 and np.all(np.isfinite(res.test_loss))
    lines = res.summary_lines()
    assert len(lines) == 6 and lines[-1].startswith("m=3, T=40: train loss")
    from tms.runs.store import show

    assert show(tmp_path / "whole").splitlines()[-1] == lines[-1]
    # the training set of a seed is the same for every m and restart: h_t = W x_t with the regenerated x_t
    import jax

    cfg = spec.config(3)
    data = np.asarray(tfinite.densify(tfinite.examples(cfg, tfinite.data_keys(jax.random.PRNGKey(5))[0], 40), 12))
    for mi, m in enumerate((2, 3)):
        np.testing.assert_allclose(res.hidden[mi, 1, 2, :, :m], data @ res.W[mi, 1, 2, :m].T, rtol=1e-4, atol=1e-5)


def test_a_data_set_too_large_is_refused_before_compiling(tmp_path, monkeypatch):
    spec = load_spec(write(tmp_path, TINY_FINITE))
    monkeypatch.setattr(finite_kind, "available_memory", lambda: 10_000)
    with pytest.raises(tfinite.DataTooLargeError, match="needs about .* GiB; .* available"):
        run_sweep(spec, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_dry_run(tmp_path):
    p = write(tmp_path, TINY_FINITE.replace("seeds = [0, 5]", "seeds = [0]").replace("[2, 3]", "[2]"))
    out, err = cli("sweep", "run", str(p), "--out", str(tmp_path / "o"), "--dry-run").communicate(timeout=300)
    assert "1 hidden size(s) x 3 training-set size(s) x 1 seed(s) x 2 restart(s)" in out, err


def test_divergence_is_flagged_as_for_grid_sweeps(tmp_path, capsys):
    from tms.cli.main import main

    # the sweep above at lr 1e6 (its compiled trainers are reused: lr is traced); lr 1e-3 there learns
    path = write(tmp_path, TINY_FINITE.replace("steps = 25", "steps = 25\nlr = 1e6"))
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "s")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("m=")]
    assert len(lines) == 6 and all(line.endswith(", 2 DIVERGED") for line in lines), lines
    assert main(["sweep", "show", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out.count("2 DIVERGED") == 6
    ok = load_spec(write(tmp_path, TINY_FINITE, "ok.toml"))
    assert not any("DIVERGED" in line for line in run_sweep(ok, tmp_path / "ok", progress=False).summary_lines())
