"""Benchmark: the toy-model trainer (JAX) against a PyTorch reference trainer, interleaved, in one invocation.

    python -m tms.bench [--repeats 5] [--steps 2000] [--torch-steps 200] [--torch-threads auto] [--jax-cores N]
    python -m tms.bench --sizes [--repeats 3]
    python -m tms.bench --profile [--sizes]      # where a step's time goes (tms.bench.profile)

**Setting** (the paper's intro): n=5 features, m=2 hidden, importance I_i = 0.9^i, 128 instances whose
feature density is log-spaced from 1 to 0.01, batch 1024, Adam lr 1e-3. ``--sizes`` prints the same figures
side by side for (n, m) = (5, 2), (20, 5), (40, 10), (100, 20), (400, 30) (same instances, batch,
importance rule and optimiser; fewer steps per trial for the larger models).

**Trainers.** JAX: ``tms``'s compiled grid function (:func:`tms.runs.grid.make_grid_fn`), exactly what a
sweep runs; a trial is one call (init, ``steps`` steps, one evaluation batch of ``batch`` examples), timed
after compiling and one warm-up call; compilation is timed and printed apart. By default JAX runs as a
sweep does, its CPU client seeing every core; ``--jax-cores 1`` creates the client on one core
(:func:`pin_jax`), which is faster for the tiny models (docs/performance.md says why) and leaves PyTorch every
core. PyTorch: a trainer written the way Anthropic's notebook writes it (``W: [instances, n, m]`` with
instances as an einsum axis, data from ``torch.rand``, ``torch.optim.Adam``), the same instances, batch,
model and optimiser; it runs with its best thread count (``auto``: the faster of 1 and all cores in a short
pilot, printed) or ``--torch-threads N``. The one difference in work: the notebook draws fresh uniforms for
every instance (2 x batch x instances x n per step), while ``tms`` draws one set per step and thresholds it
at each instance's density (common random numbers, a design choice of ``tms``); the FLOP count credits
neither.

**Measures.** Instance-samples per second (instances x batch x steps / seconds). Trials alternate
JAX, PyTorch, JAX, ... (see :mod:`tms.bench.common`); medians are printed with both ratios.

**Arithmetic throughput.** FLOPs per instance-sample, fwd + bwd + Adam, with an FMA counted as 2 and an
elementwise op as 1 (see :func:`flops_per_instance_sample`): ``10·n·m + 9·n + 14·(n·m + n)/batch`` (145.2
at n=5, m=2). Achieved GFLOP/s = that x instance-samples/s, printed beside an estimate of the CPU's peak
(:func:`tms.bench.common.cpu_peak`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .common import (
    ADAM_FLOPS_PER_PARAM,
    CpuPeak,
    Trial,
    cpu_peak,
    flops_per_instance_sample,
    interleave,
    load_average,
    median,
    ratios,
)

SIZES = ((5, 2), (20, 5), (40, 10), (100, 20), (400, 30))


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


def torch_best_threads(s: Setting, steps: int, rounds: int = 3) -> tuple[int, dict[int, float]]:
    """PyTorch's fastest thread count in 1..cores: a short interleaved pilot, median seconds per step."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    counts = sorted({1, cores})
    runs = {t: torch_trainer(s, steps, t) for t in counts}
    per_step = {t: median([tr.wall for tr in trials]) / steps
                for t, trials in interleave({t: runs[t] for t in counts}, rounds).items()}
    return min(per_step, key=per_step.get), per_step


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


@dataclass(frozen=True)
class Comparison:
    """The interleaved trials of one setting and what is printed from them."""

    setting: Setting
    jax_steps: int
    torch_steps: int
    torch_threads: int
    compile_s: float
    jax: list[Trial]
    torch: list[Trial]

    def rates(self, which: str) -> list[float]:
        trials, steps = (self.jax, self.jax_steps) if which == "jax" else (self.torch, self.torch_steps)
        return [self.setting.samples(steps) / t.wall for t in trials]

    def rate(self, which: str) -> float:
        return median(self.rates(which))

    def cpu_per_step(self, which: str) -> float:
        trials, steps = (self.jax, self.jax_steps) if which == "jax" else (self.torch, self.torch_steps)
        return median([t.cpu / steps for t in trials])

    @property
    def ratio(self) -> tuple[float, float]:
        """``(median of paired ratios, ratio of medians)`` of JAX over PyTorch instance-samples/s."""
        return ratios(self.rates("jax"), self.rates("torch"))

    def gflops(self, which: str) -> float:
        return self.setting.flops * self.rate(which) / 1e9


