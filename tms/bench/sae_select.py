"""TopK and BatchTopK training with the shipped top-k selection against ranking by full stable argsorts.

``python -m tms.bench.sae_select [--steps 500] [--repeats 3] [--sizes 64 128]``

TopK keeps each example's k largest pre-activations and BatchTopK the round(k · batch) largest activations of a
batch, ties broken by index. The first implementation ranked every entry with stable argsorts (two per example
for TopK, one over the batch for BatchTopK); the shipped one takes the ``k_max`` largest with ``lax.top_k``
(``k_max`` the call's largest k, static) and keeps the first k of them: the same set. Both are compiled here
into the same training call (the reduced synthetic setting of ``tms reproduce sae``: 64 true features in 32
dimensions, batch 128, k = 1, 2, 3, 4, 6, 8 in one call), checked to train bit for bit the same SAEs, and timed
cold (compile + first call) and warm, interleaved, medians printed with the machine line and load average.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager, nullcontext

import jax
import jax.numpy as jnp
import numpy as np

from ..engine.sae import SaeConfig, sae_hparams, synthetic_source
from ..engine.sae import architectures as A
from ..engine.sae.config import with_k_max
from ..engine.sae.train import SAE_AXIS, make_sae_train
from .common import cpu_peak, interleave, load_average, median

KS = (1, 2, 3, 4, 6, 8)


def argsort_topk_mask(pre, k, k_max=None):
    """The first implementation: rank every entry by two stable argsorts; True where the rank is below k."""
    rank = jnp.argsort(jnp.argsort(-pre, stable=True), stable=True)
    return rank < k


def argsort_batchtopk_acts(p, H, k, k_max=None):
    """The first implementation: one stable argsort of the whole batch's activations."""
    acts = jax.nn.relu(jax.vmap(A.pre_acts, (None, 0))(p, H))
    flat = acts.reshape(-1)
    order = jnp.argsort(-flat, stable=True)
    keep = jnp.zeros(flat.shape, bool).at[order].set(jnp.arange(flat.size) < A.batchtopk_count(k, H.shape[0]))
    return jnp.where(keep.reshape(acts.shape) & (acts > 0), acts, 0.0)


@contextmanager
def argsort_selection():
    """Trace inside this block to compile the argsort ranking instead of the shipped selection."""
    saved = A.topk_mask, A.batchtopk_train_acts
    A.topk_mask, A.batchtopk_train_acts = argsort_topk_mask, argsort_batchtopk_acts
    try:
        yield
    finally:
        A.topk_mask, A.batchtopk_train_acts = saved


def compiled(config, source, hp, keys, data_key, old: bool, swap=argsort_selection):
    """A jitted training call as ``compiled_train`` builds it, traced and run once (the cold time), inside
    ``swap()`` (a context that puts the first implementation in place) when ``old``."""
    fn = jax.jit(jax.vmap(make_sae_train(config, source, SAE_AXIS), in_axes=(0, 0, None), axis_name=SAE_AXIS))
    t = time.perf_counter()
    with swap() if old else nullcontext():
        out = jax.block_until_ready(fn(hp, keys, data_key))
    return fn, time.perf_counter() - t, out


def contest(config, source, hp, keys, data_key, repeats: int, swap=argsort_selection):
    """The shipped implementation and the first one (``swap``) compiled into the same training call, each run once
    cold, then timed warm, interleaved: ``(out_new, out_old, cold_new, cold_old, warm_new, warm_old)`` (medians)."""
    new, cold_new, out_new = compiled(config, source, hp, keys, data_key, old=False)
    old, cold_old, out_old = compiled(config, source, hp, keys, data_key, old=True, swap=swap)
    args = (hp, keys, data_key)
    trials = interleave({"new": lambda: jax.block_until_ready(new(*args)),
                         "old": lambda: jax.block_until_ready(old(*args))}, repeats)
    return (out_new, out_old, cold_new, cold_old, median([t.wall for t in trials["new"]]),
            median([t.wall for t in trials["old"]]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.sae_select", description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="dictionary sizes")
    a = ap.parse_args(argv)
    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__}; "
          f"load average before {load_average()}", flush=True)
    source = synthetic_source(64, 32, 2.5)
    data_key = jax.random.PRNGKey(0)
    print(f"{len(KS)} SAEs per call (k = {', '.join(map(str, KS))}), d_in = 32, batch 128, {a.steps} steps; "
          f"{a.repeats} interleaved warm trials; seconds per call", flush=True)
    for arch in ("topk", "batchtopk"):
        for d_sae in a.sizes:
            config = SaeConfig(arch, 32, d_sae, batch=128, steps=a.steps)
            hp = sae_hparams(config, k=KS, lr=[1e-3])
            config = with_k_max(config, hp)
            keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(len(KS), dtype=jnp.uint32))
            out_new, out_old, cold_new, cold_old, w_new, w_old = contest(config, source, hp, keys, data_key, a.repeats)
            same = all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in
                       zip(jax.tree.leaves(out_new), jax.tree.leaves(out_old)))
            print(f"  {arch:9s} d_sae={d_sae:4d}: warm top_k {w_new:7.2f}  argsort {w_old:7.2f}  "
                  f"({w_old / w_new:4.1f}x); cold top_k {cold_new:7.2f}  argsort {cold_old:7.2f}  "
                  f"({cold_old / cold_new:4.1f}x); same SAEs: {'yes' if same else 'NO'}", flush=True)
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
