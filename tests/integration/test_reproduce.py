"""The paper's results on the shipped sweeps, at reduced cost, and what ``tms reproduce`` writes.

The full-cost versions of these checks are in tests/acceptance/ (slow).
"""

import dataclasses
import json

import numpy as np
import pytest
from sweep_helpers import assert_same_arrays

from tms.analysis import phase, polytope_census, theory
from tms.experiments.registry import shipped_spec
from tms.experiments.reproduce import reproduce
from tms.runs.side_by_side import side_by_side
from tms.runs.store import run_sweep

# The census the README states for the shipped intro sweep, label by label.
INTRO_CENSUS = {
    "S=0": "2×dedicated + 3 dropped",
    "S=0.5": "2×digon + 1 dropped",
    "S=0.7": "2×digon + 1 dropped",
    "S=0.8": "2×digon + 1 dropped",
    "S=0.9": "pentagon",
    "S=0.95": "pentagon",
}


def test_intro_sweep_census(tmp_path):
    """Shipped intro sweep with 4000 steps (of 10,000) and 4 restarts (of 8): every label the README states
    for the full sweep (measured: all six match, as they do at full cost; the ``--quick`` version, 250 steps
    and 2 restarts, does not: it finds irregular 4-gons, so it is not the one tested here)."""
    spec = shipped_spec("intro")
    spec = dataclasses.replace(spec, static=dataclasses.replace(spec.static, steps=4000, restarts=4))
    res = run_sweep(spec, tmp_path / "intro", progress=False)
    census = polytope_census(res.W[:, 0, 0, 0], res.b[:, 0, 0, 0])
    by_s = dict(zip(np.round(res.grid.sparsity, 3), census.to_dict("records")))
    assert by_s[0.0]["n_dedicated"] == 2 and by_s[0.0]["n_not_represented"] == 3
    mid = [r for s, r in by_s.items() if 0.6 <= s <= 0.85]
    assert all(r["factors_digon"] == 2 and r["n_not_represented"] == 1 for r in mid)
    assert by_s[0.9]["factors_pentagon"] == 1 and by_s[0.9]["n_represented"] == 5
    got = {f"S={s:g}": label for s, label in zip(res.grid.sparsity, census["label"])}
    assert got == INTRO_CENSUS


def _agreement(res, diagram):
    """Fraction of cells whose empirical phase matches theory, and that of the best constant prediction."""
    th = diagram(res.density, res.grid.importance_params["extra_importance"])
    emp = phase(res.W[:, :, 0, 0]).code  # (density, importance)
    want = th["phase"].to_numpy().reshape(emp.shape)
    np.testing.assert_allclose(th["density"].to_numpy().reshape(emp.shape)[:, 0], res.density, rtol=1e-12)
    trivial = max(float(np.mean(want == p)) for p in range(len(theory.PHASES)))
    return float(np.mean(emp == want)), trivial


def test_n2m1_phase_diagram_agrees_with_theory_on_a_subgrid(tmp_path):
    """The shipped n=2, m=1 sweep's settings on every third density and importance (10×10 of its 30×30
    cells). Measured: 100 of 100 cells match the theoretical diagram; the bar allows 3 misses (0.97).
    Naming "superposition" everywhere scores 0.74 (the full 30×30 grid is in tests/acceptance/)."""
    spec = shipped_spec("phase_n2m1")
    g = spec.grid
    grid = dataclasses.replace(g, sparsity=g.sparsity[::3], importance=g.importance[::3],
                               importance_params={k: v[::3] for k, v in g.importance_params.items()})
    res = run_sweep(dataclasses.replace(spec, grid=grid, chunk_size=100), tmp_path / "n2m1", progress=False)
    assert res.grid.shape[:2] == (10, 10)
    agreement, trivial = _agreement(res, theory.n2m1_diagram)
    print(f"n=2, m=1 10x10 subgrid: agreement {agreement:.3f}, trivial {trivial:.3f}")
    assert trivial < 0.8
    assert agreement >= 0.97


@pytest.fixture(scope="module")
def quick_intro(tmp_path_factory):
    """``reproduce("intro", quick=True, out=...)`` run once; its output folder and summary."""
    out = tmp_path_factory.mktemp("reproduce_a")
    return out, reproduce("intro", out=out, quick=True, progress=False)


def test_quick_reproduce_draws_figures(quick_intro, tmp_path):
    out, summary = quick_intro
    assert (out / "figures" / "quick" / "intro.png").stat().st_size > 10_000
    assert set(summary["intro"]["census"]) == {f"S={s:g}" for s in shipped_spec("intro").quick().grid.sparsity}
    with pytest.raises(ValueError, match="unknown experiment"):
        reproduce("intros", figures=tmp_path, runs=tmp_path)


