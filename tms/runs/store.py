"""The resumable results store of a sweep of any kind: one folder, atomic writes, resume from finished chunks.

Store layout of ``tms sweep run SPEC --out DIR``::

    DIR/spec.toml          the file as written
    DIR/resolved.json      the resolved configuration (what "the same spec" means on resume)
    DIR/chunks/NNNNN.npz   one file per finished chunk (written atomically: a chunk file exists only once
                           complete, so the chunk files are the record of what finished)
    DIR/config.json, arrays.npz, table.csv   the merged results (:class:`tms.runs.results.Results`)

Launching again into DIR with the same spec skips the finished chunks; since a cell's result depends only
on its own settings and seed, the merged results equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import MissingFileError, RefusedOverwriteError
from ..io import atomic_write, read_json, read_npz, write_json
from .kinds import kind_of_config, sweep_kind
from .ownership import claim, owned
from .pipeline import run_chunks


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def prepare_folder(spec, out, overwrite: bool) -> Path:
    """Make (or reuse) the sweep folder ``out`` for ``spec``: a folder holding a different sweep is an error
    unless ``overwrite``; writes ``spec.toml`` and ``resolved.json`` once. Returns ``out`` as a Path."""
    out = Path(out)
    resolved = spec.resolved()
    rpath = out / "resolved.json"
    old = read_json(rpath) if rpath.is_file() else None
    same = old is not None and _same(old, resolved)
    if old is not None and not same and not overwrite and owned(out):
        raise RefusedOverwriteError(f"--out {out}: holds a different sweep ('{old.get('name')}', other settings); "
                                    f"choose another --out or pass --overwrite to replace it (only the files tms "
                                    f"wrote are removed)")
    claim(out, "sweep", overwrite=overwrite and not same, keep=same)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    if not rpath.exists():
        atomic_write(out / "spec.toml", lambda f: f.write(spec.source))
        write_json(rpath, resolved)
    return out


def read_chunk(out: Path, cid: int) -> dict | None:
    """The arrays of finished chunk ``cid`` of the sweep folder ``out``, or None."""
    p = Path(out) / "chunks" / f"{cid:05d}.npz"
    if not p.exists():
        return None
    return read_npz(p, f"delete this chunk file and run the sweep again: only chunk {cid} is retrained")


def write_chunk(out: Path, cid: int, arrays: dict) -> None:
    atomic_write(Path(out) / "chunks" / f"{cid:05d}.npz", lambda f: np.savez(f, **arrays), binary=True)


class _Stop(Exception):
    pass


def run_sweep(spec, out, overwrite: bool = False, progress: bool = True, devices: int = 1,
              stop_after: int | None = None, backend=None, listen: bool = True):
    """Run (or resume) ``spec`` (any sweep kind) into folder ``out``; returns its kind's merged results.

    ``backend`` (:mod:`tms.runs.backends`; default local on ``devices`` devices) trains the pending chunks;
    this process writes every file, so the store is the same whichever backend trained it, and a sweep
    started on one backend may be resumed on another. The kind's checks (e.g. memory) run before anything
    is written. ``stop_after``: stop after training that many new chunks and return None (for tests of
    resuming). ``listen``: as :func:`~tms.runs.pipeline.run_chunks` takes it.
    """
    kind = sweep_kind(spec.kind)
    if kind.preflight is not None:
        kind.preflight(spec)
    out = prepare_folder(spec, out, overwrite)
    trained = 0

    def on_chunk(cid, arrays):
        nonlocal trained
        write_chunk(out, cid, arrays)
        trained += 1
        if stop_after is not None and trained >= stop_after:
            raise _Stop

    try:
        arrays = run_chunks(spec, progress=progress, devices=devices, done=lambda cid: read_chunk(out, cid),
                            on_chunk=on_chunk, backend=backend, listen=listen)
    except _Stop:
        return None
    res = kind.results(spec, arrays)
    res.save(out)
    return res


def load(folder):
    """The merged results of a finished sweep of any kind (or a ``tms train`` folder), read and checked by the
    sweep kind its ``config.json`` records."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such results folder")
    if (folder / "resolved.json").exists() and not (folder / "arrays.npz").exists():
        n = len(list((folder / "chunks").glob("*.npz")))
        raise MissingFileError(f"{folder}: sweep not finished ({n} chunk(s) done); run it again to resume")
    cfg = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    return kind_of_config(cfg if isinstance(cfg, dict) else {}, str(folder / "config.json")).load(folder)


def show(folder) -> str:
    """A summary table of a results folder: settings and per-cell losses."""
    res = load(folder)
    return f"{folder}: {res.describe()}\n{res.table_text()}"
