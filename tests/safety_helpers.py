"""Helpers for the data-safety tests: a checksummed listing of a folder, and tiny settings that train in
well under a second."""

import hashlib
from pathlib import Path

# A sweep file that trains in a fraction of a second: 2 cells, chunks of 1, one seed.
TINY_SWEEP = """
name = "tiny_safety"
[model]
n_features = 3
n_hidden = 2
[data]
sparsity = [0.0, 0.5]
[train]
steps = 10
batch_size = 16
eval_batch = 32
seeds = [0]
[run]
chunk_size = 1
"""

TINY_TRAIN = ["train", "-n", "3", "-m", "2", "--steps", "10", "--batch-size", "16", "--sparsity", "0", "0.5"]


def listing(root) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``root`` (folders end in '/', with no checksum)."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel + "/" if p.is_dir() else rel] = "" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def foreign_files(root) -> dict[str, str]:
    """Plant a user's files (not tms's) in ``root``; returns their listing."""
    root = Path(root)
    (root / "notes").mkdir(parents=True, exist_ok=True)
    (root / "thesis.tex").write_text("my thesis\n")
    (root / "notes" / "data.csv").write_text("a,b\n1,2\n")
    return {k: v for k, v in listing(root).items() if k.startswith(("thesis", "notes"))}


def truncate(path, keep: float = 0.5) -> None:
    """Cut ``path`` to ``keep`` of its bytes (a crash or a full disk during a copy)."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
