"""Benchmark: the toy-model trainer (JAX) against a PyTorch reference trainer, interleaved, in one invocation.

    python -m tms.bench [--repeats 5] [--steps 2000] [--torch-steps 200] [--torch-threads auto] [--jax-cores N]
                     [--side-by-side N]
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
(:func:`pin_jax`). **JAX side by side** (``--side-by-side``, default one per CPU device): the same instances as
that many chunks trained at once, one per device, as the local backend trains a sweep of that chunk size
(:mod:`tms.runs.side_by_side`). PyTorch: a trainer written the way Anthropic's notebook writes it
(``W: [instances, n, m]`` with instances as an einsum axis, data from ``torch.rand``, ``torch.optim.Adam``), the
same instances, batch, model and optimiser, in its best setup: ``auto`` times, in a short interleaved pilot, one
process on 1 and on every core, and one single-thread process per core with the instances split between them
(the peer's own side by side), and keeps the fastest (printed); ``--torch-threads N`` forces one process on N
threads. The one difference in work: the notebook draws fresh uniforms for
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
from .trainers import (  # noqa: F401  (Setting, torch_runner: re-exported for tms.bench.neurons and kinds)
    Setting,
    TorchSetup,
    jax_side_by_side_trainer,
    jax_trainer,
    pin_jax,
    check_threads,
    chosen_setup,
    torch_run,
    torch_runner,
    torch_trainer,
)

SIZES = ((5, 2), (20, 5), (40, 10), (100, 20), (400, 30))


@dataclass(frozen=True)
class Comparison:
    """The interleaved trials of one setting and what is printed from them."""

    setting: Setting
    jax_steps: int
    torch_steps: int
    torch_setup: TorchSetup | None
    compile_s: float
    jax: list[Trial]
    torch: list[Trial]
    side: list[Trial] = ()  # JAX, the instances as chunks side by side (jax_side_by_side_trainer); () if not timed
    workers: int = 1  # chunks side by side
    side_first_s: float = 0.0  # the side-by-side trainer's first call (compiling once per device)

    def rates(self, which: str) -> list[float]:
        trials, steps = {"jax": (self.jax, self.jax_steps), "torch": (self.torch, self.torch_steps),
                         "side": (self.side, self.jax_steps)}[which]
        return [self.setting.samples(steps) / t.wall for t in trials]

    def rate(self, which: str) -> float:
        return median(self.rates(which))

    def cpu_per_step(self, which: str) -> float:
        trials, steps = {"jax": (self.jax, self.jax_steps), "torch": (self.torch, self.torch_steps),
                         "side": (self.side, self.jax_steps)}[which]
        return median([t.cpu / steps for t in trials])

    @property
    def ratio(self) -> tuple[float, float]:
        """``(median of paired ratios, ratio of medians)`` of JAX over PyTorch instance-samples/s."""
        return ratios(self.rates("jax"), self.rates("torch"))

    @property
    def side_ratio(self) -> tuple[float, float]:
        """The same for the chunks side by side over PyTorch."""
        return ratios(self.rates("side"), self.rates("torch"))

    def gflops(self, which: str) -> float:
        return self.setting.flops * self.rate(which) / 1e9


def compare(s: Setting, jax_steps: int, torch_steps: int | None, repeats: int, threads: int | str,
            verbose: bool = True, workers: int = 1) -> Comparison:
    """Compile and warm up the trainers for ``s``, then time them interleaved ``repeats`` times: JAX as one call,
    with ``workers`` > 1 also JAX as that many chunks side by side, and PyTorch unless ``torch_steps`` is None."""
    compile_s, jax_run = jax_trainer(s, jax_steps)
    contenders = {"jax": jax_run}
    side_first_s = 0.0
    if workers > 1:
        side_first_s, contenders["side"] = jax_side_by_side_trainer(s, jax_steps, workers)
    if verbose:
        print(f"JAX compile: {compile_s:.2f} s (excluded from every figure below)")
        if workers > 1:
            print(f"JAX side by side ({workers} chunks of {s.instances // workers}+ instances, one per CPU device, as "
                  f"the local backend trains a sweep of that chunk size): first call {side_first_s:.2f} s (compiles "
                  f"once per device, side by side; excluded)")
    if torch_steps is None:
        trials = interleave(contenders, repeats)
        return Comparison(s, jax_steps, 0, None, compile_s, trials["jax"], [], trials.get("side", ()), workers,
                          side_first_s)
    pilot_steps = max(2, torch_steps // 10)
    setup = chosen_setup(str(threads), lambda u: torch_run(s, pilot_steps, u), s.instances, pilot_steps,
                         "PyTorch setup pilot (median ms/step)" if verbose else None)
    contenders["torch"] = torch_run(s, torch_steps, setup)
    side = "side" in contenders

    def report(r, row):
        if verbose:
            j, t = s.samples(jax_steps) / row["jax"].wall, s.samples(torch_steps) / row["torch"].wall
            line = f"  {r + 1:>5}  {j:12.3g}  {t:12.3g}  {j / t:10.2f}x"
            if side:
                d = s.samples(jax_steps) / row["side"].wall
                line += f"  {d:12.3g}  {d / t:10.2f}x"
            print(line)

    if verbose:
        print(f"interleaved trials, instance-samples/s (JAX {jax_steps} steps, PyTorch {torch_steps} steps "
              f"per trial):\n  trial           JAX       PyTorch   JAX/PyTorch"
              + ("  side by side  side/PyTorch" if side else ""))
    trials = interleave(contenders, repeats, report)
    return Comparison(s, jax_steps, torch_steps, setup, compile_s, trials["jax"], trials["torch"],
                      trials.get("side", ()), workers, side_first_s)


def print_summary(c: Comparison, peak: CpuPeak) -> None:
    s = c.setting
    print(f"  {'median':>5}  {c.rate('jax'):12.3g}  " + (f"{c.rate('torch'):12.3g}" if c.torch else "")
          + (f"  {'':>11}  {c.rate('side'):12.3g}" if c.side and c.torch else ""))
    if c.torch:
        paired, of_medians = c.ratio
        print(f"JAX / PyTorch: median of paired ratios {paired:.2f}x (each pair timed back to back), "
              f"ratio of medians {of_medians:.2f}x")
        if c.side:
            paired, of_medians = c.side_ratio
            print(f"JAX side by side ({c.workers} chunks) / PyTorch: median of paired ratios {paired:.2f}x, "
                  f"ratio of medians {of_medians:.2f}x")
        cj, ct = c.cpu_per_step("jax"), c.cpu_per_step("torch")
        print(f"CPU time per step (all threads, and PyTorch's processes; median): JAX {1e3 * cj:.3f} ms, PyTorch "
              f"{1e3 * ct:.2f} ms ({c.torch_setup}) -> {ct / cj:.1f}x")
    print(f"arithmetic: {s.flops:.1f} FLOP per instance-sample (10nm + 9n fwd+bwd, Adam "
          f"{ADAM_FLOPS_PER_PARAM * (s.n * s.m + s.n) / s.batch:.2f}) -> JAX {c.gflops('jax'):.2f} GFLOP/s"
          + (f", PyTorch {c.gflops('torch'):.2f} GFLOP/s" if c.torch else ""))
    print(f"CPU peak (an estimate): {peak.describe()} -> JAX at {100 * c.gflops('jax') / peak.gflops:.1f}% of peak"
          + (f", side by side {100 * s.flops * c.rate('side') / 1e9 / peak.gflops:.1f}%" if c.side else ""))


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
        rows.append(compare(s, js, ts if with_torch else None, args.repeats, args.torch_threads, verbose=False,
                            workers=args.workers))
    print(f"\nmedians of {args.repeats} interleaved trials, instance-samples/s; ratio = median of paired ratios "
          f"(ratio of medians in brackets); GFLOP/s from the FLOP count; peak (estimate) {peak.gflops:.0f} GFLOP/s")
    side = args.workers > 1
    if side:
        print(f"side by side: the same instances as {args.workers} chunks trained at once, one per CPU device, as "
              f"the local backend trains a sweep of that chunk size (its first call compiles once per device)")
    head = (f"{'(n, m)':>10} {'FLOP/i-s':>9} {'compile s':>9} {'JAX':>10} {'PyTorch':>10} {'setup':>9} "
            f"{'JAX/PyTorch':>16} {'JAX GFLOP/s':>11} {'% peak':>6} {'PyT GFLOP/s':>11}")
    if side:
        head += f" {'side by side':>12} {'side/PyTorch':>16} {'side % peak':>11}"
    print(head)
    for c in rows:
        s = c.setting
        line = f"{f'({s.n}, {s.m})':>10} {s.flops:9.0f} {c.compile_s:9.2f} {c.rate('jax'):10.3g} "
        if c.torch:
            paired, of_medians = c.ratio
            line += f"{c.rate('torch'):10.3g} {c.torch_setup.short:>9} {f'{paired:.2f}x ({of_medians:.2f}x)':>16} "
        else:
            line += f"{'-':>10} {'-':>9} {'-':>16} "
        line += f"{c.gflops('jax'):11.2f} {100 * c.gflops('jax') / peak.gflops:6.1f} "
        line += f"{c.gflops('torch'):11.2f}" if c.torch else f"{'-':>11}"
        if side:
            sr = c.rate("side")
            line += f" {sr:12.3g} "
            line += f"{'{:.2f}x ({:.2f}x)'.format(*c.side_ratio):>16} " if c.torch else f"{'-':>16} "
            line += f"{100 * s.flops * sr / 1e9 / peak.gflops:11.1f}"
        print(line)
    return rows


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tms.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="interleaved trials per trainer (>= 3; default 5)")
    p.add_argument("--steps", type=int, default=2000, help="JAX steps per trial (default 2000)")
    p.add_argument("--torch-steps", type=int, default=200,
                   help="PyTorch steps per trial (default 200; rates are per step, so fewer is fair)")
    p.add_argument("--torch-threads", default="auto",
                   help="PyTorch threads in one process: a number, or 'auto' (default: the fastest of one process on "
                        "1 and on every core, and one single-thread process per core with the instances split "
                        "between them, in a pilot)")
    p.add_argument("--instances", type=int, default=128, help="models trained at once (default 128)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--sizes", action="store_true", help="side by side for (n, m) = " + ", ".join(map(str, SIZES)))
    p.add_argument("--skip-torch", action="store_true", help="time only the JAX trainer")
    p.add_argument("--profile", action="store_true",
                   help="where a step's time goes (draws, data, grads, optimiser, whole step; the matmul ceiling "
                        "for dense sizes), at (5, 2) or with --sizes at every size; JAX only")
    p.add_argument("--jax-cores", type=int, default=None,
                   help="run JAX's threads on this many CPUs (default: all, as a sweep runs); PyTorch keeps all")
    p.add_argument("--side-by-side", type=int, default=None, dest="workers",
                   help="also time JAX as this many chunks of the instances trained at once, one per CPU device "
                        "(default: one per core JAX runs on, as the tms command sets up; 1: not timed)")
    return p


def main(argv=None):
    p = _parser()
    a = p.parse_args(argv)
    if a.repeats < 3:
        p.error("--repeats must be >= 3 (a median of fewer trials is not worth printing)")
    if min(a.steps, a.torch_steps, a.instances, a.batch) < 1:
        p.error("--steps, --torch-steps, --instances and --batch must be >= 1")
    check_threads(p, a.torch_threads, "--torch-threads")

    if a.jax_cores is not None and a.jax_cores < 1:
        p.error("--jax-cores must be >= 1")
    if a.workers is not None and a.workers < 1:
        p.error("--side-by-side must be >= 1")
    from ..runs.backends import use_cpu_cores

    # a CPU device per core JAX runs on (at least the chunks asked for side by side), before JAX starts
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    use_cpu_cores(max(a.jax_cores or cores, a.workers or 1))
    pinned = pin_jax(a.jax_cores) if a.jax_cores is not None and hasattr(os, "sched_setaffinity") else None

    import jax

    cpu = jax.devices()[0].platform == "cpu"
    if a.workers is None:
        a.workers = jax.local_device_count() if cpu else 1
    elif a.workers > jax.local_device_count():
        p.error(f"--side-by-side must lie in [1, {jax.local_device_count()}] (JAX devices; the CPU device count "
                f"was set before this command: XLA_FLAGS or jax_num_cpu_devices)")
    a.workers = min(a.workers, a.instances)

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
        c = compare(s, a.steps, a.torch_steps if with_torch else None, a.repeats, a.torch_threads, workers=a.workers)
        print_summary(c, peak)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
