"""Where a training step's time goes, per model size: ``python -m tms.bench --profile [--sizes]``.

Each part of the step is compiled on its own as a ``lax.scan`` over ``steps`` steps (the way a sweep runs
the step) and the parts are timed interleaved, ``repeats`` rounds, medians printed in ms per step:

- ``draws``: the step's shared random numbers (:func:`tms.engine.data.draw`; one per feature and example);
- ``data``: the draws and their thresholding at every instance's density (``X: (n, batch, instances)``
  materialised; the dense path thresholds inside its per-instance loop instead);
- ``grads``: forward and backward on one fixed batch (the kind's fast path, as training uses it);
- ``grads+opt``: the same plus the optimiser update;
- ``step``: the whole training step (draws, thresholding, forward, backward, update), as a sweep runs it.

So ``step − grads+opt`` is the data's share and ``grads+opt − grads`` the optimiser's. For models on the dense
path (n·m above :data:`tms.engine.models.UNROLL_LIMIT`) it also prints the **practical ceiling**: the step's
five matmuls of the same shapes alone (``h = W X``, ``y = Wᵀh``, ``dh = W dy``, ``h dyᵀ``, ``dh Xᵀ``; per
instance, mapped over the instances as the step maps them), and the whole step's throughput as a share
of it. Every part is compiled and called once before timing; compile times are not in any figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import flops_per_instance_sample, interleave, median

PARTS = ("draws", "data", "grads", "grads+opt", "step")


@dataclass(frozen=True)
class Profile:
    """Median ms per step of each part of one size, and the matmul ceiling in GFLOP/s (None: unrolled path)."""

    n: int
    m: int
    instances: int
    batch: int
    steps: int
    ms: dict[str, float]
    matmul_gflops: float | None
    step_gflops: float


def _parts(n: int, m: int, instances: int, batch: int, steps: int) -> dict:
    """Each part of the step as ``name -> (function, *args)``, every one a scan over ``steps`` steps."""
    import jax
    import jax.numpy as jnp
    import optax

    from ..engine import data as tdata
    from ..engine import models
    from ..engine.config import StaticConfig
    from ..engine.optim import make_optimizer
    from ..engine.train import init_instances, make_step_grads

    static = StaticConfig(n_features=n, n_hidden=m, batch_size=batch, steps=steps, eval_batch=batch)
    params = init_instances(static, jax.random.PRNGKey(0), instances)
    sparsity = jnp.asarray(np.tile(1.0 - np.geomspace(1.0, 0.01, instances), (n, 1)), jnp.float32)  # (n, inst)
    importance = jnp.asarray(np.tile((0.9 ** np.arange(n))[:, None], (1, instances)), jnp.float32)
    grads_fn = make_step_grads(static)
    opt = make_optimizer(static, jnp.full((instances,), 1e-3), jnp.zeros((instances,)))
    key, fixed = jax.random.PRNGKey(1), tdata.draw(jax.random.PRNGKey(2), batch, n)

    def scan(body, carry):
        return jax.lax.scan(body, carry, jnp.arange(steps))[0]

    def draw(key, s):
        return tdata.draw(jax.random.fold_in(key, s), batch, n)

    def train(params, data):  # data(step) -> draws; the update with the optimiser
        def body(c, s):
            p, o = c
            u, o = opt.update(grads_fn(p, data(s), sparsity, importance)[0], o, p)
            return (optax.apply_updates(p, u), o), None
        return scan(body, (params, opt.init(params)))

    def grads_only(params):
        def body(p, s):
            g, _ = grads_fn(p, fixed, sparsity, importance)
            return jax.tree.map(lambda a, b: a - 1e-6 * b, p, g), None
        return scan(body, params)

    fns = {"draws": (lambda key: scan(lambda c, s: (c + jnp.sum(draw(key, s).mask), None), 0.0), key),
           "data": (lambda key: scan(lambda c, s: (c + jnp.sum(tdata.features(draw(key, s), sparsity)), None),
                                     0.0), key),
           "grads": (grads_only, params),
           "grads+opt": (lambda params: train(params, lambda s: fixed), params),
           "step": (lambda params, key: train(params, lambda s: draw(key, s)), params, key)}
    if n * m > models.UNROLL_LIMIT:
        fns["matmuls"] = _matmuls(tdata.features(fixed, sparsity[:, :1])[:, :, 0], params.W, scan)
    return fns


def profile_size(n: int, m: int, instances: int, batch: int, steps: int, repeats: int) -> Profile:
    """Compile every part for one size, call each once, then time them interleaved (medians)."""
    import jax

    from ..engine.config import StaticConfig
    from ..engine.train import compiler_options

    runs, options = {}, compiler_options(StaticConfig(n_features=n, n_hidden=m, batch_size=batch, steps=steps))
    for name, (fn, *args) in _parts(n, m, instances, batch, steps).items():  # with the trainer's XLA options
        compiled = jax.jit(fn, compiler_options=options).lower(*args).compile()
        runs[name] = (lambda c=compiled, a=args: jax.block_until_ready(c(*a)))
        runs[name]()  # warm-up
    trials = interleave(runs, repeats)
    ms = {k: 1e3 * median([t.wall for t in v]) / steps for k, v in trials.items()}
    step_gflops = flops_per_instance_sample(n, m, batch) * instances * batch / (ms["step"] * 1e-3) / 1e9
    mm = None
    if "matmuls" in ms:
        mm = 5 * 2 * m * n * batch * instances / (ms.pop("matmuls") * 1e-3) / 1e9
    return Profile(n, m, instances, batch, steps, ms, mm, step_gflops)


def _matmuls(X, W, scan):
    """The dense step's five matmuls alone, per instance under ``lax.map``: ``X: (n, batch)``, ``W: (m, n, inst)``."""
    import jax
    import jax.numpy as jnp

    def one(W):
        h = W @ X
        y = W.T @ h
        dh = W @ y
        return h @ y.T + dh @ X.T

    def matmuls(Ws):
        return scan(lambda c, s: (c + jnp.sum(jax.lax.map(one, Ws + c)), None), 0.0)

    return matmuls, jnp.moveaxis(W, -1, 0)


