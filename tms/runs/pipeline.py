"""The one chunk driver: any sweep kind's chunks, trained by any backend, with progress and an ETA.

:func:`run_chunks` asks the spec's kind for its chunks, takes the finished ones from ``done`` (resume), lets
the backend train the rest (in whatever order they finish), hands each new chunk to ``on_chunk`` (the store
writes it) and merges them in chunk order, so the merged arrays never depend on the backend or on the order.
:func:`train_grid` is the in-memory front for grids (no folder).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable

from ..engine import ticks
from ..engine.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, StaticConfig
from ..errors import TmsError
from .backends import LocalBackend
from .grid import Grid
from .kinds import SweepSpec, sweep_kind
from .progress import Progress
from .results import Results


def run_chunks(spec, progress: bool = True, devices: int = 1, done: Callable[[int], dict | None] | None = None,
               on_chunk: Callable[[int, dict], None] | None = None, backend=None, listen: bool = True) -> dict:
    """Train every chunk of ``spec`` (any sweep kind) and return the kind's merged arrays.

    ``done(chunk_id)`` may return the stored arrays of a finished chunk (resume: it is not retrained);
    ``on_chunk(chunk_id, arrays)`` is called after each newly trained chunk (e.g. to store it), in the order
    the backend finishes them. ``backend`` (:mod:`tms.runs.backends`) trains the pending chunks; default
    ``LocalBackend(devices)``, this process. Every backend gives the same arrays. ``listen=False``: the engine's
    ticks are not heard (the process has one listener: sweeps run side by side in threads leave it alone).
    """
    if backend is None:
        backend = LocalBackend(devices)
    elif devices != 1:
        raise TmsError("devices: give it to the backend (LocalBackend(devices)), not beside one")
    kind = sweep_kind(spec.kind)
    if kind.preflight is not None:
        kind.preflight(spec)
    parts = kind.chunks(spec, backend.devices)
    results: list[dict | None] = [done(cid) if done is not None else None for cid in range(len(parts))]
    pending = [cid for cid, r in enumerate(results) if r is None]
    if pending:
        backend.open()
    bar = Progress(sum(spec.cells(c) for c in parts), spec.work_per_cell, enabled=progress, desc=backend.label)
    # In this process (the local backend) the engine's ticks move the bar inside a chunk: a tick of k steps is
    # k / loop_steps of a chunk (a kind without loop_steps: no ticks). A tick does not say which chunk it came
    # from: with chunks side by side (started in pending order, the next when one finishes, so the ones in
    # training are the first unfinished pending ones) it is shared among those in training.
    loop_steps = getattr(spec, "loop_steps", None)
    at_once = max(1, getattr(backend, "concurrent", 1))
    unfinished = list(pending)
    lock = threading.Lock()  # ticks arrive on the runtime's threads, from chunks side by side

    def heard(steps: int):
        if not loop_steps:
            return
        with lock:
            training = unfinished[:at_once]
            for cid in training:
                cells = spec.cells(parts[cid])
                bar.advance(cells * steps / loop_steps / len(training), cells, chunk=cid)

    try:
        for cid, r in enumerate(results):
            if r is not None:
                bar.update(spec.cells(parts[cid]), skipped=True)
        hearing = ticks.listening(heard) if listen else contextlib.nullcontext()
        with hearing, contextlib.closing(backend.map_chunks(spec, parts, pending)) as trained:
            for cid, arrays in trained:
                results[cid] = arrays
                if on_chunk is not None:
                    on_chunk(cid, arrays)
                with lock:
                    unfinished.remove(cid)
                    bar.update(spec.cells(parts[cid]), chunk=cid)
    finally:
        bar.close()
    return kind.merge(spec, results)


def train_grid(static: StaticConfig | None = None, *, sparsity=None, density=None, importance=None,
               lr=DEFAULT_LR, seeds=(0,), weight_decay=DEFAULT_WEIGHT_DECAY, importance_params=None,
               perturb=None, chunk_size=None, progress=True,
               devices=1, concurrent=None, **static_kwargs) -> Results:
    """Train a sparsity × importance × lr × seed grid in memory; returns :class:`Results`.

    ``static`` or keyword settings of :class:`StaticConfig` (``n_features=5, n_hidden=2, steps=...``).
    Give exactly one of ``sparsity`` / ``density`` (scalars or lists). ``perturb = {"feature": i, "density":
    values}`` (or ``"sparsity"``, and/or ``"importance"``) varies one feature (:meth:`tms.runs.grid.Grid.make`).
    ``devices`` and ``concurrent``: as :class:`~tms.runs.backends.LocalBackend` takes them (chunks of ``chunk_size``
    cells, default one chunk).
    """
    if static is None:
        static = StaticConfig(**static_kwargs)
    elif static_kwargs:
        raise TmsError(f"give either static or keyword settings, not both: {sorted(static_kwargs)}")
    if sparsity is None and density is None:
        sparsity = 0.0
    grid = Grid.make(static.n_features, sparsity=sparsity, density=density, importance=importance, lr=lr,
                     seeds=seeds, weight_decay=weight_decay, importance_params=importance_params, perturb=perturb)
    chunk_size = min(chunk_size or grid.n_cells, grid.n_cells)
    spec = SweepSpec("train_grid", "", static, grid, chunk_size)
    return Results(static, grid, run_chunks(spec, progress=progress, backend=LocalBackend(devices, concurrent)))
