"""Benchmark: a model kind's fast path against the registry's generic path, interleaved, in one invocation.

    python -m tms.bench.kinds [--kinds relu linear] [--sizes 5x2 100x20] [--repeats 5] [--steps 500]

For each kind and size, the same grid (the :mod:`tms.bench.toy` setting: ``instances`` models with density
log-spaced 1 → 0.01, importance 0.9^i, batch 1024, Adam lr 1e-3) is compiled twice through
:func:`tms.runs.grid.make_grid_fn`: once with the kind's fast path, once with
``tms.engine.train.FAST_PATHS = False`` (``jax.grad`` of the one-example loss vmapped over batch and
instances). Trials alternate fast, generic, fast, ...; medians of steps per second are printed with the ratio
and the load average. A kind without a fast path prints its generic speed only.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .common import interleave, load_average, median, ratios
from .toy import Setting


def grid_trainer(s: Setting, kind: str, steps: int, fast: bool):
    """Compile the grid function for ``s`` and ``kind`` on the fast or the generic path; returns
    ``(compile seconds, run)`` after one warm-up run."""
    import jax

    from ..engine import train
    from ..engine.config import StaticConfig
    from ..runs.grid import Grid, make_grid_fn, seed_keys

    static = StaticConfig(n_features=s.n, n_hidden=s.m, kind=kind, batch_size=s.batch, steps=steps,
                          eval_batch=s.batch)
    grid = Grid.make(s.n, density=s.density, importance=s.importance, lr=s.lr)
    hp, keys = grid.cell_hparams(s.n, np.arange(grid.n_cells)), seed_keys([0])
    saved = train.FAST_PATHS
    train.FAST_PATHS = fast
    make_grid_fn.cache_clear()
    try:
        t0 = time.perf_counter()
        compiled = make_grid_fn(static).lower(hp, keys).compile()
        compile_s = time.perf_counter() - t0
    finally:
        train.FAST_PATHS = saved
        make_grid_fn.cache_clear()

    def run():
        jax.block_until_ready(compiled(hp, keys))

    run()
    return compile_s, run


def compare(kind: str, n: int, m: int, steps: int, repeats: int, instances: int) -> dict:
    """Steps/s of the fast and the generic path (median over interleaved trials) and their ratio."""
    from ..engine.kinds import get_kind

    s = Setting(n=n, m=m, instances=instances)
    paths = {"generic": False} if get_kind(kind).fast_step is None else {"fast": True, "generic": False}
    built = {name: grid_trainer(s, kind, steps, fast) for name, fast in paths.items()}
    trials = interleave({name: run for name, (_, run) in built.items()}, repeats)
    rates = {name: [steps / t.wall for t in ts] for name, ts in trials.items()}
    row = {"kind": kind, "n": n, "m": m, "instances": instances,
           **{f"{name}_steps_per_s": median(r) for name, r in rates.items()},
           **{f"{name}_compile_s": built[name][0] for name in built}}
    if "fast" in rates:
        row["fast_over_generic"] = ratios(rates["fast"], rates["generic"])[0]
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tms.bench.kinds", description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["relu"])
    ap.add_argument("--sizes", nargs="+", default=["5x2", "100x20"], help="n x m, e.g. 5x2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--instances", type=int, default=128)
    a = ap.parse_args(argv)
    print(f"load average before: {load_average()}")
    for kind in a.kinds:
        for size in a.sizes:
            n, m = (int(v) for v in size.split("x"))
            r = compare(kind, n, m, a.steps, a.repeats, a.instances)
            fast = (f"fast {r['fast_steps_per_s']:8.1f} steps/s   " if "fast_steps_per_s" in r else "")
            ratio = f"   fast/generic {r['fast_over_generic']:.2f}x" if "fast_over_generic" in r else ""
            print(f"{kind:8s} n={n:4d} m={m:3d} ({r['instances']} instances, batch 1024): {fast}"
                  f"generic {r['generic_steps_per_s']:8.1f} steps/s{ratio}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
