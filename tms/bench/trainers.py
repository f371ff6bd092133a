"""The trainers :mod:`tms.bench.toy` times: the lab's compiled grid function (one call, or the instances as chunks
side by side), and the notebook-style PyTorch trainer with its best thread count."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .common import OtherCpu, flops_per_instance_sample, interleave, median


@dataclass(frozen=True)
class Setting:
    """One benchmark setting: ``n`` features, ``m`` hidden, ``instances`` models (density log-spaced
    1 → 0.01), ``batch``; importance 0.9^i, Adam lr 1e-3."""

    n: int = 5
    m: int = 2
    instances: int = 128
    batch: int = 1024
    lr: float = 1e-3

    @property
    def density(self) -> np.ndarray:
        return np.geomspace(1.0, 0.01, self.instances)

    @property
    def importance(self) -> np.ndarray:
        return 0.9 ** np.arange(self.n)

    @property
    def flops(self) -> float:
        """FLOPs per instance-sample (:func:`flops_per_instance_sample`)."""
        return flops_per_instance_sample(self.n, self.m, self.batch)

    def samples(self, steps: int) -> int:
        """Instance-samples in ``steps`` steps."""
        return self.instances * self.batch * steps


def jax_trainer(s: Setting, steps: int) -> tuple[float, Callable[[], None]]:
    """Compile ``tms``'s grid function for ``s``; returns ``(compile seconds, run)`` after one warm-up run."""
    import time

    import jax

    from ..engine.config import StaticConfig
    from ..runs.grid import Grid, make_grid_fn, seed_keys

    static = StaticConfig(n_features=s.n, n_hidden=s.m, batch_size=s.batch, steps=steps, eval_batch=s.batch)
    grid = Grid.make(s.n, density=s.density, importance=s.importance, lr=s.lr)
    hp, keys = grid.cell_hparams(s.n, np.arange(grid.n_cells)), seed_keys([0])
    t0 = time.perf_counter()
    compiled = make_grid_fn(static).lower(hp, keys).compile()
    compile_s = time.perf_counter() - t0

    def run():
        jax.block_until_ready(compiled(hp, keys))

    run()  # warm-up
    return compile_s, run


def jax_side_by_side_trainer(s: Setting, steps: int, workers: int, kind: str = "relu",
                             ) -> tuple[float, Callable[[], None]]:
    """The same instances as a sweep of chunk size ``instances / workers`` trains them on the local backend:
    ``workers`` chunks side by side, each on its own JAX device (:class:`tms.runs.backends.LocalBackend`'s
    threads). Returns ``(seconds of the first call, which compiles once per device, run)`` after a warm-up."""
    import time

    import jax

    from ..engine.config import StaticConfig
    from ..runs.grid import Grid, make_grid_fn, seed_keys
    from ..runs.side_by_side import side_by_side

    static = StaticConfig(n_features=s.n, n_hidden=s.m, kind=kind, batch_size=s.batch, steps=steps,
                          eval_batch=s.batch)
    grid = Grid.make(s.n, density=s.density, importance=s.importance, lr=s.lr)
    parts = np.array_split(np.arange(grid.n_cells), workers)
    hps, keys, fn = [grid.cell_hparams(s.n, idx) for idx in parts], seed_keys([0]), make_grid_fn(static)

    def run():
        for _ in side_by_side(lambda i: jax.block_until_ready(fn(hps[i], keys)), range(workers), workers):
            pass

    t0 = time.perf_counter()
    run()  # compiles for each device (side by side)
    first_s = time.perf_counter() - t0
    run()  # warm-up
    return first_s, run