def compare(s: Setting, jax_steps: int, torch_steps: int | None, repeats: int, threads: int | str,
            verbose: bool = True) -> Comparison:
    """Compile and warm up both trainers for ``s``, then time them interleaved ``repeats`` times."""
    compile_s, jax_run = jax_trainer(s, jax_steps)
    if verbose:
        print(f"JAX compile: {compile_s:.2f} s (excluded from every figure below)")
    if torch_steps is None:
        trials = interleave({"jax": jax_run}, repeats)
        return Comparison(s, jax_steps, 0, 0, compile_s, trials["jax"], [])
    if threads == "auto":
        threads, pilot = torch_best_threads(s, max(2, torch_steps // 10))
        if verbose:
            print("PyTorch thread pilot (median ms/step): "
                  + ", ".join(f"{t} thread{'s' if t > 1 else ''} {1e3 * v:.1f}" for t, v in pilot.items())
                  + f" -> {threads}")
    torch_run = torch_trainer(s, torch_steps, int(threads))

    def report(r, row):
        if verbose:
            j, t = s.samples(jax_steps) / row["jax"].wall, s.samples(torch_steps) / row["torch"].wall
            print(f"  {r + 1:>5}  {j:12.3g}  {t:12.3g}  {j / t:10.2f}x")

    if verbose:
        print(f"interleaved trials, instance-samples/s (JAX {jax_steps} steps, PyTorch {torch_steps} steps "
              f"per trial):\n  trial           JAX       PyTorch   JAX/PyTorch")
    trials = interleave({"jax": jax_run, "torch": torch_run}, repeats, report)
    return Comparison(s, jax_steps, torch_steps, int(threads), compile_s, trials["jax"], trials["torch"])


def print_summary(c: Comparison, peak: CpuPeak) -> None:
    s = c.setting
    print(f"  {'median':>5}  {c.rate('jax'):12.3g}  " + (f"{c.rate('torch'):12.3g}" if c.torch else ""))
    if c.torch:
        paired, of_medians = c.ratio
        print(f"JAX / PyTorch: median of paired ratios {paired:.2f}x (each pair timed back to back), "
              f"ratio of medians {of_medians:.2f}x")
        cj, ct = c.cpu_per_step("jax"), c.cpu_per_step("torch")
        print(f"CPU time per step (process, all threads; median): JAX {1e3 * cj:.3f} ms, PyTorch "
              f"{1e3 * ct:.2f} ms ({c.torch_threads} thread{'s' if c.torch_threads > 1 else ''}) -> {ct / cj:.1f}x")
    print(f"arithmetic: {s.flops:.1f} FLOP per instance-sample (10nm + 9n fwd+bwd, Adam "
          f"{ADAM_FLOPS_PER_PARAM * (s.n * s.m + s.n) / s.batch:.2f}) -> JAX {c.gflops('jax'):.2f} GFLOP/s"
          + (f", PyTorch {c.gflops('torch'):.2f} GFLOP/s" if c.torch else ""))
    print(f"CPU peak (an estimate): {peak.describe()} -> JAX at {100 * c.gflops('jax') / peak.gflops:.1f}% of peak")


def size_steps(n: int, m: int, batch: int, instances: int, base: int) -> tuple[int, int]:
    """Steps per JAX and PyTorch trial for ``--sizes``: ``base`` at (5, 2), scaled down with the FLOPs."""
    scale = flops_per_instance_sample(5, 2, batch) / flops_per_instance_sample(n, m, batch)
    jax_steps = int(np.clip(round(base * scale), 10, base))
    return jax_steps, int(np.clip(round(jax_steps / 10), 3, max(3, base // 10)))


def run_sizes(args, peak: CpuPeak, with_torch: bool) -> list[Comparison]:
    rows = []
    for n, m in SIZES:
        s = Setting(n, m, args.instances, args.batch)
        js, ts = size_steps(n, m, args.batch, args.instances, args.steps)
        print(f"(n, m) = ({n}, {m}): JAX {js} steps, PyTorch {ts} steps per trial ...", flush=True)
        rows.append(compare(s, js, ts if with_torch else None, args.repeats, args.torch_threads, verbose=False))
    print(f"\nmedians of {args.repeats} interleaved trials, instance-samples/s; ratio = median of paired ratios "
          f"(ratio of medians in brackets); GFLOP/s from the FLOP count; peak (estimate) {peak.gflops:.0f} GFLOP/s")
    head = (f"{'(n, m)':>10} {'FLOP/i-s':>9} {'compile s':>9} {'JAX':>10} {'PyTorch':>10} {'threads':>7} "
            f"{'JAX/PyTorch':>16} {'JAX GFLOP/s':>11} {'% peak':>6} {'PyT GFLOP/s':>11}")
    print(head)
    for c in rows:
        s = c.setting
        line = f"{f'({s.n}, {s.m})':>10} {s.flops:9.0f} {c.compile_s:9.2f} {c.rate('jax'):10.3g} "
        if c.torch:
            paired, of_medians = c.ratio
            line += f"{c.rate('torch'):10.3g} {c.torch_threads:7d} {f'{paired:.2f}x ({of_medians:.2f}x)':>16} "
        else:
            line += f"{'-':>10} {'-':>7} {'-':>16} "
        line += f"{c.gflops('jax'):11.2f} {100 * c.gflops('jax') / peak.gflops:6.1f} "
        line += f"{c.gflops('torch'):11.2f}" if c.torch else f"{'-':>11}"
        print(line)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tms.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="interleaved trials per trainer (>= 3; default 5)")
    p.add_argument("--steps", type=int, default=2000, help="JAX steps per trial (default 2000)")
    p.add_argument("--torch-steps", type=int, default=200,
                   help="PyTorch steps per trial (default 200; rates are per step, so fewer is fair)")
    p.add_argument("--torch-threads", default="auto",
                   help="PyTorch threads: a number, or 'auto' (the faster of 1..cores in a pilot; default)")
    p.add_argument("--instances", type=int, default=128, help="models trained at once (default 128)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--sizes", action="store_true", help="side by side for (n, m) = " + ", ".join(map(str, SIZES)))
    p.add_argument("--skip-torch", action="store_true", help="time only the JAX trainer")
    p.add_argument("--profile", action="store_true",
                   help="where a step's time goes (draws, data, grads, optimiser, whole step; the matmul ceiling "
                        "for dense sizes), at (5, 2) or with --sizes at every size; JAX only")
    p.add_argument("--jax-cores", type=int, default=None,
                   help="run JAX's threads on this many CPUs (default: all, as a sweep runs); PyTorch keeps all")
    a = p.parse_args(argv)
    if a.repeats < 3:
        p.error("--repeats must be >= 3 (a median of fewer trials is not worth printing)")
    if min(a.steps, a.torch_steps, a.instances, a.batch) < 1:
        p.error("--steps, --torch-steps, --instances and --batch must be >= 1")
    if a.torch_threads != "auto" and not (a.torch_threads.isdigit() and int(a.torch_threads) >= 1):
        p.error("--torch-threads must be 'auto' or a positive integer")

    if a.jax_cores is not None and a.jax_cores < 1:
        p.error("--jax-cores must be >= 1")
    pinned = pin_jax(a.jax_cores) if a.jax_cores is not None and hasattr(os, "sched_setaffinity") else None

    import jax

    with_torch = not a.skip_torch
    if with_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed (pip install 'tms[bench]' with a pinned torch): timing JAX only")
            with_torch = False
    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__} on "
          f"{jax.devices()[0].platform}" + (f", torch {torch.__version__}" if with_torch else "")
          + f"; load average {load_average()}")
    if pinned is not None:
        print(f"JAX pinned to CPU {pinned} of {peak.cores} (--jax-cores {a.jax_cores}: its thread pools were created "
              f"there); PyTorch's threads may use every CPU")
    if a.profile:
        from .profile import run_profiles

        run_profiles(SIZES if a.sizes else SIZES[:1], a.instances, a.batch, a.steps, a.repeats)
    elif a.sizes:
        run_sizes(a, peak, with_torch)
    else:
        s = Setting(5, 2, a.instances, a.batch)
        print(f"intro setting: n=5, m=2, I_i = 0.9^i, {s.instances} instances (density log-spaced 1 -> 0.01), "
              f"batch {s.batch}, Adam lr {s.lr:g}")
        c = compare(s, a.steps, a.torch_steps if with_torch else None, a.repeats, a.torch_threads)
        print_summary(c, peak)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
