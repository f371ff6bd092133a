"""Helpers shared by the sweep, store, grid, backend and CLI tests: a tiny sweep file and the ``tms`` command."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

# 5 densities x 2 importance settings = 10 cells, chunks of 3 (4 chunks), 2 seeds, 2 restarts, 60 steps.
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

# A finite-data sweep: hidden sizes 2 and 3 x 2 seeds = 4 chunks of 3 training-set sizes, 2 restarts, 25 steps.
TINY_FINITE = """
name = "tiny_finite"
[model]
n_features = 12
n_hidden = [2, 3]
[data]
sparsity = 0.8
train_sizes = [3, 7, 40]
test_size = 64
path = "sparse"
[train]
steps = 25
warmup_steps = 3
batch_size = 16
restarts = 2
seeds = [0, 5]
"""


def write(tmp_path, text=TINY, name="spec.toml"):
    """Write ``text`` to ``tmp_path/name``; returns the path."""
    p = tmp_path / name
    p.write_text(text)
    return p


def cli(*args, env=None, **kw):
    """Start ``python -m tms.cli ARGS`` in a subprocess (stdout and stderr piped, text)."""
    return subprocess.Popen([sys.executable, "-m", "tms.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run_killed_after_first_chunk(spec_path, out) -> int:
    """Start ``tms sweep run SPEC --out OUT``, SIGKILL it once its first chunk file is on disk, and return how many
    chunk files had landed (no time limit: a run that finishes before the kill fails the caller's count check)."""
    p = cli("sweep", "run", str(spec_path), "--out", str(out))
    chunks = out / "chunks"
    while not (chunks.exists() and any(chunks.glob("*.npz"))):
        assert p.poll() is None, p.communicate()
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    return len(list(chunks.glob("*.npz")))


def assert_same_arrays(a: dict, b: dict):
    """Same names, dtypes, shapes and values (NaN equal to NaN): bit for bit."""
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind in "fc"), k


def assert_same_store(a, b):
    """Two results folders hold the same files: byte-equal text, equal arrays in every chunk and merged."""
    files = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())  # noqa: E731
    assert files(a) == files(b)
    for name in files(a):
        if name.endswith(".npz"):
            with np.load(a / name) as za, np.load(b / name) as zb:
                assert_same_arrays(dict(za), dict(zb))
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


# A model kind with its own parameters (abs: W1, W2, b; relu_hidden_bias: W, b_hidden, b): 2 densities, chunks
# of 1 cell (2 chunks), 2 restarts, 20 steps, snapshots at steps 0 and 20.
TINY_KIND = """
name = "tiny_kind"
[model]
kind = "KIND"
n_features = 3
n_hidden = 2
[data]
density = [1.0, 0.3]
importance = { decay = 0.8 }
[train]
steps = 20
batch_size = 32
restarts = 2
seeds = [0]
eval_batch = 64
[record]
log_every = 10
snapshots = 2
[run]
chunk_size = 1
"""


def tiny_kind(kind: str) -> str:
    """:data:`TINY_KIND` for model kind ``kind``."""
    return TINY_KIND.replace('"KIND"', f'"{kind}"')


TINY_SAE = """
name = "tiny_sae"
kind = "sae"
[source]
type = "pentagon"
sparsity = 0.9
[sae]
archs = ["relu", "topk"]
ratios = [1.0, 2.0]
penalties = [0.01, 0.1]
ks = [1, 2]
[train]
steps = 30
batch = 32
lr = 3e-3
seeds = [0, 1]
"""


def spy_on_progress(monkeypatch) -> list:
    """Record every ``Progress.advance(cells, limit)`` call (the bar's ticks inside a chunk) in the returned list."""
    from tms.runs.progress import Progress

    seen = []
    real = Progress.advance

    def spy(self, cells, limit, chunk=None):
        seen.append((cells, limit))
        real(self, cells, limit, chunk)

    monkeypatch.setattr(Progress, "advance", spy)
    return seen
