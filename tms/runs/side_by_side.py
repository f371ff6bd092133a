"""Chunks side by side: several compiled programs at once in one process, one per local JAX device.

On a CPU, XLA splits every kernel of one program over the cores; at the lab's small shapes that costs more
than it gives, and two programs side by side keep both cores busier (docs/performance.md). JAX's CPU client
has one device unless it is told to make more before it starts (:func:`use_cpu_cores`, which the ``tms``
command calls); :class:`~tms.runs.backends.LocalBackend` then trains that many chunks at once
(:func:`side_by_side`). A program gives the same bits on any device and beside any other program (tested),
so the arrays do not depend on it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager

from ..errors import TmsError

CHUNK_THREAD = "tms-chunk"
"""The name of the threads that train chunks side by side (:class:`LocalBackend`)."""


def side_by_side(train: Callable[[int], dict], pending: Sequence[int], workers: int,
                 after: Mapping[int, Collection[int]] | None = None) -> Iterator[tuple[int, dict]]:
    """``(cid, train(cid))`` for every pending chunk, ``workers`` at a time, each on its own JAX device (of those
    :func:`granted_devices` gives), yielded as they finish; chunks start in the order given, but one in ``after``
    (``{cid: ids to finish first}``) waits for those, and those behind it may pass it.

    One thread per device (JAX releases the GIL while a program runs); the device is the thread's default and the
    only one granted (:func:`only_devices`: an ``each`` in ``train`` runs in turn on it). A chunk that fails raises
    here, in the caller's thread. When the caller stops early (an error, ``stop_after``), no new chunk starts and
    those training finish before this returns, their arrays dropped; on Ctrl-C it returns at once (daemon threads)."""
    import queue

    done: queue.Queue = queue.Queue()
    stop = threading.Event()
    todo = list(pending)
    free = granted_devices()[:workers]
    after = {cid: set(ids) for cid, ids in (after or {}).items()}
    finished: set = set()

    def run(cid, device):
        try:
            with only_devices([device]):
                done.put((cid, device, train(cid), None))
        except BaseException as e:  # noqa: BLE001  (handed to the caller's thread, raised there)
            done.put((cid, device, None, e))

    running = 0

    def start():  # what is ready, on the free devices; a wait that cannot end is refused
        nonlocal running
        while free and not stop.is_set():
            ready = next((cid for cid in todo if after.get(cid, set()) <= finished), None)
            if ready is None:
                break
            todo.remove(ready)
            running += 1
            threading.Thread(target=run, args=(ready, free.pop(0)), daemon=True, name=CHUNK_THREAD).start()
        if todo and not running:
            raise TmsError(f"no chunk can start: each of {todo} waits for one that cannot finish (after={after})")

    try:
        start()
        while running:
            cid, device, arrays, error = done.get()
            running -= 1
            if error is not None:
                raise error
            free.append(device)
            finished.add(cid)
            start()
            yield cid, arrays
    finally:
        stop.set()
        if running and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            # stopped early by the caller (stop_after, an error): the chunks in training finish (their arrays
            # dropped) before this returns, so no work outlives the call; Ctrl-C does not wait for them
            while running:
                done.get()
                running -= 1


_GRANT = threading.local()


def granted_devices() -> list:
    """The local JAX devices this thread may spread work over: every local device, or those :func:`only_devices`
    granted it (a chunk or job trained side by side gets its own device alone)."""
    import jax

    devices = getattr(_GRANT, "devices", None)
    return list(devices) if devices is not None else list(jax.local_devices())


@contextmanager
def only_devices(devices: Sequence):
    """Within this block, this thread's work goes to ``devices`` only: the first is its default JAX device, and
    :func:`each` and :func:`side_by_side` spread work over these alone (one device: its parts one after another)."""
    import jax

    before = getattr(_GRANT, "devices", None)
    _GRANT.devices = tuple(devices)
    try:
        with jax.default_device(devices[0]):
            yield
    finally:
        _GRANT.devices = before


def use_cpu_cores(cores: int | None = None) -> bool:
    """Make JAX's CPU client one device per core (at most :data:`MAX_CPU_DEVICES`), so that the local backend
    trains that many chunks side by side; returns whether it did.

    Only possible before JAX has run anything in this process; afterwards, or when the device count was set
    already (``jax_num_cpu_devices`` or ``XLA_FLAGS=--xla_force_host_platform_device_count``), it changes nothing
    and returns False. ``cores``: default the CPUs this process may run on. The ``tms`` command calls it first
    thing; call it from Python right after ``import tms`` for the same speed. It does not start JAX.
    """
    import jax

    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = max(1, min(int(cores), MAX_CPU_DEVICES))
    if jax.config.jax_num_cpu_devices != -1 or "xla_force_host_platform_device_count" in os.environ.get(
            "XLA_FLAGS", ""):
        return False
    try:
        jax.config.update("jax_num_cpu_devices", cores)
    except RuntimeError:  # JAX has started: its CPU client is made, with the devices it has
        return False
    return True


MAX_CPU_DEVICES = 8
"""At most this many CPU devices from :func:`use_cpu_cores` (so at most this many chunks in memory at once): the
side-by-side gain was measured on 2 cores; on a large machine XLA's own threads already share the cores."""


def each(fn: Callable[[int], object], ids: Sequence[int], workers: int | None = None) -> Iterator[tuple[int, object]]:
    """``(i, fn(i))`` for each of ``ids``: side by side on up to ``workers`` local JAX devices (default: every local
    device) as they finish, or one after another in order when there is one device or one id. For work other than
    sweep chunks (an experiment's independent trainings); ``fn`` returns host values (NumPy, frames), not arrays
    left on its device."""
    workers = min(len(ids), len(granted_devices()) if workers is None else workers)
    if workers <= 1:
        for i in ids:
            yield i, fn(i)
        return
    yield from side_by_side(fn, ids, workers)