def run_profiles(sizes, instances: int, batch: int, base_steps: int, repeats: int) -> list[Profile]:
    """Profile each ``(n, m)`` of ``sizes`` and print the table (``python -m tms.bench --profile``)."""
    rows = []
    for n, m in sizes:
        steps = profile_steps(n, m, batch, base_steps)
        print(f"(n, m) = ({n}, {m}): {steps} steps per timed call ...", flush=True)
        rows.append(profile_size(n, m, instances, batch, steps, repeats))
    print_profiles(rows)
    return rows


def profile_steps(n: int, m: int, batch: int, base: int) -> int:
    """Steps per timed call: ``base`` at (5, 2), fewer for larger models (at least 10)."""
    scale = flops_per_instance_sample(5, 2, batch) / flops_per_instance_sample(n, m, batch)
    return int(np.clip(round(base * scale), 10, base))


def print_profiles(rows: list[Profile]) -> None:
    print("median ms per step of each part, interleaved (parts compiled alone; see python -m tms.bench --help):")
    head = (f"{'(n, m)':>10} {'inst':>5} {'steps':>5} " + " ".join(f"{p:>9}" for p in PARTS)
            + f" {'data %':>6} {'opt %':>6} {'GFLOP/s':>8} {'ceiling':>8} {'% ceil':>6}")
    print(head)
    for r in rows:
        ms = r.ms
        data_share = 100 * max(ms["step"] - ms["grads+opt"], 0.0) / ms["step"]
        opt_share = 100 * max(ms["grads+opt"] - ms["grads"], 0.0) / ms["step"]
        line = (f"{f'({r.n}, {r.m})':>10} {r.instances:5d} {r.steps:5d} " + " ".join(f"{ms[p]:9.3f}" for p in PARTS)
                + f" {data_share:6.1f} {opt_share:6.1f} {r.step_gflops:8.2f} ")
        line += (f"{r.matmul_gflops:8.2f} {100 * r.step_gflops / r.matmul_gflops:6.1f}" if r.matmul_gflops
                 else f"{'-':>8} {'-':>6}")
        print(line)
    print("data % = (step - grads+opt) / step; opt % = (grads+opt - grads) / step; GFLOP/s of the whole step from "
          "the FLOP count; ceiling = the step's five matmuls alone (dense path only), GFLOP/s")
