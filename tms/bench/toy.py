"""Benchmark: the intro sweep trained by tms against a PyTorch reference trainer, in one invocation.

    python -m tms.bench [--instances 128] [--steps 2000] [--batch 1024] [--skip-torch]

Setting (issue 2): n=5, m=2, I_i = 0.9^i, ``instances`` models over density log-spaced from 1 to 0.01,
batch 1024, Adam lr 1e-3. Prints instance-samples per second (instances × batch × steps / seconds)
excluding compilation, the compile time separately, the same figure for a PyTorch trainer written in the
style of Anthropic's notebook (instances as an einsum axis over W of shape [instances, n, m], data from
torch.rand, torch Adam), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def bench_tms(instances: int, steps: int, batch: int, repeats: int = 2) -> dict:
    import jax

    from ..runs.grid import Grid, make_grid_fn, seed_keys
    from ..engine.config import StaticConfig

    static = StaticConfig(n_features=5, n_hidden=2, batch_size=batch, steps=steps)
    grid = Grid.make(5, density=np.geomspace(1, 0.01, instances), importance=0.9 ** np.arange(5))
    fn = make_grid_fn(static)
    hp = grid.cell_hparams(5, np.arange(grid.n_cells))
    keys = seed_keys([0])
    t0 = time.perf_counter()
    compiled = fn.lower(hp, keys).compile()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(hp, keys))
        times.append(time.perf_counter() - t0)
    run_s = min(times)
    return {"compile_s": compile_s, "run_s": run_s, "rate": instances * batch * steps / run_s}


def bench_torch(instances: int, steps: int, batch: int) -> dict:
    import torch

    n, m = 5, 2
    torch.manual_seed(0)
    density = torch.tensor(np.geomspace(1, 0.01, instances), dtype=torch.float32)[:, None]
    importance = (0.9 ** torch.arange(n, dtype=torch.float32))[None, None, :]
    W = torch.nn.Parameter(torch.empty(instances, n, m))
    torch.nn.init.xavier_normal_(W)
    b = torch.nn.Parameter(torch.zeros(instances, n))
    opt = torch.optim.Adam([W, b], lr=1e-3)

    def step():
        feat = torch.rand(batch, instances, n)
        x = torch.where(torch.rand(batch, instances, n) <= density, feat, torch.zeros(()))
        h = torch.einsum("bif,ifh->bih", x, W)
        out = torch.relu(torch.einsum("bih,ifh->bif", h, W) + b)
        loss = (importance * (x - out) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(min(20, steps)):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    run_s = time.perf_counter() - t0
    return {"run_s": run_s, "rate": instances * batch * steps / run_s, "threads": torch.get_num_threads()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tms.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=128, help="models trained at once (default 128)")
    p.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--torch-steps", type=int, default=None,
                   help="steps for the PyTorch reference (default: same; its rate is per step, so fewer is fine)")
    p.add_argument("--skip-torch", action="store_true", help="do not run the PyTorch reference")
    a = p.parse_args(argv)
    print(f"intro sweep: n=5, m=2, {a.instances} instances, batch {a.batch}, {a.steps} steps, Adam lr 1e-3; "
          f"{os.cpu_count()} CPU cores")
    t = bench_tms(a.instances, a.steps, a.batch)
    print(f"tms (JAX)  : {t['rate']:.3g} instance-samples/s  (run {t['run_s']:.2f} s, compile {t['compile_s']:.2f} s "
          f"excluded)")
    if a.skip_torch:
        return
    try:
        r = bench_torch(a.instances, a.torch_steps or a.steps, a.batch)
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 to run the reference")
        return
    print(f"PyTorch ref: {r['rate']:.3g} instance-samples/s  (run {r['run_s']:.2f} s, {r['threads']} threads)")
    print(f"ratio tms / PyTorch = {t['rate'] / r['rate']:.2f}x")


if __name__ == "__main__":
    main()
