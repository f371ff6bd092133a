"""Helpers shared by the sweep, store, grid, backend and CLI tests: a tiny sweep file and the ``tms`` command."""

import os
import subprocess
import sys

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


def write(tmp_path, text=TINY, name="spec.toml"):
    """Write ``text`` to ``tmp_path/name``; returns the path."""
    p = tmp_path / name
    p.write_text(text)
    return p


def cli(*args, env=None, **kw):
    """Start ``python -m tms.cli ARGS`` in a subprocess (stdout and stderr piped, text)."""
    return subprocess.Popen([sys.executable, "-m", "tms.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
