"""Sweep files, the results store, resuming and backends (issue 4)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tms.runs.spec import SpecError, load_spec
from tms.runs.store import load, run_sweep, show


TINY = """
name = "tiny"
[model]
n_features = 4
n_hidden = 2
[data]
density = { log = [1.0, 0.05], num = 5 }
importance = { decay = [0.9, 0.7] }
[train]
steps = 60
batch_size = 64
restarts = 2
seeds = [0, 3]
eval_batch = 256
[run]
chunk_size = 3
"""


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_sweep_files_validate():
    from tms.experiments.registry import shipped_spec, shipped_sweeps

    names = shipped_sweeps()
    assert len(names) >= 7
    for name in names:
        spec = shipped_spec(name)
        assert spec.grid.n_cells >= 1 and spec.name == name


def test_spec_expansion(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    np.testing.assert_allclose(spec.grid.sparsity, 1 - np.geomspace(1, 0.05, 5))
    np.testing.assert_allclose(spec.grid.importance[1], 0.7 ** np.arange(4))
    np.testing.assert_allclose(spec.grid.importance_params["importance_decay"], [0.9, 0.7])
    assert spec.grid.shape == (5, 2, 1, 2) and spec.n_chunks == 4 and spec.static.restarts == 2


@pytest.mark.parametrize("edit,match", [
    (("[train]", "[train]\nstpes = 10"), r"unknown key 'train.stpes'.*allowed.*steps"),
    (("[model]", "[model]\nkind = 'gelu'"), r"kind must be one of"),
    (("n_hidden = 2", "n_hidden = 0"), r"n_hidden must be an integer >= 1"),
    (("n_hidden = 2", "n_hidden = 2.5"), r"'model.n_hidden' must be int"),
    (("density = { log = [1.0, 0.05], num = 5 }", "sparsity = [0.2, 1.2]"), r"sparsity must lie in \[0, 1\)"),
    (("density = { log = [1.0, 0.05], num = 5 }", "density = { log = [1.0, 0.05] }"), r"data.density.*num"),
    (("importance = { decay = [0.9, 0.7] }", "importance = { power = 2 }"), r"data.importance.*exactly one"),
    (("importance = { decay = [0.9, 0.7] }", "importance = { values = [1, 1, -1, 1] }"), r">= 0"),
    (("[run]", "[runn]"), r"unknown key 'runn'"),
    (("chunk_size = 3", "chunk_size = 0"), r"chunk_size must be >= 1"),
])
def test_bad_spec_names_file_key_and_range(tmp_path, edit, match):
    p = write(tmp_path, TINY.replace(*edit), "bad.toml")
    with pytest.raises(SpecError, match=match) as e:
        load_spec(p)
    assert "bad.toml" in str(e.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="sweep file not found"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write(tmp_path, "name = [", "broken.toml"))


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    full = run_sweep(spec, tmp_path / "full", progress=False)
    assert run_sweep(spec, tmp_path / "part", progress=False, stop_after=2) is None
    assert len(list((tmp_path / "part" / "chunks").glob("*.npz"))) == 2
    with pytest.raises(FileNotFoundError, match="not finished"):
        load(tmp_path / "part")
    resumed = run_sweep(spec, tmp_path / "part", progress=False)
    for k, v in full.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[k], v)
    back = load(tmp_path / "part")
    assert back.to_frame().equals(full.to_frame())
    assert "tiny" in show(tmp_path / "part").split("\n")[0] or "n=4" in show(tmp_path / "part")


def test_different_spec_is_refused_unless_overwrite(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    run_sweep(spec, tmp_path / "out", progress=False, stop_after=1)
    other = load_spec(write(tmp_path, TINY.replace("steps = 60", "steps = 40"), "other.toml"))
    with pytest.raises(FileExistsError, match="different sweep"):
        run_sweep(other, tmp_path / "out", progress=False)
    res = run_sweep(other, tmp_path / "out", progress=False, overwrite=True)
    assert res.static.steps == 40
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a sweep folder"):
        run_sweep(spec, tmp_path / "junk", progress=False)


def _cli(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "tms.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_kill_9_midway_then_resume(tmp_path):
    """A real interruption: the process is killed with SIGKILL after its first chunk lands on disk."""
    text = (TINY.replace("steps = 60", "steps = 3000").replace("chunk_size = 3", "chunk_size = 1")
            .replace("num = 5", "num = 2").replace("decay = [0.9, 0.7]", "decay = 0.9"))
    spec_path = write(tmp_path, text)
    out = tmp_path / "out"
    p = _cli("sweep", "run", str(spec_path), "--out", str(out))
    t0 = time.time()
    chunks = out / "chunks"
    while not (chunks.exists() and any(chunks.glob("*.npz"))):
        assert p.poll() is None, p.communicate()
        assert time.time() - t0 < 120
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    finished = len(list((out / "chunks").glob("*.npz")))
    assert 1 <= finished < 2
    r = _cli("sweep", "run", str(spec_path), "--out", str(out))
    stdout, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    resumed = load(out)
    ref = run_sweep(load_spec(spec_path), tmp_path / "ref", progress=False)
    for k, v in ref.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[k], v)


def test_dry_run_and_show_cli(tmp_path):
    spec_path = write(tmp_path, TINY)
    p = _cli("sweep", "run", str(spec_path), "--out", str(tmp_path / "o"), "--dry-run")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "10 cells x 2 seed(s) x 2 restart(s)" in out and "4 chunk(s)" in out and "estimated" in out
    assert not (tmp_path / "o").exists()
    p = _cli("sweep", "run", str(write(tmp_path, TINY.replace("[train]", "[train]\nlr = 'fast'"), "b.toml")),
             "--out", str(tmp_path / "o"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "train.lr" in err


def test_sharded_backend_equals_single_device(tmp_path):
    spec_path = write(tmp_path, TINY.replace("chunk_size = 3", "chunk_size = 4"))
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    p = _cli("sweep", "run", str(spec_path), "--out", str(tmp_path / "two"), "--devices", "2", env=env)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    one = run_sweep(load_spec(spec_path), tmp_path / "one", progress=False)
    two = load(tmp_path / "two")
    for k, v in one.arrays.items():
        np.testing.assert_allclose(two.arrays[k], v, rtol=1e-5, atol=1e-6)


def test_plot_cli_draws_what_fits_a_folder(tmp_path):
    from tms.cli import main

    assert main(["train", "-n", "5", "-m", "2", "--sparsity", "0", "0.9", "--steps", "50", "--batch-size", "64",
                 "--snapshots", "4", "--log-every", "10", "--out", str(tmp_path / "run")]) == 0
    assert main(["plot", str(tmp_path / "run"), "--format", "svg"]) == 0
    names = sorted(p.name for p in (tmp_path / "run" / "figures").iterdir())
    assert names == ["census.svg", "dynamics.svg", "vectors.svg"]
    assert main(["plot", str(tmp_path / "nothing")]) == 2