def torch_trainer(s: Setting, steps: int, threads: int) -> Callable[[], None]:
    """The notebook-style PyTorch trainer for ``s``; returns ``run`` (``steps`` steps) after a warm-up."""
    import torch

    torch.set_num_threads(threads)
    n, m = s.n, s.m
    torch.manual_seed(0)
    density = torch.tensor(s.density, dtype=torch.float32)[:, None]  # (instances, 1)
    importance = torch.tensor(s.importance, dtype=torch.float32)[None, None, :]
    W = torch.nn.Parameter(torch.empty(s.instances, n, m))
    torch.nn.init.xavier_normal_(W)
    b = torch.nn.Parameter(torch.zeros(s.instances, n))
    opt = torch.optim.Adam([W, b], lr=s.lr)

    def step():
        feat = torch.rand(s.batch, s.instances, n)
        x = torch.where(torch.rand(s.batch, s.instances, n) <= density, feat, torch.zeros(()))
        h = torch.einsum("bif,ifh->bih", x, W)
        out = torch.relu(torch.einsum("bih,ifh->bif", h, W) + b)
        loss = (importance * (x - out) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return torch_runner(step, steps, threads)


def torch_runner(step: Callable[[], None], steps: int, threads: int) -> Callable[[], None]:
    """``run()``: ``steps`` calls of a PyTorch ``step`` on ``threads`` threads; warms up with 5 steps first."""
    import torch

    def run():
        torch.set_num_threads(threads)
        for _ in range(steps):
            step()

    for _ in range(min(5, steps)):  # warm-up
        step()
    return run


@dataclass(frozen=True)
class TorchSetup:
    """How PyTorch runs: ``processes`` processes (the instances split between them), ``threads`` threads each."""

    processes: int
    threads: int

    def __str__(self) -> str:
        return (f"{self.threads} thread{'s' if self.threads > 1 else ''}" if self.processes == 1
                else f"{self.processes} processes x {self.threads} thread{'s' if self.threads > 1 else ''}")

    @property
    def short(self) -> str:
        return f"{self.processes}p x {self.threads}t"


def torch_setups(s: Setting | int) -> list[TorchSetup]:
    """The setups the pilot tries: one process on 1 and on every core, and one single-thread process per core
    with the instances (or, given an int, that many independent units of work) split between them (the peer's
    side by side)."""
    units = s if isinstance(s, int) else s.instances
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    setups = [TorchSetup(1, t) for t in sorted({1, cores})]
    if cores > 1 and units >= cores:
        setups.append(TorchSetup(cores, 1))
    return setups


def torch_run(s: Setting, steps: int, setup: TorchSetup) -> Callable[[], object]:
    """``run()`` for PyTorch in ``setup`` (:func:`torch_trainer` in this process, or :func:`torch_processes`)."""
    if setup.processes == 1:
        return torch_trainer(s, steps, setup.threads)
    return torch_processes(s, steps, setup.processes, setup.threads)


def split_instances(s: Setting, processes: int) -> list[Setting]:
    """``s`` with its instances split into ``processes`` near-equal parts (what each peer process trains)."""
    return [Setting(s.n, s.m, len(part), s.batch, s.lr) for part in np.array_split(np.arange(s.instances), processes)]


def fastest(runs: dict, steps: int, rounds: int = 3) -> tuple[object, dict[object, float]]:
    """The key of ``runs`` whose ``run()`` (``steps`` steps) is fastest in a short interleaved pilot, and every
    key's median seconds per step."""
    per_step = {u: median([tr.wall for tr in trials]) / steps for u, trials in interleave(runs, rounds).items()}
    return min(per_step, key=per_step.get), per_step


THREADS_HELP = ("PyTorch: 'auto' (default: the fastest of one process on 1 thread, on every core, and one single-thread "
                "process per core with the work split, in a pilot) or a thread count (one process)")


def add_threads_option(ap) -> None:
    """``--threads`` (``auto`` or a positive integer) on an argument parser; check it with :func:`check_threads`."""
    ap.add_argument("--threads", default="auto", help=THREADS_HELP)


def check_threads(ap, value: str, option: str = "--threads") -> None:
    """``ap.error`` naming ``option`` unless ``value`` is ``auto`` or a positive integer."""
    if value != "auto" and not (value.isdigit() and int(value) >= 1):
        ap.error(f"{option} must be 'auto' or a positive integer")


def chosen_setup(threads: str, run_for: Callable[[TorchSetup], Callable[[], object]], units: int, steps: int,
                 label: str | None, scale: float = 1e3, digits: int = 1) -> TorchSetup:
    """The peer's setup: ``threads`` ``"auto"``: the fastest of :func:`torch_setups` (``units`` independent
    pieces of work to split) in a pilot of ``run_for(setup)`` (``steps`` steps each), printed as
    ``label: setup median, ... -> fastest`` (medians in seconds per step × ``scale``; not printed when ``label``
    is None); else one process on that many threads."""
    if threads != "auto":
        return TorchSetup(1, int(threads))
    setup, pilot = fastest({u: run_for(u) for u in torch_setups(units)}, steps)
    if label is not None:
        print(f"{label}: " + ", ".join(f"{u} {scale * v:.{digits}f}" for u, v in pilot.items()) + f" -> {setup}",
              flush=True)
    return setup


def torch_processes(s: Setting, steps: int, processes: int, threads: int = 1) -> Callable[[], OtherCpu]:
    """``run()``: the instances split into ``processes`` parts, each trained by :func:`torch_trainer` in its own
    process (spawned, ``threads`` threads), all at once; returns their CPU seconds. Warmed up like one process."""
    return in_processes(torch_trainer, [(part, steps, threads) for part in split_instances(s, processes)])


def in_processes(make_run: Callable[..., Callable[[], object]], parts: list[tuple]) -> Callable[[], OtherCpu]:
    """``run()``: ``make_run(*part)()`` for every part at once, each in its own spawned process; returns the
    processes' CPU seconds.

    ``make_run`` (a module-level function, so a spawned process can import it) builds the part's trainer, warms
    it up and returns its ``run``; it runs once per process before this returns, so neither the processes'
    start-up (Python, ``import torch``) nor the warm-up is timed: the peer is timed in its steady state, as the
    lab is when it is timed warm. The processes end with the benchmark.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # not fork: this process runs JAX's threads
    pipes = []
    for part in parts:
        here, there = ctx.Pipe()
        ctx.Process(target=_worker, args=(there, make_run, part), daemon=True).start()
        pipes.append(here)
    for here in pipes:
        if here.recv() != "ready":  # pragma: no cover (a worker that failed to start says why on stderr)
            raise RuntimeError("a benchmark worker process failed to start")

    def run() -> OtherCpu:
        for here in pipes:
            here.send("go")
        return OtherCpu(sum(here.recv() for here in pipes))

    return run


def _worker(conn, make_run: Callable[..., Callable[[], object]], part: tuple) -> None:
    run = make_run(*part)
    conn.send("ready")
    while True:
        try:
            if conn.recv() != "go":
                return
        except EOFError:  # the benchmark ended
            return
        c = time.process_time()
        run()
        conn.send(time.process_time() - c)


def pin_jax(cores: int) -> list[int] | None:
    """Create JAX's CPU client with its threads on the first ``cores`` CPUs this process may use; returns those
    CPUs (None when ``cores`` covers them all). Must run before anything creates the client.

    The main thread gets every CPU back afterwards, so threads made later (PyTorch's) may use all of them.
    XLA's CPU runtime sizes its thread pool from the CPUs it sees when the client is created; on one CPU
    every kernel runs on one thread, which for the tiny models here is faster than two (docs/performance.md).
    """
    allowed = sorted(os.sched_getaffinity(0))
    if cores >= len(allowed):
        return None
    os.sched_setaffinity(0, allowed[:cores])
    try:
        import jax

        jax.devices()  # creates the client and its thread pools now, on the pinned CPUs
    finally:
        os.sched_setaffinity(0, allowed)
    return allowed[:cores]
