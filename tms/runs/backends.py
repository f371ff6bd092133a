"""Backends: who trains the pending chunks of a sweep of any kind. The driver (:func:`tms.runs.pipeline.run_chunks`)
keeps the order, the progress bar and the store; a backend only turns chunks into arrays, by calling the
sweep kind's ``train_chunk`` (:mod:`tms.runs.kinds`).

- :class:`LocalBackend` (``devices``, ``concurrent``): this process. Several chunks at once, each whole chunk
  on its own local JAX device (``concurrent``, default one per device: on a CPU, one per core once
  :func:`use_cpu_cores` has made a JAX device per core), or one chunk after another with each chunk's cells
  sharded over ``devices`` devices when > 1. The reference every other backend must equal.
- :class:`RayBackend` (``address``, ``workers``, ``cpus_per_worker``, ``gpus_per_worker``): a Ray cluster.
  One Ray *actor* per worker; each pending chunk is one actor task that trains it and returns its arrays;
  the driver writes them into the store as they arrive (in whatever order they finish).

Why actors rather than tasks with a worker-level cache: an actor is a process whose lifetime the driver
owns, so ``workers=N`` is exactly N processes, each compiling a shape once (the kind's compiled-function
cache, e.g. :func:`~tms.runs.grid.make_grid_fn`'s, lives in the actor's process) and holding its CPUs/GPUs for the
whole sweep. Plain tasks land on whichever pooled worker process is idle: on a large node a task can meet a
fresh process and compile again, the parallelism is not N, and GPU tasks are not reused at all (Ray gives
them ``max_calls=1``, a new process per task). Faults use Ray's own retry: an actor whose process dies is
restarted (``max_restarts``) and the call it was running is resubmitted (``max_task_retries``); retrying
is safe because a chunk's arrays depend only on its cells' settings and seeds.

A backend's :meth:`map_chunks` ``(spec, chunks, pending)`` yields ``(chunk_id, arrays)`` for each pending
chunk, ``arrays`` as the kind's ``train_chunk`` returns them (numpy arrays). Ray is imported only when a
:class:`RayBackend` is opened; ``tms`` imports without it.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import TmsError
from .kinds import SWEEP_KINDS, sweep_kind
from .side_by_side import CHUNK_THREAD, MAX_CPU_DEVICES, side_by_side, use_cpu_cores  # noqa: F401

BACKENDS = ("local", "ray")
"""Backend names accepted by :func:`make_backend` and ``tms sweep run --backend``."""

RAY_INSTALL = "pip install 'tms[ray]'"
DEFAULT_RETRIES = 3
"""Restarts of a worker whose process died, and resubmissions of the chunk it was training (Ray's default
for tasks)."""


class BackendError(TmsError):
    """A backend that cannot start: its extra is not installed, or its cluster cannot be reached."""


class LocalBackend:
    """Chunks trained in this process (the reference backend).

    ``concurrent``: how many chunks train at once, each whole chunk on its own local JAX device (default: one
    per local device; 1: one after another). A chunk's arrays are the same bit for bit whichever device trains
    it and whatever trains beside it (tested): the device runs the same compiled program. On a CPU, XLA splits
    each kernel of one program over the cores, which at the lab's small shapes costs more than it gives; two
    programs side by side keep both cores busy (``docs/performance.md``: 1.3-2.4x the sweep's throughput on
    2 cores). A CPU has one JAX device unless :func:`use_cpu_cores` (which the ``tms`` command calls) made one
    per core before JAX started.

    ``devices``: shard each chunk's cells over this many local JAX devices instead (chunks are rounded up to a
    multiple of it; one chunk at a time).
    """

    name = "local"

    def __init__(self, devices: int = 1, concurrent: int | None = None):
        import jax

        n_local = jax.local_device_count()
        if devices < 1 or devices > n_local:
            raise TmsError(f"devices must lie in [1, {n_local}] (local JAX devices); got {devices}")
        if concurrent is not None and not 1 <= concurrent <= n_local:
            raise TmsError(f"concurrent must lie in [1, {n_local}] (local JAX devices); got {concurrent}")
        if concurrent is not None and concurrent > 1 and devices > 1:
            raise TmsError("concurrent: chunks sharded over several devices (devices > 1) train one at a time")
        self.devices = devices
        self.concurrent = concurrent if concurrent is not None else (n_local if devices == 1 else 1)

    @property
    def label(self) -> str:
        return "train"

    def open(self) -> LocalBackend:
        return self

    def close(self) -> None:
        pass

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def map_chunks(self, spec, chunks: Sequence, pending: Sequence[int]) -> Iterator[tuple[int, dict]]:
        kind = sweep_kind(spec.kind)
        if self.concurrent <= 1 or len(pending) <= 1:
            for cid in pending:
                yield cid, kind.train_chunk(spec, chunks[cid], self.devices)
            return
        yield from side_by_side(lambda cid: kind.train_chunk(spec, chunks[cid], 1), pending, self.concurrent)


class ChunkWorker:
    """One Ray worker (made a Ray actor by :class:`RayBackend`): trains chunks of any sweep kind on its first
    JAX device.

    Its process keeps the kinds' compiled functions (one per shape), reused across chunks and across sweeps
    of the same shape while the backend is open.
    """

    def ready(self) -> dict:
        """Import JAX (the worker's start-up cost) and say where the worker runs."""
        import jax

        return {"pid": os.getpid(), "host": socket.gethostname(), "device": str(jax.local_devices()[0])}

    def train(self, spec, chunk) -> dict:
        return sweep_kind(spec.kind).train_chunk(spec, chunk, 1)

    def compilations(self, kind: str | None = None) -> int:
        """XLA compilations this worker made for sweeps of ``kind`` (default: every kind); one per shape it
        trained, however many chunks."""
        kinds = SWEEP_KINDS.values() if kind is None else [sweep_kind(kind)]
        return sum(k.compilations() for k in kinds if k.compilations is not None)


def import_ray():
    """``ray``, or a :class:`BackendError` that says how to install it."""
    try:
        import ray
    except ImportError as e:
        raise BackendError(f"the Ray backend needs Ray, which is not installed: {RAY_INSTALL} "
                           f"(or pip install {_ray_requirement()!r}); import failed: {e}") from None
    return ray


def _ray_requirement() -> str:
    """The ``ray`` requirement of the ``tms[ray]`` extra, read from the installed package's metadata."""
    try:
        from importlib.metadata import requires

        for r in requires("tms") or []:
            if r.startswith("ray") and "extra == \"ray\"" in r:
                return r.split(";")[0].strip()
    except Exception:  # noqa: BLE001 - metadata missing (e.g. a source tree on sys.path)
        pass
    return "ray[default]"


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://host:port`` or ``host:port``; None for ``auto`` or other forms."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (a :class:`BackendError` naming ``address``) when nothing listens at a ``host:port``."""
    hp = _host_port(address)
    if hp is None:
        return
    try:
        socket.create_connection(hp, timeout=timeout).close()
    except OSError as e:
        raise BackendError(f"cannot reach the Ray cluster at {address}: {e}. Is a Ray head running there "
                           f"(ray start --head) and is the port open from this machine?") from None


class RayBackend:
    """Chunks trained on a Ray cluster by ``workers`` actors, each holding its compiled grid function.

    ``address``: None starts a local Ray cluster with this machine's cores; ``"auto"`` joins the cluster
    this machine is part of (``ray start``); ``"host:port"`` or ``"ray://host:port"`` a remote head.
    ``workers``: actors (default: as many as fit, CPUs / ``cpus_per_worker`` and GPUs / ``gpus_per_worker``,
    never more than the pending chunks). ``cpus_per_worker`` / ``gpus_per_worker``: the resources each actor
    requests (fractional GPUs share a device). ``retries``: restarts of a dead worker and resubmissions of
    its chunk. Connects on :meth:`open` (or the first :meth:`map_chunks`); :meth:`close` kills the actors and
    shuts Ray down if this backend started it.
    """

    name = "ray"
    devices = 1  # one JAX device per worker: a chunk is never sharded, more workers is the way to scale

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_worker: float = 1.0,
                 gpus_per_worker: float = 0.0, retries: int = DEFAULT_RETRIES):
        if workers is not None and workers < 1:
            raise TmsError(f"workers must be >= 1; got {workers}")
        if cpus_per_worker < 0 or gpus_per_worker < 0 or cpus_per_worker + gpus_per_worker <= 0:
            raise TmsError(f"a worker needs CPUs or GPUs: cpus_per_worker={cpus_per_worker}, "
                           f"gpus_per_worker={gpus_per_worker}")
        if retries < 0:
            raise TmsError(f"retries must be >= 0; got {retries}")
        self.address, self.workers = address, workers
        self.cpus_per_worker, self.gpus_per_worker = float(cpus_per_worker), float(gpus_per_worker)
        self.retries = retries
        self._ray = None
        self._started = False
        self._actors: list = []

    # ------------------------------------------------------------------------------ connection

    def open(self) -> RayBackend:
        """Connect to (or start) the cluster and settle the number of workers. Idempotent."""
        if self._ray is not None:
            return self
        ray = import_ray()
        if not ray.is_initialized():
            # no address: RAY_ADDRESS (set by `ray job submit`), else a new local cluster, never one that
            # happens to run on this machine (Ray's own rule for address=None would join it)
            address = self.address or os.environ.get("RAY_ADDRESS") or "local"
            where = "a new local cluster" if address == "local" else address
            if address not in ("auto", "local"):
                check_reachable(address)
            try:
                ray.init(address=address)
            except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ... here
                raise BackendError(f"cannot connect to the Ray cluster at {where}: {e}") from None
            self._started = True
        self._ray = ray
        total = ray.cluster_resources()
        cpus, gpus = total.get("CPU", 0.0), total.get("GPU", 0.0)
        fit = [int(cpus // self.cpus_per_worker)] if self.cpus_per_worker else []
        if self.gpus_per_worker:
            fit.append(int(gpus // self.gpus_per_worker))
        fits = min(fit)
        if self.workers is None:
            self.workers = max(1, fits)
        if self.workers > fits:
            print(f"tms: {self.workers} Ray worker(s) of {self.cpus_per_worker:g} CPU / {self.gpus_per_worker:g} GPU "
                  f"requested; the cluster has {cpus:g} CPU / {gpus:g} GPU now, room for {fits}: the others wait "
                  f"for resources (an autoscaler, or Ctrl-C)", file=sys.stderr)
        return self

    def close(self) -> None:
        """Kill the workers; shut Ray down if :meth:`open` started or joined it."""
        if self._ray is None:
            return
        self._kill_actors()
        if self._started:
            self._ray.shutdown()
        self._ray, self._started = None, False

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    @property
    def label(self) -> str:
        return f"train [ray, {self.workers} worker{'s' if self.workers != 1 else ''}]"

    # ------------------------------------------------------------------------------ workers

    def _actor_class(self):
        options = dict(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
                       max_restarts=self.retries, max_task_retries=self.retries)
        if 0 < self.gpus_per_worker < 1 and "XLA_PYTHON_CLIENT_MEM_FRACTION" not in os.environ:
            # workers sharing a GPU: each may take its share of the memory, not JAX's default 75% of it
            frac = f"{0.75 * self.gpus_per_worker:.3f}"
            options["runtime_env"] = {"env_vars": {"XLA_PYTHON_CLIENT_MEM_FRACTION": frac}}
        return self._ray.remote(**options)(ChunkWorker)

    def _kill_actors(self) -> None:
        for a in self._actors:
            try:
                self._ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
        self._actors = []

    def map_chunks(self, spec, chunks: Sequence, pending: Sequence[int]) -> Iterator[tuple[int, dict]]:
        """Train the pending chunks on the workers; yield ``(chunk_id, arrays)`` as each one finishes.

        A worker is handed a chunk once it is up (its ``ready`` call returned) and the next one when it
        returns a chunk, so a slow or late worker never holds chunks others could train.
        """
        if not pending:
            return
        self.open()
        ray = self._ray
        want = min(self.workers, len(pending))
        if len(self._actors) < want:
            cls = self._actor_class()
            self._actors += [cls.remote() for _ in range(want - len(self._actors))]
        spec_ref = ray.put(spec)
        queue = list(reversed(pending))
        inflight = {a.ready.remote(): (a, None) for a in self._actors}
        finished = False
        try:
            while inflight:
                (ref,), _ = ray.wait(list(inflight), num_returns=1)
                actor, cid = inflight.pop(ref)
                result = ray.get(ref)  # raises the worker's error; a dead worker was already retried
                if queue:
                    nxt = queue.pop()
                    inflight[actor.train.remote(spec_ref, chunks[nxt])] = (actor, nxt)
                if cid is not None:
                    yield cid, {k: np.array(v) for k, v in result.items()}  # own the memory, not the object store's
            finished = True
        finally:
            if not finished:  # stopped early (an error, Ctrl-C, the caller stopped): drop half-trained chunks
                self._kill_actors()


def make_backend(name: str = "local", *, devices: int = 1, address: str | None = None, workers: int | None = None,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0, concurrent: int | None = None):
    """A backend by name (:data:`BACKENDS`); options of another backend are refused, not ignored."""
    if name not in BACKENDS:
        raise TmsError(f"backend must be one of {', '.join(BACKENDS)}; got {name!r}")
    if name == "local":
        given = [f for f, v in (("address", address), ("workers", workers)) if v is not None]
        given += ["gpus_per_worker"] if gpus_per_worker else []
        given += ["cpus_per_worker"] if cpus_per_worker != 1.0 else []
        if given:
            raise TmsError(f"{', '.join(given)}: only for the ray backend (--backend ray)")
        return LocalBackend(devices, concurrent)
    if concurrent is not None:
        raise TmsError("concurrent: only for the local backend; the ray backend's workers train one chunk each "
                       "(scale with workers)")
    if devices != 1:
        raise TmsError("devices: the ray backend trains each chunk on one device per worker; "
                       "scale with workers (and gpus_per_worker) instead")
    return RayBackend(address=address, workers=workers, cpus_per_worker=cpus_per_worker,
                      gpus_per_worker=gpus_per_worker)
