"""Backends: the driver's handling of chunks finished in any order, options refused where they do not
apply, Ray imported lazily and said how to install, an unreachable cluster failing fast, and one quick
local Ray cluster (1 CPU, 1 worker) whose results, for a grid and a finite-data sweep, interrupted and
resumed or not, equal the local backend's bit for bit.

Longer Ray runs (the CLI, a killed worker, a killed driver) are in tests/acceptance/test_ray.py.
"""

import socket
import subprocess
import sys

import pytest
from sweep_helpers import TINY, TINY_FINITE, TINY_SAE, assert_same_arrays, assert_same_store, tiny_kind, write

from tms.runs.backends import BACKENDS, BackendError, LocalBackend, RayBackend, import_ray, make_backend
from tms.runs.pipeline import run_chunks
from tms.runs.spec import load_spec
from tms.runs.store import run_sweep


class Reversed(LocalBackend):
    """Finishes the pending chunks last first: what a cluster's out-of-order completion looks like (with
    ``concurrent=1``, in a known order)."""

    def map_chunks(self, spec, chunks, pending):
        yield from super().map_chunks(spec, chunks, list(reversed(pending)))


def test_chunks_finished_in_any_order_give_the_same_arrays_and_store(tmp_path):
    spec = load_spec(write(tmp_path))
    ref = run_sweep(spec, tmp_path / "ref", progress=False)
    got = run_sweep(spec, tmp_path / "rev", progress=False, backend=Reversed(concurrent=1))
    assert_same_arrays(got.arrays, ref.arrays)
    assert_same_store(tmp_path / "rev", tmp_path / "ref")
    # resumed with chunks from another run order: the finished ones are read, not retrained
    assert run_sweep(spec, tmp_path / "mix", progress=False, stop_after=2, backend=Reversed(concurrent=1)) is None
    assert sorted(p.name for p in (tmp_path / "mix" / "chunks").glob("*.npz")) == ["00002.npz", "00003.npz"]
    assert_same_arrays(run_sweep(spec, tmp_path / "mix", progress=False).arrays, ref.arrays)


def test_run_chunks_refuses_devices_beside_a_backend(tmp_path):
    with pytest.raises(ValueError, match="devices"):
        run_chunks(load_spec(write(tmp_path)), devices=2, backend=LocalBackend())


def test_make_backend_names_and_foreign_options():
    assert BACKENDS == ("local", "ray")
    assert isinstance(make_backend("local"), LocalBackend)
    assert isinstance(make_backend("ray", workers=2), RayBackend)  # nothing started until opened
    with pytest.raises(ValueError, match="one of local, ray"):
        make_backend("dask")
    with pytest.raises(ValueError, match="address, workers: only for the ray backend"):
        make_backend("local", address="auto", workers=2)
    with pytest.raises(ValueError, match="gpus_per_worker: only for the ray backend"):
        make_backend("local", gpus_per_worker=1)
    with pytest.raises(ValueError, match="one device per worker"):
        make_backend("ray", devices=2)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        RayBackend(workers=0)
    with pytest.raises(ValueError, match="needs CPUs or GPUs"):
        RayBackend(cpus_per_worker=0)