def _strict(text: str):
    """Parse JSON refusing NaN and ±Infinity (which Python writes by default but JSON does not allow)."""
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_two_quick_reproduce_runs_write_byte_identical_summaries(quick_intro, tmp_path):
    """Strict JSON, no absolute paths, timings in their own file: a second run writes the same bytes."""
    first, summary = quick_intro
    second = tmp_path / "reproduce_b"
    reproduce("intro", out=second, quick=True, progress=False)
    a = (first / "figures" / "summary-quick.json").read_bytes()
    b = (second / "figures" / "summary-quick.json").read_bytes()
    assert a == b
    assert _strict(a.decode()) == json.loads(json.dumps(summary))
    assert str(first) not in a.decode() and str(second) not in b.decode()
    for out in (first, second):
        timings = _strict((out / "figures" / "timings-quick.json").read_text())
        assert any(k.startswith("sweep ") for k in timings)


def test_sweeps_side_by_side_write_what_one_device_writes(tmp_path):
    """With two devices (conftest) an experiment's sweeps train side by side, one per device; a process with one
    device trains them one after another. Stores, summary and figures are the same bytes (timings aside)."""
    import os
    import subprocess
    import sys

    import jax

    assert jax.local_device_count() == 2
    reproduce("varying_sparsity", out=tmp_path / "two", quick=True, progress=False)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    r = subprocess.run([sys.executable, "-m", "tms.cli", "reproduce", "varying_sparsity", "--quick", "--out",
                        str(tmp_path / "one")], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert "[sweeps] 2 side by side" not in r.stderr + r.stdout  # the one-device run trained them in turn
    timings = _strict((tmp_path / "two" / "figures" / "timings-quick.json").read_text())
    assert "sweeps side by side (wall)" in timings
    files = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()  # noqa: E731
                             and not p.name.startswith("timings"))
    assert files(tmp_path / "two") == files(tmp_path / "one")
    for name in files(tmp_path / "two"):
        if name.endswith(".npz"):  # (a zip member records when it was written)
            with np.load(tmp_path / "two" / name) as a, np.load(tmp_path / "one" / name) as b:
                assert_same_arrays(dict(a), dict(b))
        else:
            assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_several_experiments_as_jobs_side_by_side_write_what_one_after_another_writes(tmp_path, monkeypatch):
    """``tms reproduce all`` runs every sweep and every draw as a job on a free device, a draw after its sweeps
    (run_side_by_side); with one device granted, the same experiments run one after another as before. Stores,
    summary and figures are the same bytes (timings aside). Three quick experiments stand in for "all": one whose
    draw spreads its own parts over the devices (polytope_transitions), one with two sweeps, one with one."""
    import importlib

    import jax

    rep = importlib.import_module("tms.experiments.reproduce")  # the module (the package exports the function)
    names = ["polytope_transitions", "varying_sparsity", "intro"]
    monkeypatch.setattr(rep, "_names", lambda name, quick: list(names))
    jobs = []
    monkeypatch.setattr(rep, "side_by_side", lambda *a, **k: jobs.append(k["after"]) or side_by_side(*a, **k))
    rep.reproduce("all", out=tmp_path / "jobs", quick=True, progress=False)
    assert len(jobs) == 1  # the jobs path ran; its draws waited for their sweeps (sweeps first in the job list)
    assert jobs[0] == {5: {0, 1}, 6: {2, 3}, 7: {4}}
    timings = _strict((tmp_path / "jobs" / "figures" / "timings-quick.json").read_text())
    assert "sweeps and figures side by side (wall)" in timings and "figures polytope_transitions" in timings
    monkeypatch.setattr(rep, "granted_devices", lambda: jax.local_devices()[:1])  # one device: in turn
    rep.reproduce("all", out=tmp_path / "turn", quick=True, progress=False)
    assert "sweeps and figures side by side (wall)" not in _strict(
        (tmp_path / "turn" / "figures" / "timings-quick.json").read_text())
    files = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()  # noqa: E731
                             and not p.name.startswith("timings"))
    assert files(tmp_path / "jobs") == files(tmp_path / "turn") and len(files(tmp_path / "jobs")) > 10
    for name in files(tmp_path / "jobs"):
        if name.endswith(".npz"):
            with np.load(tmp_path / "jobs" / name) as a, np.load(tmp_path / "turn" / name) as b:
                assert_same_arrays(dict(a), dict(b))
        else:
            assert (tmp_path / "jobs" / name).read_bytes() == (tmp_path / "turn" / name).read_bytes(), name


def test_a_sweep_that_fails_side_by_side_raises_in_the_caller(tmp_path, monkeypatch):
    import importlib

    rep = importlib.import_module("tms.experiments.reproduce")  # (tms.experiments.reproduce is also a function)

    real = rep.run_named_sweep

    def failing(name, *args, **kwargs):
        if name == "varying_sparsity_linear":
            raise ValueError("varying_sparsity_linear: broken on purpose")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(rep, "run_named_sweep", failing)
    with pytest.raises(ValueError, match="broken on purpose"):
        reproduce("varying_sparsity", out=tmp_path, quick=True, progress=False)
