"""The Ray backend end to end (slow: each test starts a local Ray cluster).

- ``tms sweep run --backend ray`` writes the same results folder as the local backend, bit for bit;
- a worker process killed (SIGKILL, its pid found through Ray's state API) while it trains a chunk is
  restarted by Ray and its chunk retried: the sweep finishes with identical arrays;
- a driver killed (SIGKILL) after some chunks landed resumes with the same command, training only the rest,
  for a grid sweep and for a finite-data sweep.

The quick equality test on a 2-CPU local cluster is in tests/unit/runs/test_backends.py.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sweep_helpers import TINY, TINY_FINITE, assert_same_arrays, assert_same_store, write

from tms.runs.backends import RayBackend
from tms.runs.spec import load_spec
from tms.runs.store import load, run_sweep

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def needs_ray():
    """Every test here needs Ray (skipped without it, unless TMS_REQUIRE_EXTRAS makes that a failure)."""
    return pytest.importorskip("ray")


# Four chunks of a few seconds each on a 2-core CPU: long enough to kill something while a chunk trains.
SLOW = """
name = "slow"
[model]
n_features = 4
n_hidden = 2
[data]
density = { log = [1.0, 0.05], num = 8 }
importance = { decay = 0.9 }
[train]
steps = 10000
batch_size = 64
restarts = 2
seeds = [0, 3]
eval_batch = 256
[run]
chunk_size = 2
"""

# The finite-data kind: one hidden size, four seeds = four chunks of a few seconds each on a 2-core CPU.
SLOW_FINITE = (TINY_FINITE.replace("n_hidden = [2, 3]", "n_hidden = 2").replace("steps = 25", "steps = 5000")
               .replace("seeds = [0, 5]", "seeds = [0, 1, 2, 3]"))


def cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # no address: a new local cluster
    return subprocess.Popen([sys.executable, "-m", "tms.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cli_ray_backend_writes_the_local_backends_folder(tmp_path):
    spec_path = write(tmp_path, TINY)
    p = cli("sweep", "run", str(spec_path), "--out", str(tmp_path / "ray"), "--backend", "ray", "--workers", "2")
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert "train [ray, 2 workers]" in err and "10/10" in err  # the progress bar: workers, cells done
    run_sweep(load_spec(spec_path), tmp_path / "local", progress=False)
    assert_same_store(tmp_path / "ray", tmp_path / "local")


# Ray starts its processes with fork+exec from this JAX process; JAX warns about any fork
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_killed_worker_is_retried_and_the_sweep_is_identical(tmp_path, needs_ray):
    ray = needs_ray
    from ray.util.state import list_actors, list_tasks

    spec = load_spec(write(tmp_path, SLOW))
    ref = run_sweep(spec, tmp_path / "local", progress=False)
    ray.init(address="local", num_cpus=2)  # with the dashboard: the state API needs it
    try:
        backend = RayBackend(workers=2).open()
        outcome = {}

        def drive():
            try:
                outcome["res"] = run_sweep(spec, tmp_path / "ray", progress=False, backend=backend)
            except BaseException as e:  # noqa: BLE001 - reported by the test thread
                outcome["error"] = e

        driver = threading.Thread(target=drive)
        driver.start()
        victim, t0 = None, time.time()
        while victim is None:
            assert driver.is_alive(), outcome
            assert time.time() - t0 < 300, "no chunk seen running"
            running = list_tasks(filters=[("name", "=", "ChunkWorker.train"), ("state", "=", "RUNNING")])
            victim = next((t.worker_pid for t in running if t.worker_pid), None)
            time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        driver.join(timeout=600)
        assert not driver.is_alive() and "error" not in outcome, outcome
        assert len(list((tmp_path / "ray" / "chunks").glob("*.npz"))) == spec.n_chunks
        assert_same_arrays(outcome["res"].arrays, ref.arrays)
        assert_same_store(tmp_path / "ray", tmp_path / "local")
        workers = list_actors(filters=[("class_name", "=", "ChunkWorker")], detail=True)
        assert sum(a.num_restarts for a in workers) == 1  # the killed worker came back once
        retried = list_tasks(filters=[("name", "=", "ChunkWorker.train")], detail=True)
        assert max(t.attempt_number for t in retried) == 1  # and its chunk ran a second time
        backend.close()
    finally:
        ray.shutdown()


@pytest.mark.parametrize("text", [SLOW, SLOW_FINITE], ids=["grid", "finite"])
def test_killed_driver_resumes_from_the_chunks_written(tmp_path, text):
    spec_path = write(tmp_path, text)
    out = tmp_path / "ray"
    chunks = out / "chunks"
    args = ("sweep", "run", str(spec_path), "--out", str(out), "--backend", "ray", "--workers", "2")
    p = cli(*args)
    t0 = time.time()
    while not (chunks.exists() and any(chunks.glob("*.npz"))):
        assert p.poll() is None, p.communicate()
        assert time.time() - t0 < 300
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    written = {c.name: c.stat().st_mtime_ns for c in chunks.glob("*.npz")}
    n_chunks = load_spec(spec_path).n_chunks
    assert 1 <= len(written) < n_chunks
    r = cli(*args)
    _, stderr = r.communicate(timeout=600)
    assert r.returncode == 0, stderr
    assert {c.name: c.stat().st_mtime_ns for c in chunks.glob("*.npz") if c.name in written} == written
    assert len(list(chunks.glob("*.npz"))) == n_chunks
    ref = run_sweep(load_spec(spec_path), tmp_path / "local", progress=False)
    assert_same_arrays(load(out).arrays, ref.arrays)
    assert_same_store(out, tmp_path / "local")