def test_tms_imports_without_ray():
    code = ("import sys; sys.modules['ray'] = None\n"  # any 'import ray' would now fail
            "import tms, tms.runs, tms.runs.backends, tms.runs.store\n"
            "from tms.cli.main import build_parser\n"
            "build_parser()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    from tms.cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendError, match=r"pip install 'tms\[ray\]'"):
        import_ray()
    assert main(["sweep", "run", str(write(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'tms[ray]'" in err and "ray[default]" in err
    assert not (tmp_path / "o").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["ray://", ""])
def test_unreachable_address_fails_fast_naming_it(tmp_path, capsys, scheme):
    ray = pytest.importorskip("ray")
    from tms.cli.main import main

    address = f"{scheme}127.0.0.1:{free_port()}"
    code = main(["sweep", "run", str(write(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "ray",
                 "--address", address])
    assert code == 2
    assert not ray.is_initialized()  # it failed before trying to connect: fast, with no timed assert
    assert f"cannot reach the Ray cluster at {address}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_ray_options_on_the_local_backend(tmp_path, capsys):
    from tms.cli.main import main

    assert main(["sweep", "run", str(write(tmp_path)), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    assert "only for the ray backend" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster of 1 CPU for the module (starting one is most of a Ray test's time)."""
    ray = pytest.importorskip("ray")
    for attempt in range(3):
        try:
            ray.init(address="local", num_cpus=1, include_dashboard=False)
            break
        except Exception:  # noqa: BLE001 - Ray raises bare Exceptions when its own processes start slowly
            # On a loaded machine the raylet can give up waiting (15 s) for its agents, or the GCS RPC can
            # time out ("Deadline Exceeded"): a failed start, not a test result. Three failed starts fail.
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray
    ray.shutdown()


# Ray starts its processes with fork+exec from this JAX process; JAX warns about any fork
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_ray_backend_equals_local_bit_for_bit(tmp_path, ray_cluster):
    """One Ray worker serves a grid sweep, a grid of the absolute-value kind (parameters W1, W2, b), a
    finite-data sweep and an SAE sweep: the same arrays, chunk files and merged files as the local backend. A grid sweep stopped
    locally resumes on Ray; a finite sweep stopped on Ray (its next chunk in flight, dropped with its worker)
    resumes locally; both equal an uninterrupted run. The worker compiles each grid shape once (TINY's 7
    chunks, abs's 2). (Two workers, chunks arriving out of order, a killed worker and a killed driver:
    tests/acceptance/test_ray.py.)"""
    grid = load_spec(write(tmp_path, TINY, "grid.toml"))
    finite = load_spec(write(tmp_path, TINY_FINITE.replace("n_hidden = [2, 3]", "n_hidden = 2"), "finite.toml"))
    absolute = load_spec(write(tmp_path, tiny_kind("abs"), "abs.toml"))
    assert finite.kind == "finite" and finite.n_chunks == 2
    sae = load_spec(write(tmp_path, TINY_SAE.replace('archs = ["relu", "topk"]', 'archs = ["topk"]'), "sae.toml"))
    specs = {"grid": grid, "abs": absolute, "finite": finite, "sae": sae}
    ref = {k: run_sweep(spec, tmp_path / f"{k}_local", progress=False) for k, spec in specs.items()}
    assert {"W1", "W2", "b", "snapshots_W1"} <= set(ref["abs"].arrays)
    with RayBackend(workers=1) as backend:
        assert backend.label == "train [ray, 1 worker]"
        for k, spec in specs.items():
            got = run_sweep(spec, tmp_path / f"{k}_ray", progress=False, backend=backend)
            assert_same_arrays(got.arrays, ref[k].arrays)
            assert_same_store(tmp_path / f"{k}_ray", tmp_path / f"{k}_local")
        assert run_sweep(grid, tmp_path / "grid_cut", progress=False, stop_after=1) is None
        assert_same_arrays(run_sweep(grid, tmp_path / "grid_cut", progress=False, backend=backend).arrays,
                           ref["grid"].arrays)
        (actor,) = backend._actors
        assert ray_cluster.get(actor.compilations.remote("grid")) == 2  # one per shape: TINY's and the abs grid's
        assert run_sweep(finite, tmp_path / "finite_cut", progress=False, stop_after=1, backend=backend) is None
        assert [p.name for p in (tmp_path / "finite_cut" / "chunks").glob("*.npz")] == ["00000.npz"]
        assert backend._actors == []  # stopped early: the worker and its half-trained chunk are gone
    assert ray_cluster.is_initialized()  # a cluster it joined is left running
    run_sweep(finite, tmp_path / "finite_cut", progress=False)
    assert_same_store(tmp_path / "finite_cut", tmp_path / "finite_local")



# ------------------------------------------------------------------------------ chunks side by side (local)

@pytest.mark.parametrize("text", [TINY, TINY_FINITE, TINY_SAE], ids=["grid", "finite", "sae"])
def test_chunks_side_by_side_give_the_arrays_and_store_of_one_after_another(tmp_path, text):
    """Two chunks at once, each on its own CPU device (the test process has two: conftest), store the same
    files as one chunk after another, bit for bit: each device runs the same compiled program."""
    import jax

    assert jax.local_device_count() == 2
    spec = load_spec(write(tmp_path, text))
    ref = run_sweep(spec, tmp_path / "one", progress=False, backend=LocalBackend(concurrent=1))
    got = run_sweep(spec, tmp_path / "two", progress=False, backend=LocalBackend(concurrent=2))
    assert_same_arrays(got.arrays, ref.arrays)
    assert_same_store(tmp_path / "two", tmp_path / "one")


def test_side_by_side_stopped_early_keeps_what_finished_and_resumes_to_the_same_store(tmp_path):
    spec = load_spec(write(tmp_path))
    run_sweep(spec, tmp_path / "ref", progress=False, backend=LocalBackend(concurrent=1))
    assert run_sweep(spec, tmp_path / "cut", progress=False, stop_after=1, backend=LocalBackend(concurrent=2)) is None
    assert len(list((tmp_path / "cut" / "chunks").glob("*.npz"))) == 1  # the chunk beside it is dropped
    run_sweep(spec, tmp_path / "cut", progress=False, backend=LocalBackend(concurrent=2))
    assert_same_store(tmp_path / "cut", tmp_path / "ref")


def test_side_by_side_runs_each_chunk_on_a_free_device_and_raises_a_failure_in_the_caller():
    import threading

    import jax
    import jax.numpy as jnp

    from tms.runs.side_by_side import side_by_side

    busy, lock, seen = set(), threading.Lock(), []

    def train(cid):
        device = next(iter(jnp.zeros(()).devices()))  # the thread's default device
        with lock:
            assert device not in busy  # no two chunks on one device at once
            busy.add(device)
            seen.append((cid, device))
        try:
            if cid == 4:
                raise RuntimeError("chunk 4 failed")
            return {"cid": cid}
        finally:
            with lock:
                busy.discard(device)

    done = dict(side_by_side(train, [0, 1, 2, 3, 5, 6], 2))
    assert done == {c: {"cid": c} for c in (0, 1, 2, 3, 5, 6)}
    assert {d for _, d in seen} == set(jax.local_devices())  # chunks 0 and 1 start on the two devices
    got = []
    with pytest.raises(RuntimeError, match="chunk 4 failed"):
        for cid, arrays in side_by_side(train, [0, 1, 2, 3, 4, 5, 6], 2):
            assert arrays == {"cid": cid}
            got.append(cid)
    # chunks start in order, two at a time, the next when one is done: 4 starts after three were yielded; what
    # trained beside it may or may not be yielded before its failure is read
    assert len(got) >= 3 and 4 not in got and set(got) <= {0, 1, 2, 3, 5, 6}


def test_side_by_side_starts_a_job_only_after_those_it_waits_for_and_names_a_cycle():
    import threading
    import time

    from tms.errors import TmsError
    from tms.runs.side_by_side import side_by_side

    lock, started, finished = threading.Lock(), [], []

    def job(cid):
        with lock:
            started.append(cid)
        time.sleep({0: 0.3, 1: 0.05, 2: 0.0, 3: 0.0}[cid])
        with lock:
            finished.append(cid)
        return cid

    # 2 waits for 0 (the slow one): 3 passes it and takes the device 1 leaves free
    done = [cid for cid, _ in side_by_side(job, [0, 1, 2, 3], 2, after={2: {0}})]
    assert sorted(done) == [0, 1, 2, 3]
    assert started.index(2) > finished.index(0) and started.index(3) < started.index(2)
    with pytest.raises(TmsError, match="waits for"):
        list(side_by_side(job, [0, 1], 2, after={0: {1}, 1: {0}}))


def test_a_job_side_by_side_spreads_its_own_parts_over_its_device_alone():
    """Inside a job that side_by_side runs, each() and granted_devices() see the job's device only, so the job's
    parts run one after another there (not on the device another job holds); outside, every device."""
    import jax
    import jax.numpy as jnp

    from tms.runs.side_by_side import each, granted_devices, side_by_side

    assert granted_devices() == jax.local_devices() and len(granted_devices()) == 2

    def job(cid):
        own = granted_devices()
        parts = list(each(lambda i: next(iter(jnp.zeros(()).devices())), range(3)))
        return own, parts

    for _, (own, parts) in side_by_side(job, [0, 1], 2):
        assert len(own) == 1 and [i for i, _ in parts] == [0, 1, 2]  # in turn, in order
        assert all(device == own[0] for _, device in parts)
    assert granted_devices() == jax.local_devices()  # the grant ends with the job


def test_concurrent_is_checked_and_refused_where_it_does_not_apply():
    assert LocalBackend().concurrent == 2 and LocalBackend(concurrent=1).concurrent == 1
    assert LocalBackend(devices=2).concurrent == 1  # a sharded chunk takes every device
    for bad in (0, 3):
        with pytest.raises(ValueError, match=r"concurrent must lie in \[1, 2\] \(local JAX devices\); got " + str(bad)):
            LocalBackend(concurrent=bad)
    with pytest.raises(ValueError, match="concurrent: chunks sharded"):
        LocalBackend(devices=2, concurrent=2)
    with pytest.raises(ValueError, match="concurrent: only for the local backend"):
        make_backend("ray", concurrent=2)
    assert make_backend("local", concurrent=1).concurrent == 1


def test_use_cpu_cores_makes_a_device_per_core_only_before_jax_starts():
    code = ("import jax, tms\n"
            "from tms.runs.backends import use_cpu_cores\n"
            "print(use_cpu_cores(3), jax.local_device_count(), use_cpu_cores(2), jax.local_device_count())\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != "XLA_FLAGS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "3", "False", "3"]  # once JAX runs, its devices are fixed
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # the user's own setting wins
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "2", "False", "2"]
