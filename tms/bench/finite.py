"""Benchmark: the finite-data training step, dense data path against sparse, interleaved, in one invocation.

    python -m tms.bench.finite [--repeats 5] [--steps 50] [--skip-paper]

**Settings.** ``reproduce``: the shipped ``finite_data`` sweep's step (n = 1,000, S = 0.99, unit-norm
examples, its training-set sizes and its batch: full batch, T up to 1,600) at its smallest and largest m. ``paper``: the paper's n = 10,000,
S = 0.999, m = 2, one model trained full batch on T = 4,096 examples (a paper-size step per example; the
whole paper sweep is this work times its slot-examples, see ``--skip-paper`` and the estimate printed).

**Trial.** One call of a jitted ``lax.scan`` of ``--steps`` training steps (loss, gradients, AdamW update)
on a data set already on the device, timed after a compiling warm-up call; dense and sparse alternate
(:mod:`.common`). Printed: milliseconds per step (median), the sparse path's speed-up (median of paired
ratios, and ratio of medians), the load average before and after.

**Paper-sweep estimate.** Work per step of a call is about ``n × Σ slot widths`` (every model's padded batch,
:func:`tms.engine.finite_train.slots_per_step`), growing with m; the measured paper-size rate (slot-examples
per second at m = 2) turns the ``finite_data_paper`` sweep's work into hours on this machine, a lower bound
since the larger m cost more.
"""

from __future__ import annotations

import argparse
import dataclasses

import jax
import jax.numpy as jnp
import optax

from ..engine.finite import FiniteConfig, examples
from ..engine.finite_train import make_finite_step_loss, padded, slots_per_step
from ..engine.models import Params
from ..engine.optim import make_optimizer
from ..engine.train import init_instances
from .common import interleave, load_average, median, ratios

PAPER = FiniteConfig(n_features=10_000, sparsity=0.999, train_sizes=(4096,), batch_size=0, test_size=1)


def stepper(cfg: FiniteConfig, steps: int):
    """``run()``: ``steps`` training steps of every model of ``cfg`` (compiled on the first call)."""
    key = jax.random.PRNGKey(0)
    data = jax.block_until_ready(examples(cfg, key, padded(cfg.t_max)))
    grad = jax.value_and_grad(make_finite_step_loss(cfg), has_aux=True)
    params = init_instances(cfg.static, key, len(cfg.train_sizes))
    inst = len(cfg.train_sizes) * cfg.restarts
    opt = make_optimizer(cfg.static, jnp.full((inst,), 1e-3), jnp.full((inst,), 1e-2))
    imp = jnp.ones(cfg.n_features)

    @jax.jit
    def run(params: Params, data):
        def step(carry, s):
            p, o = carry
            _, g = grad(p, data, jax.random.fold_in(key, s), imp)
            u, o = opt.update(g, o, p)
            return (optax.apply_updates(p, u), o), None

        return jax.lax.scan(step, (params, opt.init(params)), jnp.arange(steps))[0][0]

    return lambda: jax.block_until_ready(run(params, data))


def reproduce_config(m: int) -> FiniteConfig:
    """The shipped ``finite_data`` sweep's config at hidden size ``m`` (a one-example test set: not timed)."""
    from ..experiments.registry import shipped_spec

    return dataclasses.replace(shipped_spec("finite_data").config(m), test_size=1)


def compare(name: str, cfg: FiniteConfig, steps: int, repeats: int) -> dict[str, float]:
    """Interleaved dense and sparse trials of one setting; prints and returns ms per step (medians)."""
    runs = {path: stepper(dataclasses.replace(cfg, data_path=path), steps) for path in ("dense", "sparse")}
    for run in runs.values():
        run()  # compile and warm up
    trials = interleave(runs, repeats)
    ms = {p: 1e3 * median([t.wall for t in ts]) / steps for p, ts in trials.items()}
    rate = {p: [steps / t.wall for t in ts] for p, ts in trials.items()}
    paired, of_medians = ratios(rate["sparse"], rate["dense"])
    print(f"{name:22s} n={cfg.n_features:6d} m={cfg.n_hidden} T={list(cfg.train_sizes)[:3]}..{cfg.t_max} "
          f"batch {cfg.batch}: dense {ms['dense']:.2f} ms/step, sparse {ms['sparse']:.2f} ms/step, sparse speed-up "
          f"{paired:.2f}x (paired) / {of_medians:.2f}x (medians)", flush=True)
    return ms


def paper_estimate(ms_per_step: float, width: int) -> None:
    """The ``finite_data_paper`` sweep's time on this machine from a measured m = 2 paper-size step."""
    from ..experiments.registry import shipped_spec

    spec = shipped_spec("finite_data_paper")
    per_slot = ms_per_step / 1e3 / width  # seconds per slot-example at m = 2
    slots = slots_per_step(spec.static)
    total = len(spec.grid.hidden_sizes) * per_slot * slots * spec.static.steps * len(spec.grid.seeds)
    print(f"finite_data_paper: {slots} slot-examples per step per m, {len(spec.grid.hidden_sizes)} hidden sizes, "
          f"{spec.static.steps} steps: about {total / 3600:.0f} h on this machine at the m=2 rate (a lower bound: "
          f"larger m cost more per step, compare the two reproduce lines)", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.finite", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--skip-paper", action="store_true", help="only the reproduce-size settings")
    a = ap.parse_args(argv)
    print(f"load average before: {load_average()}", flush=True)
    from ..experiments.registry import shipped_spec

    sizes = shipped_spec("finite_data").grid.hidden_sizes
    for m in sorted({sizes[0], sizes[-1]}):
        compare(f"reproduce (m={m})", reproduce_config(m), a.steps, a.repeats)
    if not a.skip_paper:
        ms = compare("paper (m=2, T=4096)", PAPER, max(2, a.steps // 10), a.repeats)
        paper_estimate(min(ms.values()), slots_per_step(PAPER))
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
