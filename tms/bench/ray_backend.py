"""Benchmark: a shipped sweep with the local backend and with Ray on local workers, side by side.

    python -m tms.bench.ray_backend [--sweep phase_n2m1] [--workers 2] [--repeats 3] [--steps N] [--chunk-size C]

Each run is the command a user types, ``tms sweep run SWEEP --out TMP --backend local|ray``, timed from
launch to exit in a fresh process: interpreter and JAX start-up, Ray's cluster start-up (the ray runs
start a local cluster with this machine's cores), compilation (once per process, or once per Ray worker)
and training. Runs interleave (local, ray, ray, local, ...) so that other load on the machine falls on both,
and the medians are compared. The arrays of the two backends are checked equal (bit for bit).

Expected: up to ``min(workers, chunks)`` times faster when each worker gets a core of its own, less Ray's
start-up (~10 s here); with the default 300-cell chunks the n = 2, m = 1 sweep has 3 chunks, so 2 workers
take two rounds (at best 1.5x); ``--chunk-size 150`` gives 6 chunks (at best 2x).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def sweep_text(name: str, steps: int | None, chunk_size: int | None) -> str:
    """The shipped sweep's file, with ``steps`` / ``chunk_size`` replaced when given."""
    from ..experiments.registry import sweep_text as shipped_text

    text = shipped_text(name)
    for key, value in (("steps", steps), ("chunk_size", chunk_size)):
        if value is not None:
            text, n = re.subn(rf"(?m)^{key}\s*=\s*\d+", f"{key} = {value}", text)
            if n != 1:
                raise ValueError(f"{name}: cannot set {key} (found {n} '{key} =' lines)")
    return text


def run_once(spec: Path, out: Path, backend: str, workers: int) -> float:
    """Wall seconds of ``tms sweep run`` in a fresh process."""
    if out.exists():
        shutil.rmtree(out)  # a fresh folder: into the same one, the run would resume and train nothing
    args = [sys.executable, "-m", "tms.cli", "sweep", "run", str(spec), "--out", str(out), "--backend", backend]
    args += ["--workers", str(workers)] if backend == "ray" else []
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a new local cluster each time
    t0 = time.perf_counter()
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise RuntimeError(f"{' '.join(args[2:])} failed:\n{r.stderr[-3000:]}")
    return wall


def same_arrays(a: Path, b: Path) -> bool:
    with np.load(a / "arrays.npz") as za, np.load(b / "arrays.npz") as zb:
        return sorted(za.files) == sorted(zb.files) and all(
            np.array_equal(za[k], zb[k], equal_nan=True) for k in za.files)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tms.bench.ray_backend", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sweep", default="phase_n2m1", help="shipped sweep (default phase_n2m1)")
    p.add_argument("--workers", type=int, default=2, help="Ray workers (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each backend, interleaved (default 3)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the sweep's)")
    p.add_argument("--chunk-size", type=int, default=None, help="cells per chunk (default: the sweep's)")
    a = p.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("Ray is not installed: pip install 'tms[ray]'")
        return 1
    from ..runs.spec import load_spec

    with tempfile.TemporaryDirectory(prefix="tms-bench-ray-") as tmp:
        tmp = Path(tmp)
        spec_path = tmp / f"{a.sweep}.toml"
        spec_path.write_text(sweep_text(a.sweep, a.steps, a.chunk_size))
        spec = load_spec(spec_path)
        s = spec.static
        print(f"{a.sweep}: n={s.n_features}, m={s.n_hidden}, {spec.grid.n_cells} cells x {len(spec.grid.seeds)} "
              f"seed(s) x {s.restarts} restarts, {s.steps} steps x batch {s.batch_size}; {spec.n_chunks} chunk(s) "
              f"of {spec.chunk_size} cells; {os.cpu_count()} CPU cores, load average "
              f"{os.getloadavg()[0]:.1f} at start; wall time of 'tms sweep run' from launch to exit, "
              f"{a.repeats} interleaved runs each", flush=True)
        walls = {"local": [], "ray": []}
        for i in range(a.repeats):
            for backend in (("local", "ray") if i % 2 == 0 else ("ray", "local")):
                walls[backend].append(run_once(spec_path, tmp / backend, backend, a.workers))
                print(f"  run {i + 1}: {backend:5s} {walls[backend][-1]:7.1f} s", flush=True)
        same = same_arrays(tmp / "local", tmp / "ray")
    local, ray_ = statistics.median(walls["local"]), statistics.median(walls["ray"])
    runs = lambda w: ", ".join(f"{x:.1f}" for x in w)  # noqa: E731
    print(f"local            : {local:7.1f} s median  ({runs(walls['local'])})")
    print(f"ray, {a.workers} workers   : {ray_:7.1f} s median  ({runs(walls['ray'])})")
    print(f"ratio local / ray = {local / ray_:.2f}x  (arrays bit-identical: {'yes' if same else 'NO'}); "
          f"load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
