"""Benchmark: the neuron kinds (``relu_hidden``, ``abs``) in the lab against a PyTorch reference written as ARENA's
superposition notebook writes them (every instance in one tensor, ``einsum`` over an instance axis), interleaved.

    python -m tms.bench.neurons [--sizes 10x5 100x40] [--repeats 3] [--steps 200] [--instances 32] [--threads N]

Setting: ``instances`` models with density log-spaced 1 → 0.01, importance 0.8^i, batch 1024, Adam lr 1e-3.
JAX: the lab's compiled grid function on the kind's fast path and on the registry's generic path (compile
seconds printed beside the warm rates), and on the fast path as a sweep trains by default where JAX shows
several CPU devices (``tms.runs.side_by_side.use_cpu_cores``): the instances as one chunk per device, side by
side (its first call, which compiles on each device, printed beside it); PyTorch: W of shape
``(instances, m, n)`` (and ``W2: (instances, n, m)`` for ``abs``), fresh ``torch.rand`` data per instance,
``torch.optim.Adam``. PyTorch runs in its best setup: a short interleaved pilot times one process on 1 thread
and on every core, and one single-thread process per core with the instances split between them, and the
fastest is timed (``--threads N`` skips the pilot: one process, N threads). Steps per second, medians, with
the load average.
"""

from __future__ import annotations

import argparse

import numpy as np

from .common import cpu_peak, interleave, load_average, median, ratios
from .kinds import grid_trainer
from .toy import Setting, torch_runner
from .trainers import (
    TorchSetup,
    add_threads_option,
    check_threads,
    chosen_setup,
    in_processes,
    jax_side_by_side_trainer,
    split_instances,
)


def torch_trainer(kind: str, s: Setting, steps: int, threads: int):
    """The ARENA-style PyTorch trainer; returns ``run`` (``steps`` steps) after a warm-up."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n, m, inst = s.n, s.m, s.instances
    density = torch.tensor(s.density, dtype=torch.float32)[None, :, None]  # (1, instances, 1)
    importance = torch.tensor(0.8 ** np.arange(n), dtype=torch.float32)[None, None, :]
    W1 = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(inst, m, n)))
    b = torch.nn.Parameter(torch.zeros(inst, n))
    params = [W1, b]
    if kind == "abs":
        W2 = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(inst, n, m)))
        params.append(W2)
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        value = torch.rand(s.batch, inst, n)
        if kind == "abs":
            value = 2 * value - 1
        x = torch.where(torch.rand(s.batch, inst, n) <= density, value, torch.zeros(()))
        h = torch.relu(torch.einsum("bin,imn->bim", x, W1))
        if kind == "abs":
            out, target = torch.relu(torch.einsum("bim,inm->bin", h, W2) + b), x.abs()
        else:
            out, target = torch.relu(torch.einsum("bim,imn->bin", h, W1) + b), x
        loss = (importance * (target - out) ** 2).sum(dim=2).mean(dim=0).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return torch_runner(step, steps, threads)


def torch_run(kind: str, s: Setting, steps: int, setup: TorchSetup):
    """``run()`` for the PyTorch trainer in ``setup``: in this process, or the instances split among processes."""
    if setup.processes == 1:
        return torch_trainer(kind, s, steps, setup.threads)
    return in_processes(torch_trainer, [(kind, part, steps, setup.threads)
                                        for part in split_instances(s, setup.processes)])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tms.bench.neurons", description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["relu_hidden", "abs"])
    ap.add_argument("--sizes", nargs="+", default=["10x5", "100x40"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--instances", type=int, default=32)
    add_threads_option(ap)
    a = ap.parse_args(argv)
    check_threads(ap, a.threads)
    from ..runs.side_by_side import use_cpu_cores

    use_cpu_cores()  # a CPU device per core, as the tms command has (before JAX starts)
    import jax

    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__}; "
          f"PyTorch setup {a.threads}; load average before: {load_average()}")
    for kind in a.kinds:
        for size in a.sizes:
            n, m = (int(v) for v in size.split("x"))
            s = Setting(n=n, m=m, instances=a.instances)
            fast_compile, fast_run = grid_trainer(s, kind, a.steps, fast=True)
            generic_compile, generic_run = grid_trainer(s, kind, a.steps, fast=False)
            pilot_steps = max(2, a.steps // 10)
            setup = chosen_setup(a.threads, lambda u: torch_run(kind, s, pilot_steps, u), a.instances, pilot_steps,
                                 f"{kind} {n}x{m}: PyTorch setup pilot (median ms/step)")
            runs = {"fast": fast_run, "generic": generic_run}
            workers = min(jax.local_device_count(), a.instances)
            if workers > 1:
                sbs_first, runs["side"] = jax_side_by_side_trainer(s, a.steps, workers, kind)
            runs["torch"] = torch_run(kind, s, a.steps, setup)
            trials = interleave(runs, a.repeats)
            rates = {k: [a.steps / t.wall for t in v] for k, v in trials.items()}
            print(f"{kind:12s} n={n:4d} m={m:3d} ({a.instances} instances, batch 1024): "
                  f"tms fast path {median(rates['fast']):8.1f} steps/s (compile {fast_compile:.1f} s)   "
                  f"generic path {median(rates['generic']):8.1f} (compile {generic_compile:.1f} s)   "
                  + (f"side by side ({workers} chunks) {median(rates['side']):8.1f} (first call {sbs_first:.1f} s)   "
                     if "side" in rates else "")
                  + f"PyTorch ({setup.short}) {median(rates['torch']):8.1f}   "
                  f"fast / PyTorch {ratios(rates['fast'], rates['torch'])[0]:.2f}x   "
                  f"generic / PyTorch {ratios(rates['generic'], rates['torch'])[0]:.2f}x"
                  + (f"   side by side / PyTorch {ratios(rates['side'], rates['torch'])[0]:.2f}x" if "side" in rates
                     else ""), flush=True)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
